"""Reading users: filtered, sorted windows for the list, counts per state, and one user's details."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVarTuple

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Row,
    Select,
    SQLColumnExpression,
    and_,
    column,
    func,
    literal_column,
    or_,
    select,
    table,
    union,
)
from sqlalchemy.orm import Session

from console.models import user_index
from console.models.arguments import checked_arguments
from console.models.context import ServiceContext
from console.models.db import is_row_id
from console.models.device_list import due_date
from console.models.device_rules import mask_phone
from console.models.entities import (
    Account,
    AuditEntry,
    AuditHead,
    DeviceHolding,
    SecurityDevice,
    User,
    UserAccountNumber,
    UserRestriction,
    UserStateCount,
    UserWord,
)
from console.models.enums import DeviceKind, DeviceState, Restriction, SlsState, UserRole
from console.models.limits import UserLimits, user_limits
from console.models.lookups import existing_user
from console.models.rights import rights_holder
from console.models.settings import load_figures

_Ts = TypeVarTuple("_Ts")
# A user's row for the list (see _ROW_COLUMNS).
_UserRecord = Row[int, str, str, str, UserRole, SlsState, int, str]
_RowSelect = Select[int, str, str, str, UserRole, SlsState, int, str]

SORT_COLUMNS = {
    "username": User.username,
    "full_name": User.name_key,
    "account": Account.number,
    "role": User.role,
    "sls_state": User.sls_state,
    "active_devices": User.active_devices,
}

# Where each sort key sits in a row of _ROW_COLUMNS.
_KEY_INDEX = {"username": 1, "full_name": 7, "account": 3, "role": 4, "sls_state": 5, "active_devices": 6}


@dataclass(frozen=True)
class UserQuery:
    """What the list shows: a text filter (username or account prefix, any word of the name, or a substring),
    a state, a sort."""

    text: str = ""
    state: SlsState | None = None
    sort: str = "username"
    descending: bool = False
    # Match the text anywhere in the username or name (3 characters or more; shorter text matches prefixes).
    contains: bool = False

    def normalized_text(self) -> str:
        return re.sub(r"\s+", " ", searchable(self.text).strip().lower())[:MAX_FILTER_TEXT]


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    full_name: str
    account_number: str
    role: UserRole
    sls_state: SlsState
    active_devices: int
    restrictions: tuple[Restriction, ...] = ()


@dataclass(frozen=True)
class DeviceSummary:
    id: int
    kind_label: str
    serial: str | None
    state: DeviceState
    preferred: bool
    locked: bool
    shared_with: tuple[str, ...]
    activated_at: dt.datetime | None
    expires_at: dt.datetime | None
    return_due_at: dt.datetime | None
    activation_due_at: dt.datetime | None = None
    due_passed: bool = False  # the date in due_at is in the past (as the Devices window marks it)
    required_at_login_since: dt.datetime | None = None  # mailed, not activated in time: required at login
    version: int = 0  # sent back with a write, so a change made at another desk since is refused
    kind: DeviceKind | None = None  # what the device is (the label says it to the agent)

    @property
    def state_label(self) -> str:
        if self.state is DeviceState.shipped and self.required_at_login_since is not None:
            return "Shipped · required at login"
        return self.state.label

    @property
    def due_at(self) -> dt.datetime | None:
        return due_date(self.state, self.activation_due_at, self.return_due_at)

    @property
    def in_use(self) -> bool:
        """Still with the user (active, waiting for its first code, or on its way); else device history."""
        return self.state in IN_USE_STATES


IN_USE_STATES = frozenset({DeviceState.active, DeviceState.pending, DeviceState.shipped})


@dataclass(frozen=True)
class AuditLine:
    id: int
    at: dt.datetime
    actor: str
    action: str
    summary: str


@dataclass(frozen=True)
class UserDetails:
    id: int
    username: str
    full_name: str
    role: UserRole
    sls_state: SlsState
    account_id: int
    account_number: str
    account_kind: str
    account_title: str
    rights_holder_name: str | None
    rights_holder_username: str | None
    holds_rights: bool
    version: int
    devices: tuple[DeviceSummary, ...] = ()
    restrictions: tuple[Restriction, ...] = ()
    recent_audit: tuple[AuditLine, ...] = field(default_factory=tuple)
    limits: UserLimits | None = None  # withdrawal limits from its devices (limits.py)


MAX_FILTER_TEXT = 200


def searchable(text: str) -> str:
    """Text as the database can compare it: without control characters (NUL is refused by PostgreSQL),
    lone surrogates (not encodable) or unassigned code points (no name contains them)."""
    return "".join(ch for ch in (text or "") if unicodedata.category(ch) not in ("Cc", "Cs", "Cn"))


def _next_prefix(prefix: str) -> str:
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def prefix_range(column: SQLColumnExpression[str], prefix: str) -> ColumnElement[bool]:
    """`column` starts with `prefix`, as an index range (LIKE would scan, see docs/platform-notes.md)."""
    return and_(column >= prefix, column < _next_prefix(prefix))


SUBSTRING_MIN = 3  # trigrams: shorter substrings cannot use the index, and match most of the list anyway


_FTS = table("users_fts", column("rowid"))


def _fts_matches(stmt: Select[*_Ts], text: str) -> Select[*_Ts]:
    # The FTS5 trigram table (migration 0003): a quoted phrase matches it as a plain substring.
    phrase = '"' + text.replace('"', '""') + '"'
    return stmt.where(literal_column("users_fts").op("MATCH")(phrase))


WORD_START_MIN = 2  # one letter would match a fifth of all users by their names' words alone


# The SQL for text searches differs per database; both choices live here. SQLite: the FTS5 trigram table.
# PostgreSQL: LIKE on the lower-cased columns, served by pg_trgm GIN indexes where installed.
def _substring_condition(text: str, dialect: str) -> ColumnElement[bool]:
    """The username or the name contains `text` anywhere."""
    if dialect == "sqlite":
        return User.id.in_(_fts_matches(select(_FTS.c.rowid), text).scalar_subquery())
    return or_(User.username.contains(text, autoescape=True), User.name_key.contains(text, autoescape=True))


def _words_starting(text: str) -> Select[str, int]:
    """(username, user id) of the users with a word of the name starting with `text` (one word): one range of
    user_words' key, on both databases."""
    return select(UserWord.username, UserWord.user_id).where(prefix_range(UserWord.word, text))


