"""Importing accounts and users from CSV: preview, all-or-nothing apply, cancel, per-row errors."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import func, select

from console.models import audit
from console.models.entities import Account, AuditEntry, Person, User, UserRestriction
from console.models.enums import SlsState, UserRole
from console.models.errors import InvalidInput, PermissionDenied
from console.models.import_format import COLUMNS
from console.models.importing import ImportCancelled, ImportRefused, ImportService

SAMPLE = Path(__file__).resolve().parent.parent / "resources" / "sample-import.csv"

MARIA = {"account_number": "U2345678", "account_kind": "individual", "account_title": "Maria Rossi",
         "username": "mross001", "full_name": "Maria Rossi", "role": "primary", "date_of_birth": "1979-03-14",
         "citizenship": "IT", "country_of_residence": "GB", "id_document_type": "passport",
         "id_document_number": "YA1234567"}


def write_csv(path: Path, rows: list[dict], columns=COLUMNS) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        w.writerows(rows)
    return path


def counts(ctx) -> tuple[int, int, int, int, int]:
    with ctx.db.read() as s:
        return tuple(s.scalar(select(func.count()).select_from(e)) or 0
                     for e in (Account, Person, User, UserRestriction, AuditEntry))


@pytest.fixture
def service(ctx) -> ImportService:
    return ImportService(ctx)


def test_sample_file_previews_and_imports(service, back_office, ctx):
    """The sample in resources/ imports cleanly: accounts, users, and one person with two usernames."""
    plan = service.preview(back_office, SAMPLE)
    assert plan.ok, plan.errors
    assert (plan.accounts_to_create, plan.users_to_create, plan.persons_to_create) == (3, 6, 5)
    result = service.apply(back_office, SAMPLE)
    assert result.users_created == 6
    with ctx.db.read() as s:
        maria = s.scalars(select(User).where(User.username.in_(["mross001", "mross114"]))).all()
        assert len({u.person_id for u in maria}) == 1
        assert all(u.sls_state is SlsState.opted_out and len(u.restrictions) == 3 for u in maria)
        assert maria[0].name_key == "maria rossi"


def test_import_writes_audit_entries_in_a_valid_chain(service, back_office, ctx):
    """Every imported user and account gets an audit entry, chained; the trail still verifies."""
    service.apply(back_office, SAMPLE)
    with ctx.db.read() as s:
        actions = [a for (a,) in s.execute(select(AuditEntry.action).order_by(AuditEntry.id))]
        assert actions.count("user.imported") == 6
        assert actions.count("account.imported") == 3
        assert actions[-1] == "import.completed"
        assert audit.verify(s).ok


def test_reimporting_the_same_file_changes_nothing(service, back_office, ctx):
    """A second import of the same file finds every user unchanged and creates nothing."""
    service.apply(back_office, SAMPLE)
    plan = service.preview(back_office, SAMPLE)
    assert plan.ok and plan.unchanged == 6
    assert plan.users_to_create == plan.accounts_to_create == plan.users_to_update == 0


def test_one_bad_row_imports_nothing_and_names_line_field_reason(service, back_office, ctx, tmp_path):
    """All-or-nothing per file: a single bad row refuses the whole file, naming line, field and reason."""
    rows = [MARIA, {**MARIA, "account_number": "U2345670", "username": "mross0x2"}]
    path = write_csv(tmp_path / "bad.csv", rows)
    before = counts(ctx)
    with pytest.raises(ImportRefused, match=r"line 3, username: 'mross0x2' is not a username"):
        service.apply(back_office, path)
    assert counts(ctx) == before
    plan = service.preview(back_office, path)
    assert [(e.line, e.field) for e in plan.errors] == [(3, "username")]


def test_cancel_during_writing_rolls_everything_back(service, back_office, ctx):
    """Cancelling from the progress callback leaves the database exactly as it was."""
    before = counts(ctx)
    seen = []

    def cancel_when_writing(phase, done, total):
        seen.append(phase)
        return phase != "Writing" or done == 0

    with pytest.raises(ImportCancelled, match="Nothing was written"):
        service.apply(back_office, SAMPLE, cancel_when_writing)
    assert "Writing" in seen
    assert counts(ctx) == before


def test_import_requires_the_import_permission(service, agent, ctx):
    """A help-desk agent may not import: refused before the file is read."""
    with pytest.raises(PermissionDenied, match="may not import accounts and users"):
        service.preview(agent, SAMPLE)


def test_header_problems_are_reported_on_line_one(service, back_office, tmp_path):
    """A missing or unknown column is reported against line 1 with the column name."""
    columns = [c for c in COLUMNS if c != "role"] + ["nickname"]
    path = write_csv(tmp_path / "h.csv", [{k: v for k, v in MARIA.items() if k != "role"} | {"nickname": "x"}],
                     columns)
    plan = service.preview(back_office, path)
    assert {(e.line, e.field) for e in plan.errors} == {(1, "role"), (1, "nickname")}


@pytest.mark.parametrize("column, value, reason", [
    ("account_number", "12345678", "not an account number"),
    ("account_kind", "trust", "not one of individual, joint, organization"),
    ("role", "owner", "not one of primary, secondary"),
    ("date_of_birth", "14/03/1979", "YYYY-MM-DD"),
    ("date_of_birth", "2099-01-01", "not a plausible date of birth"),
    ("citizenship", "ITA", "two-letter country code"),
    ("id_document_type", "library_card", "not one of passport"),
    ("full_name", "  ", "1 to 200 characters"),
])
def test_field_checks_name_the_field(service, back_office, tmp_path, column, value, reason):
    """Each malformed field is refused with its own column name and a readable reason."""
    path = write_csv(tmp_path / "f.csv", [{**MARIA, column: value}])
    plan = service.preview(back_office, path)
    assert not plan.ok
    assert plan.errors[0].line == 2 and plan.errors[0].field == column
    assert reason in plan.errors[0].reason


def test_new_user_needs_identification(service, back_office, tmp_path):
    """A new username without identification data is refused: persons are matched on it."""
    blank = {c: "" for c in ("date_of_birth", "citizenship", "country_of_residence", "id_document_type",
                             "id_document_number")}
    plan = service.preview(back_office, write_csv(tmp_path / "n.csv", [{**MARIA, **blank}]))
    assert [(e.line, e.field) for e in plan.errors] == [(2, "date_of_birth")]
    assert "new user" in plan.errors[0].reason


def test_duplicate_username_in_file_names_the_first_line(service, back_office, tmp_path):
    """The same username twice in a file is refused on its second line, pointing at the first."""
    path = write_csv(tmp_path / "d.csv", [MARIA, {**MARIA, "role": "secondary"}])
    plan = service.preview(back_office, path)
    assert [(e.line, e.field) for e in plan.errors] == [(3, "username")]
    assert "line 2" in plan.errors[0].reason


def test_new_account_needs_exactly_one_primary(service, back_office, tmp_path):
    """A new account with no primary user, or with two, is refused."""
    none = write_csv(tmp_path / "none.csv", [{**MARIA, "role": "secondary"}])
    assert "needs one user with role primary" in service.preview(back_office, none).errors[0].reason
    second = {**MARIA, "username": "mross002", "id_document_number": "YB7654321", "full_name": "Mario Rossi"}
    two = write_csv(tmp_path / "two.csv", [MARIA, second])
    errors = service.preview(back_office, two).errors
    assert [(e.line, e.field) for e in errors] == [(3, "role")]
    assert "exactly one" in errors[0].reason


def test_existing_user_cannot_move_account_or_change_role(service, back_office, world, tmp_path):
    """A known username must stay in its account with its role: usernames never move."""
    row = {**MARIA, "account_number": "U7654321", "account_kind": "organization", "account_title": "Acme Capital LLC",
           "username": "jsmit001", "full_name": "Jane Smith", "role": "secondary",
           **{c: "" for c in ("date_of_birth", "citizenship", "country_of_residence", "id_document_type",
                              "id_document_number")}}
    errors = service.preview(back_office, write_csv(tmp_path / "m.csv", [row])).errors
    fields = {e.field for e in errors}
    assert "account_number" in fields and "role" in fields
    assert "never moves" in next(e.reason for e in errors if e.field == "account_number")


def test_primary_added_to_account_that_has_one_is_refused(service, back_office, world, tmp_path):
    """An existing account keeps its single primary user: a new primary is refused."""
    row = {**MARIA, "account_number": "U1234567", "account_title": "Jane Smith", "username": "mross001"}
    errors = service.preview(back_office, write_csv(tmp_path / "p.csv", [row])).errors
    assert [(e.line, e.field) for e in errors] == [(2, "role")]


def test_existing_account_title_is_updated_and_audited(service, back_office, world, ctx, tmp_path):
    """A new title for a known account is an update, audited with old and new."""
    row = {**MARIA, "account_number": "U1234567", "account_title": "Jane & John Smith", "role": "secondary"}
    plan = service.preview(back_office, write_csv(tmp_path / "t.csv", [row]))
    assert plan.ok and plan.accounts_to_update == 1 and plan.users_to_create == 1
    service.apply(back_office, tmp_path / "t.csv")
    with ctx.db.read() as s:
        assert s.scalar(select(Account.title).where(Account.number == "U1234567")) == "Jane & John Smith"
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "account.retitled")).one()
        assert '"old":"Jane Smith"' in entry.details


def test_name_correction_renames_the_person_and_all_their_usernames(service, back_office, ctx, tmp_path):
    """A corrected full name for a known user renames the person and every username they hold."""
    service.apply(back_office, SAMPLE)
    path = write_csv(tmp_path / "r.csv", [{**MARIA, "full_name": "Maria Rossi-Bianchi"}])
    plan = service.preview(back_office, path)
    assert plan.ok and plan.users_to_update == 2 and len(plan.renamed) == 1
    service.apply(back_office, path)
    with ctx.db.read() as s:
        names = set(s.scalars(select(User.name_key).where(User.username.in_(["mross001", "mross114"]))))
        assert names == {"maria rossi-bianchi"}


def test_kind_of_known_account_cannot_change(service, back_office, world, tmp_path):
    """An import does not change an account's kind."""
    row = {**MARIA, "account_number": "U1234567", "account_kind": "joint", "role": "secondary"}
    errors = service.preview(back_office, write_csv(tmp_path / "k.csv", [row])).errors
    assert [(e.line, e.field) for e in errors] == [(2, "account_kind")]


