"""Exporting users, devices, charges and audit entries to CSV."""

from __future__ import annotations

import csv

import pytest
from sqlalchemy import select

from console.models import exporting
from console.models.entities import AuditEntry, Charge
from console.models.enums import ChargeKind, ChargeStatus
from console.models.errors import DatabaseBusy, InvalidInput, PermissionDenied
from console.models.exporting import ExportCancelled, ExportService
from console.models.importing import ImportService


def read(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def service(ctx) -> ExportService:
    return ExportService(ctx)


def test_users_export_has_every_user_and_reimports_unchanged(service, ctx, world, back_office, tmp_path):
    """The users export lists every user in the import format, so importing it back changes nothing."""
    result = service.export(back_office, "users", tmp_path / "users.csv")
    rows = read(tmp_path / "users.csv")
    assert result.rows == len(rows) == 4
    jane = next(r for r in rows if r["username"] == "jsmit001")
    assert (jane["account_number"], jane["role"], jane["sls_state"]) == ("U1234567", "primary", "opted_out")
    plan = ImportService(ctx).preview(back_office, tmp_path / "users.csv")
    assert plan.ok, plan.errors
    assert plan.unchanged == 4 and plan.users_to_create == 0


def test_devices_export_names_holders_and_never_secrets(service, world, auditor, tmp_path):
    """Devices are listed with their holders; no seed, hash or salt leaves the console."""
    service.export(auditor, "devices", tmp_path / "devices.csv")
    rows = read(tmp_path / "devices.csv")
    assert {r["holders"] for r in rows} == {"jsmit123", "aarch001"}
    assert not any("secret" in column or "salt" in column for column in rows[0])


def test_charges_export_writes_amounts_in_currency_units(service, ctx, world, back_office, tmp_path):
    """Charges show the amount as 20.00, not in cents."""
    with ctx.db.write() as s:
        s.add(Charge(account_id=world.account_id, kind=ChargeKind.replacement, amount_cents=2000,
                     status=ChargeStatus.pending, description="=HYPERLINK(\"x\")", created_at=ctx.clock.now(),
                     created_by="boff01"))
    service.export(back_office, "charges", tmp_path / "charges.csv")
    (row,) = read(tmp_path / "charges.csv")
    assert (row["account_number"], row["amount"], row["status"]) == ("U1234567", "20.00", "pending")
    assert row["description"].startswith("'="), "a formula-looking cell is kept as text"


def test_audit_export_reads_in_keyset_batches(service, ctx, world, auditor, tmp_path, monkeypatch):
    """More entries than one batch are all exported, in order, and the export itself is audited. (Entry 1 adds
    the auditor to the staff.)"""
    from console.models import audit as audit_trail

    monkeypatch.setattr(exporting, "BATCH", 3)
    with ctx.db.write() as s:
        for i in range(10):
            audit_trail.record(s, at=ctx.clock.now(), actor="t", action="test.entry", summary=f"entry {i}")
    reports = []
    service.export(auditor, "audit", tmp_path / "audit.csv", lambda done, total: reports.append((done, total)))
    rows = read(tmp_path / "audit.csv")
    assert [int(r["id"]) for r in rows] == list(range(1, 12))
    assert reports[0] == (3, 11) and reports[-1] == (11, 11)
    with ctx.db.read() as s:
        last = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert last.action == "data.exported" and last.actor == "audit01"


def test_cancelled_export_leaves_no_file(service, ctx, world, auditor, tmp_path, monkeypatch):
    """Cancelling from the progress callback removes the partial file."""
    monkeypatch.setattr(exporting, "BATCH", 1)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ExportCancelled, match="no file was written"):
        service.export(auditor, "users", out / "u.csv", lambda done, total: False)
    assert list(out.iterdir()) == []


