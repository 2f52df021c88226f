"""The accounts-and-users CSV format: its columns, and the per-row checks that need no database."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from console.models.enums import AccountKind, DeviceKind, UserRole

# One row per user, in this order in the header (the header line is required; column order is free).
COLUMNS = ("account_number", "account_kind", "account_title", "username", "full_name", "role",
           "date_of_birth", "citizenship", "country_of_residence", "id_document_type", "id_document_number")
IDENTITY_COLUMNS = COLUMNS[6:]
# Columns a users export carries beyond the import's; accepted and ignored so an export re-imports.
IGNORED_COLUMNS = ("sls_state", "active_devices", "created_at")
# Optional: a legacy Gold or Platinum card a new user already holds (the firm no longer ships them).
LEGACY_COLUMNS = ("legacy_device", "legacy_serial")
LEGACY_KINDS = {"gold": DeviceKind.gold, "platinum": DeviceKind.platinum}
SERIAL_RE = re.compile(r"^[A-Z0-9-]{4,64}$")

USERNAME_RE = re.compile(r"^[a-z]{5}[0-9]{3}$")  # docs/domain-facts.md: 5 letters chosen + 3 digits assigned
ACCOUNT_RE = re.compile(r"^U[0-9]{7,8}$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
DOCUMENT_TYPES = ("passport", "national_id", "driving_licence")
MAX_TEXT = 200
MAX_ERRORS_KEPT = 1000



class Identity(NamedTuple):
    """The identification data that say two usernames belong to one person (the IDENTITY_COLUMNS)."""

    date_of_birth: dt.date
    citizenship: str
    country_of_residence: str
    id_document_type: str
    id_document_number: str


@dataclass(frozen=True, order=True)
class RowError:
    """One reason a line cannot be imported: where it is, which column, and why."""

    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.field}: {self.reason}"


@dataclass(frozen=True)
class ImportRow:
    """One checked, normalised line of the file."""

    line: int
    account_number: str
    account_kind: AccountKind
    account_title: str
    username: str
    full_name: str
    role: UserRole
    identity: Identity | None  # None: all identity columns blank (allowed for users already on record)
    legacy: tuple[DeviceKind, str] | None = None  # a Gold or Platinum card the user holds, with its serial


@dataclass
class ParsedFile:
    name: str
    sha256: str
    rows: list[ImportRow]
    errors: list[RowError]
    lines: int  # data lines read, good or bad


# A spreadsheet runs a cell starting with one of these as a formula. The export puts one quote before such a
# value (and before quotes already in front of one), and the import takes exactly that quote off again, so an
# export imports back unchanged: "=Jane" -> "'=Jane" -> "=Jane"; "'=x" -> "''=x" -> "'=x"; "'t Hooft" as is.
FORMULA_START = re.compile(r"^'*[=+\-@\t\r]")
# Control characters (C0, DEL, C1) and the invisible bidirectional overrides that can disguise text.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def protect_cell(value: str) -> str:
    """What the export writes for a text value (undone by unprotect_cell)."""
    return "'" + value if FORMULA_START.match(value) else value


def unprotect_cell(value: str) -> str:
    """The value the export protected: exactly one leading quote off, and only where the export put one."""
    return value[1:] if value.startswith("'") and FORMULA_START.match(value[1:]) else value


def control_character(value: str) -> str | None:
    """A readable description of the first control character in `value`, or None."""
    m = CONTROL.search(value)
    if m is None:
        return None
    return f"contains a control character (U+{ord(m.group()):04X}) at character {m.start() + 1}"


def _norm_space(value: str) -> str:
    return re.sub(r"\s+", " ", value.strip())


def _check_row(line: int, raw: dict[str, str], today: dt.date, errors: list[RowError]) -> ImportRow | None:
    before = len(errors)

    def bad(field: str, reason: str) -> None:
        errors.append(RowError(line, field, reason))

    number = raw["account_number"].strip().upper()
    if not ACCOUNT_RE.match(number):
        bad("account_number", f"{raw['account_number']!r} is not an account number (U followed by 7 or 8 digits, "
                              f"e.g. U1234567)")
    kind_text = raw["account_kind"].strip().lower()
    kind = AccountKind.__members__.get(kind_text)
    if kind is None:
        bad("account_kind", f"{raw['account_kind']!r} is not one of individual, joint, organization")
    title = _norm_space(raw["account_title"])
    if not title or len(title) > MAX_TEXT:
        bad("account_title", f"the account title must be 1 to {MAX_TEXT} characters")
    username = raw["username"].strip()
    if not USERNAME_RE.match(username):
        bad("username", f"{username!r} is not a username (5 lower-case letters and 3 digits, e.g. jsmit001)")
    name = _norm_space(raw["full_name"])
    if not name or len(name) > MAX_TEXT:
        bad("full_name", f"the full name must be 1 to {MAX_TEXT} characters")
    role = UserRole.__members__.get(raw["role"].strip().lower())
    if role is None:
        bad("role", f"{raw['role']!r} is not one of primary, secondary")
    identity = _check_identity(raw, today, bad)
    legacy = _check_legacy(raw, bad)
    if len(errors) > before or kind is None or role is None:
        return None
    return ImportRow(line, number, kind, title, username, name, role, identity, legacy)


def _check_legacy(raw: dict[str, str], bad: Callable[[str, str], None]) -> tuple[DeviceKind, str] | None:
    kind_text = raw.get("legacy_device", "").strip().lower()
    serial = raw.get("legacy_serial", "").strip().upper()
    if not kind_text and not serial:
        return None
    kind = LEGACY_KINDS.get(kind_text)
    if kind is None:
        bad("legacy_device", f"{raw.get('legacy_device', '')!r} is not one of gold, platinum (or leave both legacy "
                             f"columns blank)")
    if not SERIAL_RE.match(serial):
        bad("legacy_serial", "give the legacy card's serial: 4 to 64 letters, digits or hyphens")
    return (kind, serial) if kind is not None and SERIAL_RE.match(serial) else None


def _check_identity(raw: dict[str, str], today: dt.date, bad: Callable[[str, str], None]) -> Identity | None:
    values = {c: raw[c].strip() for c in IDENTITY_COLUMNS}
    if not any(values.values()):
        return None
    missing = [c for c, v in values.items() if not v]
    for column in missing:
        bad(column, "give all five identification columns, or leave all five blank for a user already on record")
    dob = None
    if values["date_of_birth"]:
        try:
            dob = dt.date.fromisoformat(values["date_of_birth"])
        except ValueError:
            bad("date_of_birth", f"{values['date_of_birth']!r} is not a date written YYYY-MM-DD")
        else:
            if not dt.date(1900, 1, 1) <= dob <= today:
                bad("date_of_birth", f"{dob.isoformat()} is not a plausible date of birth")
    countries = {}
    for column in ("citizenship", "country_of_residence"):
        code = values[column].upper()
        countries[column] = code
        if values[column] and not COUNTRY_RE.match(code):
            bad(column, f"{values[column]!r} is not a two-letter country code (ISO 3166, e.g. US)")
    doc_type = values["id_document_type"].lower()
    if values["id_document_type"] and doc_type not in DOCUMENT_TYPES:
        bad("id_document_type", f"{values['id_document_type']!r} is not one of {', '.join(DOCUMENT_TYPES)}")
    doc_number = values["id_document_number"].upper().replace(" ", "")
    if values["id_document_number"] and not re.fullmatch(r"[A-Z0-9-]{4,64}", doc_number):
        bad("id_document_number", "the document number must be 4 to 64 letters, digits or hyphens")
    if missing or dob is None:
        return None
    return Identity(dob, countries["citizenship"], countries["country_of_residence"], doc_type, doc_number)


def _line_of_offset(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def parse_bytes(name: str, data: bytes, today: dt.date) -> ParsedFile:
    """Read and check every line; rows that fail a check are left out and their errors listed."""
    digest = hashlib.sha256(data).hexdigest()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return ParsedFile(name, digest, [], [RowError(_line_of_offset(data, exc.start), "file",
                                                      "the file is not UTF-8 text; save it as CSV UTF-8")], 0)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return ParsedFile(name, digest, [], [RowError(1, "file", "the file is empty; it needs a header line")], 0)
    except csv.Error as exc:
        return ParsedFile(name, digest, [], [RowError(1, "file", f"the header line is not valid CSV ({exc})")], 0)
    header = [h.strip().lower() for h in header]
    errors: list[RowError] = []
    for i, column in enumerate(header):
        problem = control_character(column)
        if problem:
            errors.append(RowError(1, f"column {i + 1}", f"the header {problem}; remove it"))
    for column in COLUMNS:
        if column not in header:
            errors.append(RowError(1, column, "this column is missing from the header line"))
    for column in header:
        if column not in COLUMNS and column not in IGNORED_COLUMNS and column not in LEGACY_COLUMNS:
            errors.append(RowError(1, column or "(blank)", "unknown column; the columns are listed in the README"))
    if len(set(header)) != len(header):
        errors.append(RowError(1, "file", "a column appears twice in the header line"))
    if errors:
        return ParsedFile(name, digest, [], errors, 0)
    positions = {c: header.index(c) for c in (*COLUMNS, *LEGACY_COLUMNS) if c in header}
    rows: list[ImportRow] = []
    today_date = today
    lines = 0
    last_line = reader.line_num
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(RowError(last_line + 1, "file", f"not valid CSV ({exc})"))
            break
        line, last_line = last_line + 1, reader.line_num
        if not record or all(not v.strip() for v in record):
            continue  # blank lines are allowed (spreadsheets leave them at the end)
        lines += 1
        if len(record) != len(header):
            errors.append(RowError(line, "file", f"{len(record)} values where the header has {len(header)} columns"))
            continue
        bad = [(header[i], problem) for i, value in enumerate(record) if (problem := control_character(value))]
        for column, problem in bad:
            errors.append(RowError(line, column, f"{problem}; remove it and import again"))
        if bad:
            continue
        row = _check_row(line, {c: unprotect_cell(record[i]) for c, i in positions.items()}, today_date, errors)
        if row is not None:
            rows.append(row)
    if lines == 0:
        errors.append(RowError(2, "file", "the file has a header line but no users"))
    return ParsedFile(name, digest, rows, errors, lines)


def parse_file(path: str | Path, today: dt.date) -> ParsedFile:
    p = Path(path)
    return parse_bytes(p.name, p.read_bytes(), today)