def test_not_utf8_file_is_refused_with_its_line(service, back_office, tmp_path):
    """A file in another encoding is refused, naming the line with the first undecodable byte."""
    path = tmp_path / "latin1.csv"
    path.write_bytes((",".join(COLUMNS) + "\n" + ",".join(MARIA.values()).replace("Maria", "Mar\xeda") + "\n")
                     .encode("latin-1"))
    errors = service.preview(back_office, path).errors
    assert (errors[0].line, errors[0].field) == (2, "file")


def test_missing_file_is_a_readable_error(service, back_office, tmp_path):
    """A file that cannot be opened gives a message, not a traceback."""
    with pytest.raises(InvalidInput, match="could not be read"):
        service.preview(back_office, tmp_path / "nope.csv")


def test_role_values_are_stored_as_enums(service, back_office, ctx):
    """Imported users carry the role from the file: exactly one primary per new account."""
    service.apply(back_office, SAMPLE)
    with ctx.db.read() as s:
        primaries = s.execute(select(Account.number, func.count()).join(User, User.account_id == Account.id)
                              .where(User.role == UserRole.primary).group_by(Account.number)).all()
        assert dict(primaries) == {"U2345678": 1, "U2345679": 1, "U3456780": 1}


def test_preview_lists_each_change_with_its_line(service, back_office, world, tmp_path):
    """The preview says line by line what would happen: accounts, users, title changes."""
    rows = [{**MARIA, "account_number": "U1234567", "account_title": "Jane & Maria", "role": "secondary"}]
    plan = service.preview(back_office, write_csv(tmp_path / "c.csv", rows))
    assert plan.changes() == [
        (2, "Change account title", "U1234567: 'Jane Smith' → 'Jane & Maria'"),
        (2, "Create user", "mross001 Maria Rossi, secondary user of U1234567"),
    ]