def _word_start_condition(text: str, dialect: str) -> ColumnElement[bool]:
    """A word of the name starts with `text` ("tanaka" finds "hiro tanaka"); text of several words matches
    them in a row from the start of any word ("jane s" finds "mary jane smith")."""
    if " " not in text:
        return User.id.in_(_words_starting(text).with_only_columns(UserWord.user_id).scalar_subquery())
    if dialect == "sqlite":
        return User.id.in_(_fts_matches(select(_FTS.c.rowid), " " + text).scalar_subquery())
    return User.name_key.contains(" " + text, autoescape=True)


ACCOUNT_TEXT = re.compile(r"u?\d+")  # "u123", "U123" or "6870226": account numbers are U and digits


def account_number_prefix(text: str) -> str | None:
    """The account-number prefix a filter text stands for, with its U ("6870226" -> "U6870226"), or None."""
    if not text or not ACCOUNT_TEXT.fullmatch(text.lower()):
        return None
    return "U" + text.lower().removeprefix("u")


def _text_condition(text: str, contains: bool = False, dialect: str = "sqlite") -> ColumnElement[bool] | None:
    """Username prefix, account number (with or without its U), or the start of any word of the name;
    `contains` widens it to the text anywhere in the username or name."""
    if not text:
        return None
    if contains and len(text) >= SUBSTRING_MIN:
        return _substring_condition(text, dialect)
    conditions = [prefix_range(User.username, text), prefix_range(User.name_key, text)]
    if len(text) >= WORD_START_MIN:
        conditions.append(_word_start_condition(text, dialect))
    number = account_number_prefix(text)
    if number is not None:
        accounts = select(Account.id).where(prefix_range(Account.number, number))
        conditions.append(User.account_id.in_(accounts.scalar_subquery()))
    return or_(*conditions)


class _Arm(NamedTuple):
    """One index range of Find's default search: (username, user id) rows, and its username column."""

    rows: Select[str, int]
    username: SQLColumnExpression[str]


