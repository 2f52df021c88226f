"""The migrations and the ORM describe one schema: `alembic upgrade head` builds exactly what entities.py
maps (on SQLite, and on PostgreSQL when the suite runs there)."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from console.models.entities import Base
from console.models.schema import alembic_config, current_revision, head_revision


def _search_objects(obj, name, type_, reflected, compare_to) -> bool:
    """False for the users list's search structures, which migration 0003 builds outside the ORM: the FTS5
    table and its shadow tables on SQLite, the pg_trgm indexes on PostgreSQL; and the vault's server key and
    failure counts (migrations 0011 and 0013, PostgreSQL), which the console never maps: only the vault's
    functions read them."""
    if type_ == "table" and name and (name.startswith("users_fts") or name in ("vault_keys", "vault_failures")):
        return False
    return not (type_ == "index" and name and name.endswith("_trgm"))


def test_upgrade_head_matches_the_orm_metadata(db):
    """Autogenerate finds nothing to add, drop or alter (types and server defaults compared too)."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True,
                                                         "include_object": _search_objects})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_migrations_have_one_head_and_the_database_is_at_it(db):
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert heads == [head_revision()]
    assert current_revision(db) == head_revision()


def test_the_comparison_sees_a_missing_column(db):
    """The check can fail: a column the ORM maps but the database lacks is reported."""
    from sqlalchemy import Column, Integer, MetaData, Table

    extra = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(extra)
    users = extra.tables["users"]
    Table("users", extra, Column("shoe_size", Integer), extend_existing=True)
    assert "shoe_size" in users.c
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": _search_objects})
        diff = compare_metadata(context, extra)
    assert [(d[0], d[3].name) for d in diff] == [("add_column", "shoe_size")]


def _downgrade(db, revision: str, discard_vault: bool = True) -> None:
    """Down to `revision`. On PostgreSQL the vault's secrets are discarded first (`discard_vault`): the vault's
    own downgrade refuses while it holds any, and these tests are about older revisions' data."""
    from alembic import command
    from sqlalchemy import text

    if discard_vault and not db.is_sqlite:
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE devices SET sealed_secret = NULL, secret_hash = NULL"))
    cfg = alembic_config(db.url)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def _other_device(db, world) -> int:
    from sqlalchemy import text

    with db.engine.connect() as conn:
        return conn.scalar(text("SELECT min(id) FROM devices WHERE id != :id"), {"id": world.secondary_device_id})


def _set_reason(db, device_id: int, value: str) -> None:
    from sqlalchemy import text

    with db.engine.begin() as conn:
        conn.execute(text("UPDATE devices SET return_reason = :v WHERE id = :id"), {"v": value, "id": device_id})


def test_return_reasons_written_before_the_enum_are_converted(db, world):
    """0004: the opt-out's "opt-out" becomes opted_out; the reported names are kept as they are."""
    from console.models.entities import SecurityDevice
    from console.models.enums import ReturnReason
    from console.models.schema import upgrade

    other = _other_device(db, world)
    _downgrade(db, "0010")
    _set_reason(db, world.secondary_device_id, "opt-out")
    _set_reason(db, other, "battery_failure")
    upgrade(db)
    with db.read() as s:
        assert s.get(SecurityDevice, world.secondary_device_id).return_reason is ReturnReason.opted_out
        assert s.get(SecurityDevice, other).return_reason is ReturnReason.battery_failure


def test_a_return_reason_no_member_means_stops_the_upgrade(db, world):
    """An unknown value is named and the upgrade changes nothing (rather than dropping the value)."""
    import pytest
    from sqlalchemy import text

    from console.models.schema import upgrade

    other = _other_device(db, world)
    _downgrade(db, "0010")
    _set_reason(db, world.secondary_device_id, "eaten by the dog")
    _set_reason(db, other, "opt-out")
    with pytest.raises(RuntimeError, match="eaten by the dog"):
        upgrade(db)
    assert current_revision(db) == "0010"
    with db.engine.connect() as conn:
        assert conn.scalar(text("SELECT return_reason FROM devices WHERE id = :id"),
                           {"id": other}) == "opt-out"


def test_the_vault_is_not_taken_down_while_it_holds_secrets(db, world):
    """0011's downgrade would drop the server key every seed in the vault is encrypted with: it refuses, in one
    sentence, and nothing changes; with the vault emptied it goes down and up again."""
    import pytest

    from console.models.schema import upgrade

    if db.is_sqlite:
        pytest.skip("the vault is PostgreSQL's")
    with pytest.raises(RuntimeError, match=r"Migration 0011 cannot be undone: \d+ device secret\(s\) are kept in "
                                           r"the vault"):
        _downgrade(db, "0010", discard_vault=False)
    assert current_revision(db) == head_revision()
    _downgrade(db, "0010")
    assert current_revision(db) == "0010"
    upgrade(db)
    assert current_revision(db) == head_revision()


def test_account_numbers_are_filled_by_the_upgrade_and_dropped_by_the_downgrade(ctx):
    """0016 both ways on a database holding users: down drops the table (and its triggers, so users can still
    be added), up fills it with every user's account number and username."""
    from alembic import command
    from sqlalchemy import inspect, text

    from console.models import demo
    from console.models.settings import Figures

    demo.generate(ctx, Figures(), 60, seed=4)
    db = ctx.db
    _downgrade(db, "0015", discard_vault=False)
    assert "user_account_numbers" not in inspect(db.engine).get_table_names()
    with db.engine.begin() as conn:  # the old triggers are gone with the table: a rename still works
        conn.execute(text("UPDATE users SET username = 'zzrenamed' WHERE id = (SELECT min(id) FROM users)"))
    cfg = alembic_config(db.url)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    with db.engine.connect() as conn:
        kept = set(conn.execute(text("SELECT number, username, user_id FROM user_account_numbers")).all())
        plain = set(conn.execute(text("SELECT a.number, u.username, u.id FROM users u "
                                      "JOIN accounts a ON a.id = u.account_id")).all())
    assert kept == plain and any(username == "zzrenamed" for _, username, _ in kept)
