"""Reading the audit trail: filters, keyset paging, CSV export and verification, each by role."""

import csv
import datetime as dt
import io

import pytest

from console.models import audit
from console.models.audit_log import AuditFilter, AuditLog
from console.models.errors import InvalidInput, PermissionDenied


@pytest.fixture
def log(ctx, world, clock, auditor, agent):
    """Entries 1 and 2 add the auditor and the agent (staff.added); then 30 entries by two others."""
    with ctx.db.write() as s:
        for n in range(30):
            clock.advance(minutes=10)
            audit.record(s, at=clock.now(), actor="hdesk01" if n % 2 else "boff01",
                         action="user.enrolled" if n % 3 else "device.shipped", summary=f"=change {n}",
                         user_id=world.primary_id if n < 10 else world.secondary_id)
    return AuditLog(ctx)


def test_newest_first_in_keyset_pages(log, auditor):
    """Pages of entries, newest first, continue where the last page ended."""
    first = log.window(auditor, AuditFilter(), limit=12)
    second = log.window(auditor, AuditFilter(), before_id=first[-1].id, limit=12)
    ids = [r.id for r in first + second]
    assert ids == list(range(32, 8, -1))


def test_filters_by_staff_action_client_and_period(log, auditor, clock):
    """Each filter narrows the list; they combine."""
    assert {r.actor for r in log.window(auditor, AuditFilter(staff="HDESK01"))} == {"hdesk01"}
    assert {r.action for r in log.window(auditor, AuditFilter(action="device."))} == {"device.shipped"}
    assert len(log.window(auditor, AuditFilter(username="jsmit001"))) == 10
    assert log.window(auditor, AuditFilter(username="nobody")) == []
    start = dt.datetime(2026, 11, 26, 10, 0, tzinfo=dt.UTC)
    rows = log.window(auditor, AuditFilter(since=start, until=start + dt.timedelta(hours=1)))
    assert len(rows) == 6 and all(start <= r.at < start + dt.timedelta(hours=1) for r in rows)
    both = log.window(auditor, AuditFilter(staff="hdesk01", action="user.enrolled", username="jsmit123"))
    assert both and all(r.actor == "hdesk01" and r.action == "user.enrolled" for r in both)
    with pytest.raises(InvalidInput, match="start of the period must be before its end"):
        log.window(auditor, AuditFilter(since=start, until=start))


def test_csv_export_has_every_field_and_defuses_formulas(log, auditor):
    """The export carries every field including the hashes; a summary starting with '=' is quoted."""
    out = io.StringIO()
    assert log.export_csv(auditor, AuditFilter(staff="boff01"), out) == 15
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == 15 and len(rows[0]["entry_hash"]) == 64
    assert all(r["summary"].startswith("'=change") for r in rows)


def test_help_desk_reads_but_cannot_export_or_verify(log, agent, auditor):
    """Help-desk may look at the trail; export and verification belong to auditors and administrators."""
    assert log.window(agent, AuditFilter(), limit=1)
    with pytest.raises(PermissionDenied, match="may not export data"):
        log.export_csv(agent, AuditFilter(), io.StringIO())
    with pytest.raises(PermissionDenied, match="may not verify the audit trail"):
        log.verify(agent)
    result = log.verify(auditor)
    assert result.ok and result.count == 32


def test_entries_name_devices_by_serial_not_internal_id(ctx, world, auditor, back_office):
    """The trail shows a card by its serial and an IB Key (no serial) by its kind, never a row number."""
    from console.models.devices import DeviceService

    card = DeviceService(ctx).receive_stock(back_office, "DSC000000555")[0]
    with ctx.db.write() as s:
        audit.record(s, at=ctx.clock.now(), actor="hdesk01", action="device.unlocked", summary="unlocked",
                     device_id=world.secondary_device_id)
    rows = {r.device_id: r.device for r in AuditLog(ctx).window(auditor, AuditFilter()) if r.device_id}
    assert rows[card] == "DSC000000555"
    assert rows[world.secondary_device_id] == "IB Key"


def test_bulk_chaining_hashes_every_entry_as_a_single_entry_is_hashed():
    """audit.link writes the canonical text itself for speed; it must give canonical_bytes' hashes for any
    text (quotes, backslashes, control characters, non-ASCII), ids or their absence, SQLite's stored time
    text, and fall back to the encoder for values it does not write itself."""
    import datetime as dt
    import hashlib

    from console.models import audit

    at = dt.datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=dt.UTC)
    rows = [
        {"at": at, "actor": "demo", "action": "user.enrolled", "summary": 'say "hi" \\ back\n\ttab \x01 é 漢 🙂',
         "account_id": 1, "user_id": 2, "device_id": None, "details": {"device_kind": "ib_key", "shared": False}},
        {"at": "2026-03-04 05:06:07.890123", "actor": 'bob "the" office', "action": "device.shared",
         "summary": "", "account_id": None, "user_id": None, "device_id": 9, "details": {"note": "ünïcode \"q\""}},
        {"at": at, "actor": "demo", "action": "user.enrolled", "summary": "bool id", "account_id": True,
         "user_id": 3, "details": None},
    ]
    linked = audit.link(rows, 41, "f" * 64)
    prev = "f" * 64
    for i, out in enumerate(linked.rows):
        expected = hashlib.sha256(audit.canonical_bytes(
            42 + i, at, out["actor"], out["action"], out["account_id"], out["user_id"], out["device_id"],
            out["summary"], out["details"], prev)).hexdigest()
        assert out["entry_hash"] == expected, i
        prev = expected
