"""Importing accounts and users from CSV: a preview of what would change, then all of it in one transaction.

The format and the rules are written out in the README ("Importing accounts and users"). In short:
- a new account number creates the account; a known one must keep its kind, and a new title updates it;
- a new username creates the user (opted out, with the opt-out restrictions, until they opt in);
  a known username must stay in its account with its role: a row for it changes at most the name;
- persons are matched by their identification data (date of birth, citizenship, country of residence,
  document type and number); unmatched data create a person; a name correction renames the person and
  every username of theirs;
- any error anywhere refuses the whole file; cancelling rolls everything back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypedDict, TypeVar

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from console.models import audit
from console.models.context import Actor, ServiceContext
from console.models.db import retries_conflicts
from console.models.entities import (
    Account,
    AuditEntry,
    Base,
    DeviceHolding,
    Person,
    Reserve,
    SecurityDevice,
    User,
    UserRestriction,
    table_of,
)
from console.models.enums import OPT_OUT_RESTRICTIONS, AccountKind, DeviceState, SlsState, UserRole
from console.models.errors import ConsoleError, InvalidInput
from console.models.import_format import (
    IDENTITY_COLUMNS,
    MAX_ERRORS_KEPT,
    Identity,
    ImportRow,
    ParsedFile,
    RowError,
    parse_file,
)
from console.models.permissions import Permission, require
from console.models.settings import load_figures

# Called as progress(phase, done, total); returning False asks to stop (the transaction is rolled back).
Progress = Callable[[str, int, int], "bool | None"]
CHUNK = 2000
LOOKUP_CHUNK = 500  # keys per IN (...) query; well under every backend's parameter limit
_T = TypeVar("_T")



@dataclass(frozen=True)
class PersonOnRecord:
    """A user's person is already in the database."""

    person_id: int


@dataclass(frozen=True)
class NewPerson:
    """A user's person is created by the import, from the identification data of its first line."""

    identity: Identity


PersonKey = PersonOnRecord | NewPerson


@dataclass(frozen=True)
class Retitle:
    """An account on record whose title the file changes."""

    account_id: int
    number: str
    old: str
    new: str
    line: int


@dataclass(frozen=True)
class Rename:
    """A person on record whose name the file corrects (with every username of theirs)."""

    person_id: int
    old: str
    new: str
    line: int


class _Source(TypedDict):
    """Which file an audit entry of the import came from."""

    file: str
    sha256: str


class _KnownAccount(NamedTuple):
    id: int
    kind: AccountKind
    title: str
    closed_at: dt.datetime | None = None


class ImportCancelled(ConsoleError):
    """The operator cancelled the import; nothing was written."""


class ImportRefused(InvalidInput):
    """The file has errors; nothing was written. Carries the plan with every error found."""

    def __init__(self, plan: ImportPlan) -> None:
        self.plan = plan
        first = plan.errors[0]
        more = plan.error_count - 1
        super().__init__(f"Nothing was imported: {plan.file_name} has {plan.error_count:,} "
                         f"problem{'s' if plan.error_count != 1 else ''}. First: {first}."
                         f"{f' ({more:,} more listed in the preview.)' if more else ''} "
                         f"Correct the file and import it again.")