def test_imported_users_are_found_in_the_users_list(service, back_office, ctx):
    """After an import the directory finds the new users by username, name and account, with their counts."""
    from console.models.directory import UserDirectory, UserQuery

    service.apply(back_office, SAMPLE)
    directory = UserDirectory(ctx)
    assert directory.count(UserQuery("mross")) == 2
    assert directory.count(UserQuery("Yuki")) == 1
    assert directory.count(UserQuery("U3456780")) == 3
    assert directory.counts_by_state()[SlsState.opted_out] == 6


@pytest.mark.parametrize("column", ["full_name", "account_title", "username", "id_document_number"])
@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\u202e", "\n"])
def test_control_characters_refused_with_line_and_column(service, back_office, ctx, tmp_path, column, char):
    """NUL and other control characters (and invisible direction overrides) in any field refuse the file,
    naming the line, the column and the character; nothing is imported."""
    path = write_csv(tmp_path / "ctl.csv", [MARIA, {**MARIA, "account_number": "U2345679", "username": "mross002",
                                                    column: MARIA[column][:3] + char + MARIA[column][3:]}])
    before = counts(ctx)
    plan = service.preview(back_office, path)
    assert [(e.line, e.field) for e in plan.errors] == [(3, column)]
    assert f"U+{ord(char):04X}" in plan.errors[0].reason and "character 4" in plan.errors[0].reason
    with pytest.raises(ImportRefused):
        service.apply(back_office, path)
    assert counts(ctx) == before


