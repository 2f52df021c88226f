"""Running SQL outside the console, as an attacker or an operator with any SQL tool would."""

from __future__ import annotations

import sqlite3

from sqlalchemy.engine import make_url


def run(db, *statements: str) -> None:
    """Execute and commit `statements` with the plain DB-API driver (sqlite3 or psycopg), bypassing the ORM."""
    url = make_url(db.url)
    if db.is_sqlite:
        conn = sqlite3.connect(url.database)
        try:
            for sql in statements:
                conn.execute(sql)
            conn.commit()
        finally:
            conn.close()
        return
    import psycopg

    with psycopg.connect(host=url.host, port=url.port, user=url.username, password=url.password,
                         dbname=url.database) as conn:
        for sql in statements:
            conn.execute(sql)