@dataclass
class ImportPlan:
    """What importing the file would do, or why it cannot."""

    file_name: str
    sha256: str
    lines: int
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    new_accounts: list[ImportRow] = field(default_factory=list)
    retitled: list[Retitle] = field(default_factory=list)
    new_persons: dict[NewPerson, ImportRow] = field(default_factory=dict)
    renamed: list[Rename] = field(default_factory=list)
    renamed_users: int = 0
    new_users: list[tuple[ImportRow, PersonKey]] = field(default_factory=list)
    unchanged: int = 0
    account_ids: dict[str, int] = field(default_factory=dict, repr=False)  # numbers on record -> id

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def accounts_to_create(self) -> int:
        return len(self.new_accounts)

    @property
    def accounts_to_update(self) -> int:
        return len(self.retitled)

    @property
    def users_to_create(self) -> int:
        return len(self.new_users)

    @property
    def users_to_update(self) -> int:
        return self.renamed_users

    @property
    def persons_to_create(self) -> int:
        return len(self.new_persons)

    def changes(self, limit: int = MAX_ERRORS_KEPT) -> list[tuple[int, str, str]]:
        """What the import would do, line by line: (line, change, details), in line order, at most `limit`."""
        out = [(r.line, "Create account", f"{r.account_number} ({r.account_kind.value}) {r.account_title}")
               for r in self.new_accounts]
        out += [(t.line, "Change account title", f"{t.number}: {t.old!r} → {t.new!r}") for t in self.retitled]
        out += [(n.line, "Correct a name", f"{n.old!r} → {n.new!r} (the person and all their usernames)")
                for n in self.renamed]

        def whose(r: ImportRow, key: PersonKey) -> str:
            if not isinstance(key, NewPerson):
                return " (a person already on record)"
            first = self.new_persons[key].line
            return "" if first == r.line else f" (the same person as line {first})"

        out += [(r.line, "Create user", f"{r.username} {r.full_name}, {r.role.value} user of {r.account_number}"
                 + whose(r, key)) for r, key in self.new_users]
        out.sort(key=lambda c: c[0])
        return out[:limit]

    def summary(self) -> str:
        if not self.ok:
            return (f"{self.file_name}: {self.error_count:,} problem(s) in {self.lines:,} lines; "
                    f"nothing can be imported until they are corrected.")
        return (f"{self.file_name}: {self.lines:,} lines. Accounts: {self.accounts_to_create:,} to create, "
                f"{self.accounts_to_update:,} to update. Users: {self.users_to_create:,} to create, "
                f"{self.users_to_update:,} to update, {self.unchanged:,} unchanged. "
                f"Persons: {self.persons_to_create:,} to create, {len(self.renamed):,} renamed.")


@dataclass(frozen=True)
class ImportResult:
    file_name: str
    accounts_created: int
    accounts_updated: int
    users_created: int
    users_updated: int
    persons_created: int
    audit_entries: int


@dataclass(frozen=True)
class _KnownUser:
    id: int
    account_number: str
    role: UserRole
    person_id: int
    person_name: str
    identity: tuple[object, ...]  # the person's identification columns as stored (compared with Identity)