def test_export_needs_permission_and_a_known_kind(service, agent, auditor, tmp_path):
    """Help-desk agents may not export; an unknown export kind is refused by name."""
    with pytest.raises(PermissionDenied, match="may not export data"):
        service.export(agent, "users", tmp_path / "u.csv")
    with pytest.raises(InvalidInput, match="no export called 'persons'"):
        service.export(auditor, "persons", tmp_path / "p.csv")


def test_users_export_can_write_just_what_the_list_shows(ctx, world, back_office, tmp_path):
    """With the list's filter, only the users it shows are written; the audit entry names the filter."""
    from console.models.directory import UserQuery
    from console.models.enums import SlsState

    shown = UserQuery(text="Smith", state=SlsState.opted_out)
    result = ExportService(ctx).export(back_office, "users", tmp_path / "shown.csv", shown=shown)
    with open(tmp_path / "shown.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert result.rows == 1 and [r["username"] for r in rows] == ["jsmit001"]
    with ctx.db.read() as s:
        summary = s.scalar(select(AuditEntry.summary).where(AuditEntry.action == "data.exported"))
    assert summary == "1 users exported to shown.csv (as listed: matching 'smith', state Opted out)"


def test_names_that_look_like_formulas_survive_export_and_import(service, ctx, back_office, tmp_path):
    """Names beginning with = + - @ (and with quotes before them, and a real leading apostrophe) come back
    exactly as they were: the import takes off exactly the quote the export put on, nothing more."""
    from tests.test_importing import MARIA, write_csv

    names = ["=Jane Formula", "+Bob Plus", "-Al Minus", "@Zed At", "'=Quoted Already", "'t Hooft", "''+Two"]
    protect = exporting.protect_cell  # the file is written as the export (or a careful spreadsheet) writes it
    rows = [{**MARIA, "account_number": f"U555000{i}", "account_title": protect(name), "username": f"formu{i:03d}",
             "full_name": protect(name), "id_document_number": f"DOC{i:05d}"} for i, name in enumerate(names)]
    ImportService(ctx).apply(back_office, write_csv(tmp_path / "in.csv", rows))
    service.export(back_office, "users", tmp_path / "users.csv")
    exported = {r["username"]: r["full_name"] for r in read(tmp_path / "users.csv")}
    assert exported["formu000"] == "'=Jane Formula" and exported["formu005"] == "'t Hooft"  # protected as text
    plan = ImportService(ctx).preview(back_office, tmp_path / "users.csv")
    assert plan.ok and plan.renamed == [] and plan.unchanged == len(names)
    ImportService(ctx).apply(back_office, tmp_path / "users.csv")
    with ctx.db.read() as s:
        from console.models.entities import Account, User

        stored = dict(s.execute(select(User.username, User.full_name).where(User.username.like("formu%"))).all())
        titles = set(s.scalars(select(Account.title).where(Account.number.like("U555000%"))))
    assert stored == {f"formu{i:03d}": name for i, name in enumerate(names)} and titles == set(names)
    assert exported["formu004"] == "''=Quoted Already" and exported["formu006"] == "'''+Two"


def test_export_whose_audit_entry_fails_leaves_no_file(service, ctx, world, back_office, tmp_path, monkeypatch):
    """The audit entry comes before the file: when its write fails (another desk's lock timed out), no
    client data is left on disk, under the final name or the temporary one."""
    from sqlalchemy.exc import OperationalError

    def locked(*_args, **_kwargs):
        raise OperationalError("INSERT INTO audit_log", {}, Exception("database is locked"))

    monkeypatch.setattr(exporting.audit, "record", locked)
    target = tmp_path / "users.csv"
    with pytest.raises(DatabaseBusy):
        service.export(back_office, "users", target)
    assert list(tmp_path.glob("users.csv*")) == []


def test_export_file_is_readable_by_its_owner_only(service, world, back_office, tmp_path):
    import os
    import stat

    target = tmp_path / "users.csv"
    target.write_text("old")
    os.chmod(target, 0o644)
    service.export(back_office, "users", target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