def test_legacy_card_imported_with_its_holder_and_fee_reserve(service, back_office, ctx, tmp_path):
    """A new user imported with a Gold card is enrolled with it (no restrictions); the card is active, held,
    booked to the account with a 150.00 USD reserve; audited; the invariants hold."""
    from console.models.entities import Reserve, SecurityDevice
    from console.models.enums import DeviceKind, DeviceState, SlsState
    from tests.invariants import assert_invariants

    columns = (*COLUMNS, "legacy_device", "legacy_serial")
    path = write_csv(tmp_path / "legacy.csv", [{**MARIA, "legacy_device": "Gold", "legacy_serial": "g-12345"}],
                     columns)
    service.apply(back_office, path)
    with ctx.db.read() as s:
        device = s.scalars(select(SecurityDevice)).one()
        user = s.scalars(select(User).where(User.username == "mross001")).one()
        assert (device.kind, device.serial, device.state) == (DeviceKind.gold, "G-12345", DeviceState.active)
        assert user.sls_state is SlsState.enrolled and user.active_devices == 1
        assert not [r for r in user.restrictions if r.lifted_at is None]
        assert s.scalar(select(Reserve.amount_cents).where(Reserve.device_id == device.id)) == 15000
    assert_invariants(ctx)


@pytest.mark.parametrize("legacy, serial, field", [("bronze", "G-1", "legacy_device"),
                                                   ("platinum", "", "legacy_serial"),
                                                   ("", "P-12345", "legacy_device")])
def test_legacy_columns_checked(service, back_office, tmp_path, legacy, serial, field):
    """Only gold or platinum, always with a serial; the refusal names line and column."""
    path = write_csv(tmp_path / "legacy.csv", [{**MARIA, "legacy_device": legacy, "legacy_serial": serial}],
                     (*COLUMNS, "legacy_device", "legacy_serial"))
    plan = service.preview(back_office, path)
    assert (2, field) in [(e.line, e.field) for e in plan.errors]


def test_legacy_card_only_with_a_new_user_and_a_new_serial(service, back_office, ctx, tmp_path):
    """A user already on record gets no legacy card by import; a serial on record is refused."""
    columns = (*COLUMNS, "legacy_device", "legacy_serial")
    service.apply(back_office, write_csv(tmp_path / "a.csv", [{**MARIA, "legacy_device": "platinum",
                                                               "legacy_serial": "P-0001"}], columns))
    again = {**MARIA, "legacy_device": "gold", "legacy_serial": "G-0001"}
    other = {**MARIA, "account_number": "U2345679", "username": "mross002", "legacy_device": "gold",
             "legacy_serial": "P-0001"}
    plan = service.preview(back_office, write_csv(tmp_path / "b.csv", [again, other], columns))
    assert {(e.line, e.field) for e in plan.errors} == {(2, "legacy_device"), (3, "legacy_serial")}