def _found_by_name(query: UserQuery) -> list[_Arm] | None:
    """For Find's default search of one word without a state filter: the index ranges whose union is every
    user it finds (username prefix, words of the name, account number), none of which reads the users table
    for the words' or the account numbers' matches. Counted, or read in username order by key, from these
    ranges alone: thousands of Smiths cost a few milliseconds, not a read of each Smith's row. None for other
    queries."""
    text = query.normalized_text()
    if query.state is not None or " " in text or len(text) < WORD_START_MIN or (
            query.contains and len(text) >= SUBSTRING_MIN):
        return None
    # The words include the first: the name's prefix needs no range of its own.
    arms = [_Arm(select(User.username, User.id).where(prefix_range(User.username, text)), User.username),
            _Arm(_words_starting(text), UserWord.username)]
    number = account_number_prefix(text)
    if number is not None:
        arms.append(_Arm(select(UserAccountNumber.username, UserAccountNumber.user_id)
                         .where(prefix_range(UserAccountNumber.number, number)), UserAccountNumber.username))
    return arms


def _found_count(arms: list[_Arm], dialect: str = "sqlite") -> Select[int]:
    if dialect == "postgresql":  # duplicates removed on the ids alone: half the hashing of (username, id)
        ids = union(*(arm.rows.with_only_columns(arm.rows.selected_columns[1]) for arm in arms))
        return select(func.count()).select_from(ids.subquery())
    return select(func.count()).select_from(union(*(arm.rows for arm in arms)).subquery())


def _found_window(arms: list[_Arm], after: str | None, ascending: bool, skip: int, limit: int,
                  dialect: str = "sqlite") -> CompoundSelect[str, int]:
    """(username, id) in username order from `after` (included; usernames are unique), as one compound
    SELECT whose ORDER BY and LIMIT each range serves itself: SQLite keeps only the first rows of each while
    merging (a tenth of sorting the whole union). PostgreSQL hashes the whole union before sorting it, so
    there each range is cut to its own first skip + limit rows first (the union's first rows are among them)."""
    rows = [arm.rows if after is None else arm.rows.where(arm.username >= after if ascending
                                                          else arm.username <= after) for arm in arms]
    name: ColumnElement[str] = literal_column("username")
    user_id: ColumnElement[int] = literal_column("id")
    order: list[ColumnElement[Any]] = [name, user_id] if ascending else [name.desc(), user_id.desc()]
    if dialect == "postgresql":
        rows = [r.order_by(*(c if ascending else c.desc() for c in r.selected_columns)).limit(skip + limit)
                for r in rows]
    return union(*rows).order_by(*order).offset(skip).limit(limit)


def filtered(stmt: Select[*_Ts], query: UserQuery, with_state: bool = True, dialect: str = "sqlite",
             state_by_index: bool = True) -> Select[*_Ts]:
    """`stmt` limited to the users `query` lists (its text and, unless with_state is False, its state)."""
    cond = _text_condition(query.normalized_text(), query.contains, dialect)
    if cond is not None:
        stmt = stmt.where(cond)
    if with_state and query.state is not None:
        state: SQLColumnExpression[SlsState] = User.sls_state
        if not state_by_index and dialect == "sqlite":
            # Unary + keeps SQLite off the state index, so it walks accounts in number order instead of
            # sorting every user in that state.
            state = literal_column("+users.sls_state", User.sls_state.type)
        stmt = stmt.where(state == query.state)
    return stmt


def plain_window_statement(query: UserQuery, offset: int, limit: int, dialect: str = "sqlite") -> _RowSelect:
    """The reference: what window() must return, as one ORDER BY ... LIMIT ... OFFSET (slow far down)."""
    key = SORT_COLUMNS[query.sort]
    order = [key.desc(), User.id.desc()] if query.descending else [key, User.id]
    return filtered(_ROW_SELECT, query, dialect=dialect).order_by(*order).offset(offset).limit(limit)


_ROW_COLUMNS = (User.id, User.username, User.full_name, Account.number, User.role, User.sls_state,
                User.active_devices, User.name_key)  # name_key last: the full_name sort key, not shown
