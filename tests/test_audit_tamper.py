"""The audit trail is tamper-evident: a row changed, deleted or inserted with any SQL tool is named by verify."""

import datetime as dt

import pytest

from console.models import audit
from tests import rawsql


@pytest.fixture
def trail(ctx, world, clock):
    """Five entries on top of whatever the world wrote (it writes none)."""
    with ctx.db.write() as s:
        for n in range(1, 6):
            clock.advance(minutes=1)
            audit.record(s, at=clock.now(), actor="hdesk01", action="user.enrolled", summary=f"change {n}",
                         user_id=world.primary_id, details={"n": n})
    with ctx.db.read() as s:
        result = audit.verify(s)
    assert result.ok and result.count == 5
    return result


def verify(ctx):
    ctx.db.engine.dispose()  # a fresh connection: nothing cached from before the tampering
    with ctx.db.read() as s:
        return audit.verify(s)


def test_intact_trail_verifies_with_count_and_head(ctx, trail):
    """An untouched trail verifies; the head hash is the last entry's hash."""
    result = verify(ctx)
    assert result.ok and result.count == 5 and len(result.head_hash) == 64 and result.bad_entry_id is None


@pytest.mark.parametrize("column,value", [("summary", "'nothing happened'"), ("actor", "'someone'"),
                                          ("at", "at"), ("details", "'{}'"), ("user_id", "NULL")])
def test_changed_field_named(ctx, trail, column, value):
    """Changing any field of entry 3 makes verify fail naming entry 3 as changed."""
    if column == "at":
        value = "'2020-01-01 00:00:00'" if ctx.db.is_sqlite else "TIMESTAMPTZ '2020-01-01 00:00:00+00'"
    rawsql.run(ctx.db, f"UPDATE audit_entries SET {column} = {value} WHERE id = 3")
    result = verify(ctx)
    assert not result.ok and result.bad_entry_id == 3
    assert "entry 3 was changed" in result.problem


def test_changed_entry_with_recomputed_hash_named(ctx, trail):
    """An attacker who also recomputes entry 3's own hash breaks its link to entry 4: both are named."""
    with ctx.db.read() as s:
        e = s.get(audit.AuditEntry, 3)
        e.summary = "nothing happened"
        forged = audit.entry_hash_of(e)
    rawsql.run(ctx.db, f"UPDATE audit_entries SET summary = 'nothing happened', entry_hash = '{forged}' "
                       f"WHERE id = 3")
    result = verify(ctx)
    assert not result.ok and result.bad_entry_id == 3
    assert "entry 3" in result.problem and "entry 4" in result.problem


def test_deleted_entry_named(ctx, trail):
    """Deleting entry 3 is reported as entry 3 removed."""
    rawsql.run(ctx.db, "DELETE FROM audit_entries WHERE id = 3")
    result = verify(ctx)
    assert not result.ok and result.bad_entry_id == 3 and "entry 3 was removed" in result.problem


def test_deleted_last_entry_named(ctx, trail):
    """Deleting the newest entry is caught by the recorded chain head."""
    rawsql.run(ctx.db, "DELETE FROM audit_entries WHERE id = 5")
    result = verify(ctx)
    assert not result.ok and result.bad_entry_id == 5 and "entry 5 was removed" in result.problem


def test_inserted_entry_at_the_end_named(ctx, trail):
    """A row appended past the head, even with a correct link and hash, is named as inserted."""
    with ctx.db.read() as s:
        last = s.get(audit.AuditEntry, 5)
        fake = audit.AuditEntry(id=6, at=dt.datetime(2026, 11, 26, 9, 10, tzinfo=dt.UTC), actor="x",
                                action="user.opted_out", account_id=None,
                                user_id=None, device_id=None, summary="forged", details="{}",
                                prev_hash=last.entry_hash)
        fake_hash = audit.entry_hash_of(fake)
        at = "'2026-11-26 09:10:00'" if ctx.db.is_sqlite else "TIMESTAMPTZ '2026-11-26 09:10:00+00'"
        last_hash = last.entry_hash
    rawsql.run(ctx.db, "INSERT INTO audit_entries (id, at, actor, action, summary, details, prev_hash, entry_hash) "
                       f"VALUES (6, {at}, 'x', 'user.opted_out', 'forged', '{{}}', '{last_hash}', "
                       f"'{fake_hash}')")
    result = verify(ctx)
    assert not result.ok and result.bad_entry_id == 6 and "entry 6 was inserted" in result.problem


def test_inserted_entry_in_the_middle_named(ctx, trail):
    """Shifting entries 3.. up by one to slip a row in as entry 3 is named at entry 3."""
    rawsql.run(ctx.db,
               "UPDATE audit_entries SET id = id + 100 WHERE id >= 3",
               "UPDATE audit_entries SET id = id - 99 WHERE id >= 103",
               "INSERT INTO audit_entries (id, at, actor, action, summary, details, prev_hash, entry_hash) "
               "SELECT 3, at, actor, 'user.opted_out', 'forged', details, prev_hash, entry_hash "
               "FROM audit_entries WHERE id = 4")
    result = verify(ctx)
    assert not result.ok and result.bad_entry_id == 3
