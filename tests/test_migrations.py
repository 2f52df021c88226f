"""The migrations and the ORM describe one schema: `alembic upgrade head` builds exactly what entities.py
maps (on SQLite, and on PostgreSQL when the suite runs there)."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from console.models.entities import Base
from console.models.schema import alembic_config, current_revision, head_revision


def _search_objects(obj, name, type_, reflected, compare_to) -> bool:
    """False for the users list's search structures, which migration 0003 builds outside the ORM: the FTS5
    table and its shadow tables on SQLite, the pg_trgm indexes on PostgreSQL."""
    if type_ == "table" and name and name.startswith("users_fts"):
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