_ROW_SELECT: _RowSelect = select(*_ROW_COLUMNS).join(Account, Account.id == User.account_id)
# The directory's freshness signature in one statement: the audit head and the users per state.
_FRESHNESS = select(select(AuditHead.last_id).where(AuditHead.id == 1).scalar_subquery(),
                    *(select(UserStateCount.users).where(UserStateCount.sls_state == state).scalar_subquery()
                      for state in SlsState))
_ANCHORS_PER_QUERY = 4000  # known (offset -> sort key) positions kept per query; two per window read
_QUERIES_CACHED = 16
_SKIP_DIRECT = 1000  # a window this far down with no count yet: count first, so the end can be a start


class _Position(NamedTuple):
    """A user's place in a sort order: its sort key, then its id (which breaks ties)."""

    key: Any
    user_id: int


@dataclass
class _Positions:
    """What one query has taught us: sort keys at known offsets, and its row count once counted."""

    anchors: dict[int, _Position] = field(default_factory=dict)
    total: int | None = None


@checked_arguments
class UserDirectory:
    """Users for the list: windows at any offset, counts, details. Safe to share between threads.

    window() returns exactly the rows of `ORDER BY <sort>, id LIMIT n OFFSET k` (plain_window_statement),
    but reads them by key: from the nearest position it already knows (earlier windows, the start, or the
    end when the count is known), so scrolling, paging and jumping to the last row cost the same at row
    10 and row 1,000,000. Known positions are forgotten when the data changes (audit head or user counts
    move) or when invalidate() is called.
    """

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self._dialect = ctx.db.engine.dialect.name
        self._lock = threading.Lock()
        self._positions: OrderedDict[UserQuery, _Positions] = OrderedDict()
        self._counts: dict[UserQuery, dict[SlsState, int]] = {}
        self._signature: tuple[object, ...] | None = None
        self._repaired = False
        self._active: dict[int, Any] = {}  # thread id -> driver connection of the read it runs

    # --- reads that another thread may interrupt -------------------------------------------------
    @contextlib.contextmanager
    def _reading(self) -> Iterator[Session]:
        """A read session whose running statement interrupt_reads() can stop from another thread, from its
        first statement (the session check) on."""
        with self.ctx.db.read() as s:
            me = threading.get_ident()
            with self._lock:
                self._active[me] = s.connection().connection.driver_connection
            try:
                self.ctx.check_reader(s)
                self._check_fresh(s)
                yield s
            finally:
                with self._lock:
                    self._active.pop(me, None)

    def interrupt_reads(self, thread_id: int) -> bool:
        """Stop the statement a thread's read is running (a superseded search): it fails at once with the
        driver's error. Only a read still in progress can be hit: the lock keeps that read from ending,
        and so the thread's next read from starting, while the interrupt is sent."""
        with self._lock:
            raw = self._active.get(thread_id)
            if raw is None:
                return False
            stop = getattr(raw, "interrupt", None) or getattr(raw, "cancel_safe", None) or raw.cancel
            try:
                stop()
            except Exception:  # nothing running, or the server could not be reached: the result is ignored anyway
                return False
            return True

    # --- cache upkeep ----------------------------------------------------------------------------
    def invalidate(self) -> None:
        """Forget every known position and count (e.g. after this desk changed users)."""
        with self._lock:
            self._positions.clear()
            self._counts.clear()

    def _check_fresh(self, s: Session) -> None:
        # One statement of primary-key reads: every security change moves the audit head, every insert/delete
        # the counts.
        if not self._repaired:
            self._repaired = True
            user_index.repair_if_needed(self.ctx.db)
        signature = tuple(s.execute(_FRESHNESS).one())
        with self._lock:
            if signature != self._signature:
                self._signature = signature
                self._positions.clear()
                self._counts.clear()

    def _positions_for(self, query: UserQuery) -> _Positions:
        with self._lock:
            pos = self._positions.get(query)
            if pos is None:
                pos = self._positions[query] = _Positions()
                while len(self._positions) > _QUERIES_CACHED:
                    self._positions.popitem(last=False)
            else:
                self._positions.move_to_end(query)
            return pos

    # --- counts ----------------------------------------------------------------------------------
    def count(self, query: UserQuery) -> int:
        with self._reading() as s:
            return self._count(s, query)

    def _count(self, s: Session, query: UserQuery) -> int:
        pos = self._positions_for(query)
        if pos.total is None:
            key = UserQuery(text=query.normalized_text(), contains=query.contains)
            with self._lock:
                counts = self._counts.get(key)
            substring = key.contains and len(key.text) >= SUBSTRING_MIN
            found = _found_by_name(query)
            if counts is None and found is not None:
                total = s.scalar(_found_count(found, self._dialect))
            elif counts is None and substring and query.state is None and self._dialect == "sqlite":
                # Counted in the substring index alone: ~3 ms where joining the users takes ~40 ms.
                total = s.scalar(_fts_matches(select(func.count()).select_from(_FTS), key.text))
            elif counts is None and _text_condition(key.text, key.contains, self._dialect) is not None:
                # A plain count: SQLite answers it from the index ranges' row ids alone, without reading
                # rows (the per-state counts need each row's state and can follow later).
                total = s.scalar(filtered(select(func.count()).select_from(User), query, dialect=self._dialect))
            else:
                counts = counts or self._counts_by_state(s, query)
                total = counts[query.state] if query.state is not None else sum(counts.values())
            pos.total = total or 0
        return pos.total

    def first_rows(self, query: UserQuery, limit: int) -> tuple[int, list[UserRow]]:
        """count(query) and window(query, 0, limit) in one read: what a new search shows first."""
        _check_window(query, 0, limit)
        with self._reading() as s:
            total = self._count(s, query)
            return total, self._rows(s, query, 0, limit)

    def counts_by_state(self, query: UserQuery = UserQuery()) -> dict[SlsState, int]:
        """Users per SLS state under the query's text filter (its state filter is ignored).

        Without a text filter: the trigger-kept table, one tiny read. With one: a count over the filter's
        index ranges, cached per text until the data changes, so each keystroke counts at most once.
        """
        with self._reading() as s:
            return dict(self._counts_by_state(s, query))

    def _counts_by_state(self, s: Session, query: UserQuery) -> dict[SlsState, int]:
        key = UserQuery(text=query.normalized_text(), contains=query.contains)
        with self._lock:
            cached = self._counts.get(key)
        if cached is not None:
            return cached
        counts = {state: 0 for state in SlsState}
        if _text_condition(key.text, key.contains, self._dialect) is None:
            counts.update({st: n for st, n in s.execute(select(UserStateCount.sls_state, UserStateCount.users))})
        else:
            found = _found_by_name(key)
            if found is not None:  # the rows of the users found, by primary key (not every name's ranges again)
                ids = union(*(arm.rows for arm in found)).subquery()
                stmt = (select(User.sls_state, func.count()).where(User.id.in_(select(ids.c.id)))
                        .group_by(User.sls_state))
            else:
                stmt = filtered(select(User.sls_state, func.count()).group_by(User.sls_state), key, False,
                                self._dialect)
            counts.update({st: n for st, n in s.execute(stmt)})
        with self._lock:
            if len(self._counts) > 64:
                self._counts.clear()
            self._counts[key] = counts
        return counts

    # --- windows ---------------------------------------------------------------------------------
    def without_active_device(self, offset: int = 0, limit: int = 100) -> list[UserRow]:
        """For work lists: users whose last device or temporary access ended (state "No active device"),
        by username. Staff issue temporary access or start an opt-in for each (docs/rules.md)."""
        return self.window(UserQuery(state=SlsState.no_device), offset, limit)

    def window(self, query: UserQuery, offset: int, limit: int) -> list[UserRow]:
        """Rows offset .. offset+limit-1 of the query's order (fewer at the end)."""
        _check_window(query, offset, limit)
        with self._reading() as s:
            return self._rows(s, query, offset, limit)

    def _rows(self, s: Session, query: UserQuery, offset: int, limit: int) -> list[UserRow]:
        rows = self._window(s, query, offset, limit) if limit else []
        restrictions = _restrictions_of(s, [r[0] for r in rows])
        return [UserRow(r.id, r.username, r.full_name, r.number, r.role, r.sls_state, r.active_devices,
                        restrictions=restrictions.get(r.id, ())) for r in rows]

    def _window(self, s: Session, query: UserQuery, offset: int, limit: int) -> list[_UserRecord]:
        pos = self._positions_for(query)
        total = pos.total
        if total is None and offset > _SKIP_DIRECT:
            total = self._count(s, query)  # lets the end serve as a starting point
        if total is not None:
            if offset >= total:
                return []
            limit = min(limit, total - offset)
        last = offset + limit - 1
        # Starting points, as (rows to skip, anchor offset or None for an end, direction); anchors inclusive.
        plans: list[tuple[int, int | None, int]] = [(offset, None, +1)]
        if total is not None:
            plans.append((total - 1 - last, None, -1))
        with self._lock:
            anchors = dict(pos.anchors)
        for known in anchors:
            if known <= offset:
                plans.append((offset - known, known, +1))
            elif known >= last:
                plans.append((known - last, known, -1))
        skip, start, direction = min(plans, key=lambda p: p[0])
        keys = self._keys(s, query, anchors.get(start) if start is not None else None, direction, skip, limit)
        if direction < 0:
            keys.reverse()
        # Then the rows themselves, for this window only.
        found = {r.id: r for r in s.execute(_ROW_SELECT.where(User.id.in_([p.user_id for p in keys])))}
        rows = [found[p.user_id] for p in keys if p.user_id in found]
        if keys:
            self._remember(pos, offset, keys[0])
            self._remember(pos, offset + len(keys) - 1, keys[-1])
        if len(keys) < limit and direction > 0 and (keys or offset == 0):
            with self._lock:
                pos.total = offset + len(keys)
        return rows

    def _keys(self, s: Session, query: UserQuery, anchor: _Position | None, direction: int, skip: int,
              limit: int) -> list[_Position]:
        """(sort key, id) of `limit` users after skipping `skip`, from `anchor` (included) or from an end,
        reading forward (direction > 0) or backward. Reads only the sort index (covering), never whole rows."""
        key = SORT_COLUMNS[query.sort]
        ascending = (direction > 0) != query.descending
        found = _found_by_name(query) if query.sort == "username" else None
        if found is not None:  # Find's default search, read from its index ranges alone
            after = str(anchor.key) if anchor is not None else None
            return [_Position(*r) for r in s.execute(_found_window(found, after, ascending, skip, limit,
                                                                    self._dialect))]
        base = select(key, User.id)
        if query.sort == "account":
            base = base.join(Account, Account.id == User.account_id)
        base = filtered(base, query, dialect=self._dialect, state_by_index=query.sort != "account")
        order = [key, User.id] if ascending else [key.desc(), User.id.desc()]
        if anchor is None:
            if query.sort == "account":
                # An always-true range steers SQLite to walk accounts by number (else it sorts every user).
                base = base.where(key >= "")
            return [_Position(*r) for r in s.execute(base.order_by(*order).offset(skip).limit(limit))]
        k, uid = anchor
        # Users sharing the anchor's key first, as a seek on (key = k, id range): a single range on the key
        # would walk the whole tie from its start (800,000 users share the state "enrolled").
        tie = base.where(key == k, User.id >= uid if ascending else User.id <= uid)
        out = [_Position(*r) for r in s.execute(tie.order_by(User.id if ascending else User.id.desc())
                                            .offset(skip).limit(limit))]
        if len(out) < limit:
            if out:
                rest_skip = 0
            else:  # the tie ended before the skip did: how far before
                rest_skip = skip - (s.scalar(select(func.count()).select_from(tie.subquery())) or 0)
            beyond = base.where(key > k if ascending else key < k).order_by(*order)
            out += [_Position(*r) for r in s.execute(beyond.offset(max(rest_skip, 0)).limit(limit - len(out)))]
        return out

    def offset_of(self, query: UserQuery, user_id: int) -> int | None:
        """Where a user sits in the query's order (None when the query does not list it): two index counts."""
        if not is_row_id(user_id):
            return None
        key = SORT_COLUMNS[query.sort]
        base = select(key, User.id)
        counting = select(func.count()).select_from(User)
        if query.sort == "account":
            base = base.join(Account, Account.id == User.account_id)
            counting = counting.join(Account, Account.id == User.account_id)
        with self._reading() as s:
            found = s.execute(filtered(base, query, dialect=self._dialect).where(User.id == user_id)).first()
            if found is None:
                return None
            k, uid = found
            counting = filtered(counting, query, dialect=self._dialect)
            if query.descending:
                before = (key > k), and_(key == k, User.id > uid)
            else:
                before = (key < k), and_(key == k, User.id < uid)
            return sum(s.scalar(counting.where(cond)) or 0 for cond in before)

    def _remember(self, pos: _Positions, at: int, key: _Position) -> None:
        with self._lock:
            if len(pos.anchors) >= _ANCHORS_PER_QUERY:
                pos.anchors.clear()
            pos.anchors[at] = key

    def details(self, user_id: int, audit_limit: int = 15) -> UserDetails:
        with self.ctx.read() as s:
            user = existing_user(s, user_id)
            account = user.account
            holder = rights_holder(s, account)
            devices = tuple(_device_summaries(s, user, self.ctx.clock.now()))
            audit = tuple(AuditLine(e.id, e.at, e.actor, e.action, e.summary) for e in s.scalars(
                select(AuditEntry).where(AuditEntry.user_id == user.id)
                .order_by(AuditEntry.id.desc()).limit(audit_limit)))
            return UserDetails(
                id=user.id, username=user.username, full_name=user.full_name, role=user.role,
                sls_state=user.sls_state, account_id=account.id, account_number=account.number,
                account_kind=account.kind.value, account_title=account.title,
                rights_holder_name=holder.full_name if holder else None,
                rights_holder_username=holder.username if holder else None,
                holds_rights=holder is not None and holder.id == user.id, version=user.version,
                devices=devices, restrictions=_restrictions_of(s, [user.id]).get(user.id, ()),
                recent_audit=audit, limits=user_limits(s, user, load_figures(s), self.ctx.clock.now()))

    def find_by_username(self, username: str) -> int | None:
        name = (username or "").strip().lower()
        if not name or searchable(name) != name or len(name) > 64:
            return None  # no username holds such characters
        with self.ctx.read() as s:
            return s.scalar(select(User.id).where(User.username == name))