def _chunks(items: list[_T], size: int) -> Iterator[list[_T]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _report(progress: Progress | None, phase: str, done: int, total: int) -> None:
    if progress is not None and progress(phase, done, total) is False:
        raise ImportCancelled("The import was cancelled. Nothing was written; the database is as it was.")


class _Planner:
    """Checks parsed rows against each other and against the database, producing an ImportPlan."""

    def __init__(self, s: Session, parsed: ParsedFile, progress: Progress | None) -> None:
        self.s = s
        self.parsed = parsed
        self.progress = progress
        self.errors: list[RowError] = list(parsed.errors)

    def err(self, line: int, column: str, reason: str) -> None:
        self.errors.append(RowError(line, column, reason))

    def plan(self) -> ImportPlan:
        parsed = self.parsed
        plan = ImportPlan(parsed.name, parsed.sha256, parsed.lines)
        rows = self._consistent_rows(parsed.rows)
        accounts = self._accounts([r.account_number for r in rows])
        users = self._users([r.username for r in rows])
        wanted = {r.identity for r in rows if r.identity is not None and r.username not in users}
        persons = self._persons_by_identity(wanted)
        primaries = self._primary_counts([a.id for a in accounts.values()])
        plan.account_ids = {number: a.id for number, a in accounts.items()}
        self.legacy_serials: dict[str, int] = {}

        first_of_account: dict[str, ImportRow] = {}
        new_primaries: dict[str, list[int]] = {}
        person_names: dict[PersonKey, tuple[int, str]] = {}
        on_record_names: dict[int, str] = {}
        total = len(rows)
        for done, r in enumerate(rows, 1):
            if done % 5000 == 0:
                _report(self.progress, "Checking", done, total)
            first_of_account.setdefault(r.account_number, r)
            account = accounts.get(r.account_number)
            if account is not None and account.closed_at is not None:
                self.err(r.line, "account_number", f"account {r.account_number} was closed on "
                                                   f"{account.closed_at:%Y-%m-%d}; nothing is imported into it")
                continue
            if account is not None and account.kind != r.account_kind:
                self.err(r.line, "account_kind", f"account {r.account_number} is on record as "
                                                 f"{account.kind.value}; an import does not change an account's kind")
            known = users.get(r.username)
            if r.legacy is not None:
                self._check_legacy(r, known is not None)
            key: PersonKey | None
            if known is not None:
                key = self._check_known_user(r, known)
                on_record_names[known.person_id] = known.person_name
            else:
                if r.role is UserRole.primary:
                    new_primaries.setdefault(r.account_number, []).append(r.line)
                key = self._person_for_new_user(r, persons, on_record_names)
                if key is None:
                    continue
                plan.new_users.append((r, key))
                if isinstance(key, NewPerson):
                    plan.new_persons.setdefault(key, r)
            seen = person_names.setdefault(key, (r.line, r.full_name))
            if seen[1] != r.full_name:
                self.err(r.line, "full_name", f"line {seen[0]} names the same person (same identification "
                                              f"data) {seen[1]!r}, this line {r.full_name!r}; use one name")
        _report(self.progress, "Checking", total, total)

        for number, first in first_of_account.items():
            account = accounts.get(number)
            lines = new_primaries.get(number, [])
            on_record = primaries.get(account.id, 0) if account else 0
            if on_record + len(lines) > 1:
                self.err(lines[-1], "role", f"account {number} would have {on_record + len(lines)} primary users; "
                                            f"an account has exactly one (make this user secondary)")
            if account is None:
                if not lines:
                    self.err(first.line, "role", f"new account {number} needs one user with role primary")
                plan.new_accounts.append(first)
            elif account.title != first.account_title:
                plan.retitled.append(Retitle(account.id, number, account.title, first.account_title, first.line))

        for key, (line, name) in person_names.items():
            if isinstance(key, PersonOnRecord) and on_record_names.get(key.person_id, name) != name:
                plan.renamed.append(Rename(key.person_id, on_record_names[key.person_id], name, line))
        renamed_ids = [p.person_id for p in plan.renamed]
        plan.renamed_users = sum(self.s.scalar(select(func.count()).select_from(User)
                                               .where(User.person_id.in_(chunk))) or 0
                                 for chunk in _chunks(renamed_ids, LOOKUP_CHUNK))
        plan.unchanged = sum(1 for r in rows if r.username in users) - sum(
            1 for r in rows if r.username in users and users[r.username].person_id in set(renamed_ids))
        self.errors.sort()
        plan.error_count = len(self.errors)
        plan.errors = self.errors[:MAX_ERRORS_KEPT]
        return plan

    def _consistent_rows(self, rows: list[ImportRow]) -> list[ImportRow]:
        """Rows of one account must agree on it; a username appears once."""
        first_of_account: dict[str, ImportRow] = {}
        line_of_user: dict[str, int] = {}
        out = []
        for r in rows:
            first = first_of_account.setdefault(r.account_number, r)
            if r.account_kind != first.account_kind:
                self.err(r.line, "account_kind", f"line {first.line} gives account {r.account_number} the kind "
                                                 f"{first.account_kind.value}; all its lines must agree")
            if r.account_title != first.account_title:
                self.err(r.line, "account_title", f"line {first.line} gives account {r.account_number} the title "
                                                  f"{first.account_title!r}; all its lines must agree")
            if r.username in line_of_user:
                self.err(r.line, "username", f"{r.username} already appears on line {line_of_user[r.username]}")
                continue
            line_of_user[r.username] = r.line
            out.append(r)
        return out

    def _check_known_user(self, r: ImportRow, known: _KnownUser) -> PersonKey:
        if known.account_number != r.account_number:
            self.err(r.line, "account_number", f"{r.username} belongs to account {known.account_number}; "
                                               f"a username never moves to another account")
        if known.role is not r.role:
            self.err(r.line, "role", f"{r.username} is on record as a {known.role.value} user; an import does "
                                     f"not change roles (they decide who holds the security rights)")
        if r.identity is not None and r.identity != known.identity:
            column = next(c for c, a, b in zip(IDENTITY_COLUMNS, r.identity, known.identity, strict=True) if a != b)
            self.err(r.line, column, f"differs from the identification data on record for {r.username}; "
                                     f"identity changes go through account administration, not an import")
        return PersonOnRecord(known.person_id)

    def _person_for_new_user(self, r: ImportRow, persons: dict[Identity, list[tuple[int, str]]],
                             on_record_names: dict[int, str]) -> PersonKey | None:
        if r.identity is None:
            self.err(r.line, "date_of_birth", f"{r.username} is a new user and needs all five identification "
                                              f"columns (date_of_birth to id_document_number)")
            return None
        matches = persons.get(r.identity)
        if not matches:
            return NewPerson(r.identity)
        # Same identification data: the same person. Prefer the record with the same name.
        person_id, name = next((m for m in matches if m[1] == r.full_name), matches[0])
        on_record_names[person_id] = name
        return PersonOnRecord(person_id)

    # --- database look-ups, in chunks of keys -----------------------------------------------------
    def _check_legacy(self, r: ImportRow, known: bool) -> None:
        """A legacy card comes with a new user, once, under a serial not on record."""
        assert r.legacy is not None
        serial = r.legacy[1]
        if known:
            self.err(r.line, "legacy_device", f"{r.username} is already on record; legacy cards are imported with "
                                              f"new users only")
        first = self.legacy_serials.setdefault(serial, r.line)
        if first != r.line:
            self.err(r.line, "legacy_serial", f"{serial} is also on line {first}; a card has one holder here")
        elif self.s.scalar(select(SecurityDevice.id).where(SecurityDevice.serial == serial)) is not None:
            self.err(r.line, "legacy_serial", f"a device with serial {serial} is already on record")

    def _accounts(self, numbers: list[str]) -> dict[str, _KnownAccount]:
        out = {}
        for chunk in _chunks(sorted(set(numbers)), LOOKUP_CHUNK):
            for row in self.s.execute(select(Account.number, Account.id, Account.kind, Account.title,
                                             Account.closed_at).where(Account.number.in_(chunk))):
                out[row[0]] = _KnownAccount(row[1], row[2], row[3], row[4])
        return out

    def _users(self, usernames: list[str]) -> dict[str, _KnownUser]:
        out = {}
        stmt = (select(User.username, User.id, Account.number, User.role, Person.id, Person.full_name,
                       Person.date_of_birth, Person.citizenship, Person.country_of_residence,
                       Person.id_document_type, Person.id_document_number)
                .join(Account, Account.id == User.account_id).join(Person, Person.id == User.person_id))
        for chunk in _chunks(usernames, LOOKUP_CHUNK):
            for row in self.s.execute(stmt.where(User.username.in_(chunk))):
                out[row[0]] = _KnownUser(row[1], row[2], row[3], row[4], row[5], tuple(row[6:]))
        return out

    def _persons_by_identity(self, wanted: set[Identity]) -> dict[Identity, list[tuple[int, str]]]:
        if not wanted:
            return {}
        numbers = {i.id_document_number for i in wanted}
        out: dict[Identity, list[tuple[int, str]]] = {}
        # One streamed pass (document numbers are not indexed; one scan beats one per chunk of keys).
        stmt = (select(Person.id, Person.full_name, Person.date_of_birth, Person.citizenship,
                       Person.country_of_residence, Person.id_document_type, Person.id_document_number)
                .where(Person.id_document_number.is_not(None)).order_by(Person.id)
                .execution_options(yield_per=20_000))
        for row in self.s.execute(stmt):
            if row[6] in numbers:
                identity = Identity._make(row[2:])
                if identity in wanted:
                    out.setdefault(identity, []).append((row[0], row[1]))
        return out

    def _primary_counts(self, account_ids: list[int]) -> dict[int, int]:
        out = {}
        for chunk in _chunks(account_ids, LOOKUP_CHUNK):
            for account_id, n in self.s.execute(
                    select(User.account_id, func.count()).where(User.account_id.in_(chunk),
                                                                User.role == UserRole.primary)
                    .group_by(User.account_id)):
                out[account_id] = n
        return out


@retries_conflicts
class ImportService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def _parse(self, path: str | Path) -> ParsedFile:
        try:
            return parse_file(path, self.ctx.clock.now().date())
        except OSError as exc:
            raise InvalidInput(f"The file {path} could not be read ({exc.strerror or exc}). "
                               f"Check the name and that you may open it.") from None

    def preview(self, actor: Actor, path: str | Path, progress: Progress | None = None) -> ImportPlan:
        """What importing `path` would do, with every error found; changes nothing."""
        parsed = self._parse(path)
        with self.ctx.db.read() as s:
            require(s, actor, Permission.import_data)
            return _Planner(s, parsed, progress).plan()

    def apply(self, actor: Actor, path: str | Path, progress: Progress | None = None) -> ImportResult:
        """Import the whole file in one transaction, or nothing (errors, cancel, or any failure)."""
        parsed = self._parse(path)
        with self.ctx.db.write() as s:
            require(s, actor, Permission.import_data)
            # Planned again inside the write transaction: the preview may be minutes old.
            plan = _Planner(s, parsed, progress).plan()
            if not plan.ok:
                raise ImportRefused(plan)
            return _Writer(s, plan, actor, self.ctx.clock.now(), progress).write()


class _Writer:
    """Writes a checked plan with bulk inserts, reporting progress between chunks."""

    def __init__(self, s: Session, plan: ImportPlan, actor: Actor, now: dt.datetime,
                 progress: Progress | None) -> None:
        self.s, self.plan, self.actor, self.now, self.progress = s, plan, actor, now, progress
        audit_count = len(plan.new_accounts) + len(plan.retitled) + len(plan.renamed) + len(plan.new_users) + 1
        self.total = len(plan.new_persons) + len(plan.new_accounts) + len(plan.new_users) + audit_count
        self.done = 0
        self.audit_rows: list[dict[str, Any]] = []

    def _step(self, n: int) -> None:
        self.done += n
        _report(self.progress, "Writing", min(self.done, self.total), self.total)

    def _insert(self, entity: type[Base], rows: list[dict[str, Any]],
                then: Callable[[list[int]], None] | None = None) -> list[int]:
        """Insert rows with new ids, a chunk at a time; returns the ids in row order."""
        table = table_of(entity)
        conn = self.s.connection()
        if conn.dialect.name == "sqlite":
            # SQLite cannot return the ids of a multi-row insert in order (SQLAlchemy would go row by row).
            # The write transaction began IMMEDIATE and holds the only write lock: ids after max(id) are ours.
            next_id = (conn.scalar(select(func.max(table.c.id))) or 0) + 1

            def take(n: int) -> list[int]:
                nonlocal next_id
                next_id += n
                return list(range(next_id - n, next_id))
        else:
            # PostgreSQL: ids from the table's own sequence, so other desks' inserts never collide.
            seq = conn.scalar(select(func.pg_get_serial_sequence(table.name, "id")))

            def take(n: int) -> list[int]:
                return list(conn.scalars(select(func.nextval(seq)).select_from(func.generate_series(1, n))))
        ids: list[int] = []
        for chunk in _chunks(rows, CHUNK):
            chunk_ids = take(len(chunk))
            self._bulk(table, [{**row, "id": i} for row, i in zip(chunk, chunk_ids, strict=True)])
            if then is not None:
                then(chunk_ids)
            ids.extend(chunk_ids)
            self._step(len(chunk))
        return ids

    def _bulk(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """Many rows of one shape: executemany on SQLite, COPY on PostgreSQL (its multi-row INSERTs are slow
        to build: 10,000 users took 10 s that way)."""
        if not rows:
            return
        conn = self.s.connection()
        if conn.dialect.name != "postgresql":
            conn.execute(insert(table), rows)
            return
        columns = list(rows[0])
        processors = [table.c[c].type.bind_processor(conn.dialect) for c in columns]
        names = ", ".join(conn.dialect.identifier_preparer.quote(c) for c in columns)
        driver_connection = conn.connection.dbapi_connection
        assert driver_connection is not None  # the session's connection is checked out, so it is open
        cursor: Any = driver_connection.cursor()
        with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([p(row[c]) if p else row[c] for c, p in zip(columns, processors, strict=True)])

    def _audit(self, action: str, summary: str, account_id: int | None = None, user_id: int | None = None,
               **details: object) -> None:
        self.audit_rows.append({"at": self.now, "actor": self.actor.username, "action": action,
                                "summary": summary, "account_id": account_id, "user_id": user_id,
                                "details": details})

    def write(self) -> ImportResult:
        plan, now = self.plan, self.now
        source = _Source(file=plan.file_name, sha256=plan.sha256)
        _report(self.progress, "Writing", 0, self.total)

        person_keys = list(plan.new_persons)
        person_rows = [{**key.identity._asdict(), "full_name": plan.new_persons[key].full_name}
                       for key in person_keys]
        person_id = dict(zip(person_keys, self._insert(Person, person_rows), strict=True))

        account_rows = [{"number": r.account_number, "kind": r.account_kind, "title": r.account_title,
                         "equity_cents": 0, "created_at": now, "version": 1} for r in plan.new_accounts]
        account_ids = self._insert(Account, account_rows)
        account_id = dict(zip((r.account_number for r in plan.new_accounts), account_ids, strict=True))
        for r, new_id in zip(plan.new_accounts, account_ids, strict=True):
            self._audit("account.imported", f"Account {r.account_number} ({r.account_kind.value}) imported",
                        new_id, line=r.line, **source)
        account_id.update(plan.account_ids)

        for t in plan.retitled:
            self._audit("account.retitled", f"Account {t.number} title changed by import", t.account_id,
                        old=t.old, new=t.new, **source)
        if plan.retitled:
            table = table_of(Account)
            self.s.connection().execute(
                update(table).where(table.c.id == bindparam("b_id"))
                .values(title=bindparam("b_title"), version=table.c.version + 1),
                [{"b_id": t.account_id, "b_title": t.new} for t in plan.retitled])
        self._rename_persons(source)

        new_users = plan.new_users
        user_rows = [{"username": r.username, "full_name": r.full_name, "name_key": r.full_name.lower(),
                      "account_id": account_id[r.account_number],
                      "person_id": person_id[key] if isinstance(key, NewPerson) else key.person_id,
                      "role": r.role, "sls_state": SlsState.opted_out, "active_devices": 0,
                      "created_at": now, "version": 1} for r, key in new_users]
        legacy_users = {r.username for r, _key in new_users if r.legacy is not None}
        for row in user_rows:
            if row["username"] in legacy_users:  # enrolled with the card they hold
                row.update(sls_state=SlsState.enrolled, active_devices=1)
        self.restricted = {i for i, (r, _key) in enumerate(new_users) if r.legacy is None}
        self.user_index = 0
        user_ids = self._insert(User, user_rows, self._restrict)
        account_ids_of_users = [account_id[r.account_number] for r, _ in new_users]
        for (r, _), uid, account_of_user in zip(new_users, user_ids, account_ids_of_users, strict=True):
            self._audit("user.imported", f"{r.username} imported into {r.account_number} as {r.role.value} user; "
                                         + ("enrolled with the legacy card it holds" if r.legacy else
                                            "opted out with restrictions until they opt in"),
                        account_of_user, uid, line=r.line, **source)

        holders = [(r, uid) for (r, _), uid in zip(new_users, user_ids, strict=True) if r.legacy is not None]
        self._legacy_devices(holders, account_id, source)
        result = ImportResult(plan.file_name, len(plan.new_accounts), len(plan.retitled), len(new_users),
                              plan.renamed_users, len(plan.new_persons), len(self.audit_rows) + 1)
        self._audit("import.completed", f"Imported {plan.file_name}: {result.accounts_created} accounts created, "
                                        f"{result.accounts_updated} updated, {result.users_created} users "
                                        f"created, {result.users_updated} updated", None, None,
                    lines=plan.lines, persons_created=result.persons_created, **source)
        for chunk in _chunks(audit.chain_rows(self.s, self.audit_rows), CHUNK):
            self._bulk(table_of(AuditEntry), chunk)
            self._step(len(chunk))
        return result

    def _restrict(self, user_ids: list[int]) -> None:
        # Imported users have no device yet: they carry the opt-out restrictions until they opt in (those
        # imported with a legacy card are enrolled with it instead).
        first = self.user_index
        self.user_index += len(user_ids)
        self._bulk(table_of(UserRestriction), [
            {"user_id": uid, "restriction": r, "imposed_at": self.now, "lifted_at": None}
            for i, uid in enumerate(user_ids, first) if i in self.restricted for r in OPT_OUT_RESTRICTIONS])

    def _legacy_devices(self, rows: list[tuple[ImportRow, int]], account_id: dict[str, int],
                        source: _Source) -> None:
        """Each legacy card active, held by its user (preferred), its fee held as a reserve; audited."""
        cards = [(r, r.legacy[0], r.legacy[1], uid, account_id[r.account_number])
                 for r, uid in rows if r.legacy is not None]
        if not cards:
            return
        fee = load_figures(self.s).legacy_device_fee_cents
        device_rows: list[dict[str, object]] = [
            {"kind": kind, "serial": serial, "state": DeviceState.active, "account_id": acc, "issued_at": self.now,
             "activated_at": self.now, "failed_attempts": 0, "locked": False, "version": 1}
            for _r, kind, serial, _uid, acc in cards]
        device_ids = self._insert(SecurityDevice, device_rows)
        self._bulk(table_of(DeviceHolding), [{"user_id": uid, "device_id": did, "preferred": True, "since": self.now}
                                             for (_r, _k, _s, uid, _a), did in zip(cards, device_ids, strict=True)])
        self._bulk(table_of(Reserve), [{"account_id": acc, "device_id": did, "amount_cents": fee,
                                        "held_at": self.now, "released_at": None}
                                       for (_r, _k, _s, _u, acc), did in zip(cards, device_ids, strict=True)])
        for (r, kind, serial, uid, acc), did in zip(cards, device_ids, strict=True):
            self.audit_rows.append({"at": self.now, "actor": self.actor.username, "action": "device.imported",
                                    "summary": f"{kind.label} {serial} imported as held by {r.username}; reserve of "
                                               f"{fee / 100:,.2f} USD held; {r.username} enrolled with it",
                                    "account_id": acc, "user_id": uid, "device_id": did,
                                    "details": {"line": r.line, "fee_cents": fee, **source}})

    def _rename_persons(self, source: _Source) -> None:
        if not self.plan.renamed:
            return
        conn = self.s.connection()
        p, u = table_of(Person), table_of(User)
        conn.execute(update(p).where(p.c.id == bindparam("b_id")).values(full_name=bindparam("b_name")),
                     [{"b_id": n.person_id, "b_name": n.new} for n in self.plan.renamed])
        conn.execute(update(u).where(u.c.person_id == bindparam("b_id"))
                     .values(full_name=bindparam("b_name"), name_key=bindparam("b_key"), version=u.c.version + 1),
                     [{"b_id": n.person_id, "b_name": n.new, "b_key": n.new.lower()} for n in self.plan.renamed])
        for n in self.plan.renamed:
            self._audit("person.renamed", f"Name {n.old!r} corrected to {n.new!r} by import (all their usernames)",
                        person_id=n.person_id, old=n.old, new=n.new, **source)


def write_sample(rows: Iterable[dict[str, str]], path: str | Path) -> None:
    """Write rows (dicts keyed by the import columns) as an import file; used by the sample and the benchmark."""
    import csv

    from console.models.import_format import COLUMNS

    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
