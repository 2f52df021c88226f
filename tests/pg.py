"""PostgreSQL test support: each test starts from an empty schema."""

from sqlalchemy import text


def reset_schema(database) -> None:
    with database.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