def _check_window(query: UserQuery, offset: int, limit: int) -> None:
    if query.sort not in SORT_COLUMNS:
        raise ValueError(f"unknown sort column {query.sort!r}")
    if offset < 0 or limit < 0:
        raise ValueError("offset and limit must not be negative")


def _restrictions_of(s: Session, user_ids: list[int]) -> dict[int, tuple[Restriction, ...]]:
    if not user_ids:
        return {}
    out: dict[int, list[Restriction]] = {}
    for uid, r in s.execute(select(UserRestriction.user_id, UserRestriction.restriction)
                            .where(UserRestriction.user_id.in_(user_ids), UserRestriction.lifted_at.is_(None))
                            ):
        out.setdefault(uid, []).append(r)
    order = list(Restriction)
    return {k: tuple(sorted(v, key=order.index)) for k, v in out.items()}


def _device_summaries(s: Session, user: User, now: dt.datetime) -> Iterator[DeviceSummary]:
    holdings = s.scalars(select(DeviceHolding).where(DeviceHolding.user_id == user.id)
                         .order_by(DeviceHolding.preferred.desc(), DeviceHolding.since)).all()
    # In use first, then the device history, each in the order above.
    holdings = sorted(holdings, key=lambda h: h.device.state not in IN_USE_STATES)
    for h in holdings:
        d: SecurityDevice = h.device
        others = s.scalars(select(User.username).join(DeviceHolding, DeviceHolding.user_id == User.id)
                           .where(DeviceHolding.device_id == d.id, User.id != user.id)
                           .order_by(User.username)).all()
        due = due_date(d.state, d.activation_due_at, d.return_due_at)
        # An SMS device has no serial; its number, partly hidden, tells it apart.
        serial = d.serial or (mask_phone(d.phone) if d.phone else None)
        yield DeviceSummary(d.id, d.kind.label, serial, d.state, h.preferred, d.locked, tuple(others),
                            d.activated_at, d.expires_at, d.return_due_at, d.activation_due_at,
                            due is not None and due < now, d.required_at_login_since, d.version, d.kind)
