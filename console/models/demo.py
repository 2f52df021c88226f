"""Realistic demo data, loaded in bulk: accounts of each kind, persons with several usernames, users in
every SLS state, devices of each kind (some shared, some lost and replaced), charges and audit entries."""

from __future__ import annotations

import base64
import collections
import contextlib
import dataclasses
import datetime as dt
import gc
import multiprocessing
import operator
import os
import random
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection as ProcessConnection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from console.models import audit, bulk, demo_twins, user_index, vault
from console.models.cards import ALPHABET, HASH_BYTES
from console.models.context import Actor, ServiceContext
from console.models.db import Database
from console.models.demo_limits import check_may_add, check_size
from console.models.entities import (
    Account,
    AuditEntry,
    AuditHead,
    Charge,
    DeviceHolding,
    OptOutAcknowledgement,
    Person,
    Reserve,
    SecurityDevice,
    User,
    UserRestriction,
    table_of,
)
from console.models.enums import (
    OPT_OUT_RESTRICTIONS,
    AccountKind,
    ChargeKind,
    ChargeStatus,
    DeviceKind,
    DeviceState,
    SlsState,
    UserRole,
)
from console.models.sealing import SealingError, current_key_id, device_context
from console.models.settings import Figures

_V = TypeVar("_V")
Record = dict[str, Any]  # one row as column name -> driver value (every row of a table with the same keys, in order)

FIRST = ("James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan "
         "Joseph Jessica Thomas Sarah Charles Karen Daniel Lisa Matthew Nancy Anthony Betty Mark Sandra Donald "
         "Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa "
         "George Deborah Timothy Stephanie Ronald Rebecca Jason Sharon Edward Laura Jeffrey Cynthia Ryan Amy "
         "Jacob Kathleen Hiroshi Yuki Wei Mei Arjun Priya Lukas Sofia Mateo Chloe Oluwaseun Amara").split()
LAST = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
        "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark "
        "Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams "
        "Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Tanaka Suzuki Chen Wang Patel Sharma "
        "Mueller Schmidt Rossi Bianchi Okafor Adeyemi Novak Kowalski Larsen Dubois Moreau Silva").split()
ORG_WORDS = ("Capital Partners Holdings Asset Management Trading Ventures Advisors Investments Group Fund "
             "Family Office Trust Securities").split()
COUNTRIES = ("US", "US", "US", "GB", "DE", "JP", "CA", "AU", "FR", "IN", "SG", "CH")
ID_DOCUMENTS = ("passport", "national_id", "driving_licence")

BATCH_USERS = 100_000  # users per transaction
EDGE_BATCH_USERS = 10_000  # the first and last batches: one core idles while the first is built and the last stored
PARALLEL_FROM_USERS = 50_000  # below this, starting a writer process costs more than it saves


def _as_is(value: _V) -> _V:
    return value


def _weighted(*pairs: tuple[_V, int]) -> tuple[_V, ...]:
    """A table in which each value appears as often as its weight: one uniform pick is a weighted pick."""
    return tuple(value for value, weight in pairs for _ in range(weight))


def _pick(rng: random.Random, table: Sequence[_V]) -> _V:
    return table[int(rng.random() * len(table))]  # cheaper than rng.choices(), which rebuilds the weights


ACCOUNT_KINDS = _weighted((AccountKind.individual, 70), (AccountKind.joint, 20), (AccountKind.organization, 10))
SLS_STATES = _weighted((SlsState.enrolled, 80), (SlsState.opted_out, 15), (SlsState.pending, 5))
DEVICE_KINDS = _weighted((DeviceKind.ib_key, 80), (DeviceKind.dsc_plus, 12), (DeviceKind.code_card, 5),
                         (DeviceKind.online_code_card, 3))

# What the rows store of enum members, read once by member name: a member's .name, .value and properties, and
# hashing it, are Python calls (a million users make millions of them); its _name_ is a plain attribute.
STATE_TEXT = {s.name: (f"user.{s.value}", s.label.lower()) for s in SlsState}
SHARED_TEXT = {k.name: f"{k.label} shared with a further username of the same person" for k in DeviceKind}
SHARE_RANK = {k.name: -1 if k.is_temporary else k.protection_rank for k in DeviceKind}  # -1: never shared
RESTRICTION_NAMES = tuple(r.name for r in OPT_OUT_RESTRICTIONS)
LETTER_PAIRS = tuple(a + b for a in "abcdefghijklmnopqrstuvwxyz" for b in "abcdefghijklmnopqrstuvwxyz")

# Tables in the order their rows are inserted (foreign keys), with the builder's name for each.
_TABLES = ((Person, "persons"), (Account, "accounts"), (User, "users"), (SecurityDevice, "devices"),
           (DeviceHolding, "holdings"), (UserRestriction, "restrictions"), (OptOutAcknowledgement, "acks"),
           (Reserve, "reserves"), (Charge, "charges"))

# Every column of a device row, so one batch of devices is one executemany.
DEVICE_ROW: Record = {c.name: None for c in SecurityDevice.__table__.columns} | {"failed_attempts": 0, "locked": False,
                                                                         "version": 1}


@dataclass
class DemoSummary:
    accounts: int
    users: int
    devices: int
    charges: int
    audit_entries: int
    seconds: float


class _Ids:
    def __init__(self, session: Session) -> None:
        self.next: dict[str, int] = {}
        for name, entity in (("account", Account), ("person", Person), ("user", User),
                             ("device", SecurityDevice), ("charge", Charge), ("holding", DeviceHolding)):
            self.next[name] = (session.scalar(select(func.max(entity.id))) or 0) + 1

    def take(self, name: str) -> int:
        value = self.next[name]
        self.next[name] = value + 1
        return value


class DemoBuilder:
    """Builds demo rows in memory, a batch at a time, and writes each batch with bulk inserts."""

    def __init__(self, ctx: ServiceContext, figures: Figures, seed: int | None, ids: _Ids, usernames: set[str],
                 account_numbers: set[str], audit_head: tuple[int, str] = (0, audit.GENESIS_HASH)) -> None:
        self.ctx = ctx
        self.fig = figures
        self.rng = random.Random(seed)
        self.ids = ids
        self.usernames = usernames
        self.account_numbers = account_numbers
        self.audit_head = audit_head  # (last id, last hash) the next batch's entries follow
        self.now = ctx.clock.now()
        # Rows hold what the driver stores, made as they are built, so SQLite's writer binds them as they are (a
        # conversion pass took a third of its time): times as UtcDateTime's text, worked out in naive UTC
        # (formatted in a third of an aware time's cost), dates as ISO text.
        self.when: Callable[[dt.datetime], Any] = _as_is
        self.day: Callable[[dt.date], Any] = _as_is
        if ctx.db.engine.dialect.name == "sqlite":
            self.now = self.now.astimezone(dt.UTC).replace(tzinfo=None)
            self.when = operator.methodcaller("isoformat", " ", "microseconds")
            self.day = dt.date.isoformat
        self.key_id = ctx.box.key_id  # the database's current key: generate() follows it first
        # PostgreSQL: seeds go straight into the server's vault with the batch (vault.store_seeds_in_bulk).
        self.vault_key = vault.vault_key(ctx.box) if ctx.db.engine.dialect.name == "postgresql" else None
        self.serial_counter = self._int(10_000_000, 20_000_000)
        self.reset()
        self.person_pool: collections.deque[Record] = collections.deque(maxlen=5000)
        self.person_devices: dict[int, list[tuple[int, DeviceKind]]] = {}
        self.lost_ids: set[int] = set()  # lost devices are no longer shared with a further username

    def reset(self) -> None:
        self.t: dict[str, list[Record]] = {k: [] for k in (
            "persons", "accounts", "users", "devices", "holdings", "restrictions", "acks", "charges", "reserves",
            "audit")}
        self.seeds: list[tuple[int, bytes]] = []  # (device id, seed) for the server's vault (PostgreSQL)
        self.rights_holders: list[tuple[int, int]] = []

    # --- names and identifiers -------------------------------------------------------------------
    def _username(self, first: str, last: str) -> str:
        stem = (last.lower() + first.lower())[:5].ljust(5, "x")
        for _ in range(20):
            name = f"{stem}{self._int(0, 1000):03d}"
            if name not in self.usernames:
                self.usernames.add(name)
                return name
            stem = _pick(self.rng, LETTER_PAIRS) + _pick(self.rng, LETTER_PAIRS) + _pick(self.rng, LETTER_PAIRS)[0]
        raise RuntimeError("could not find a free username")

    def _account_number(self) -> str:
        while True:
            number = f"U{self._int(1_000_000, 10_000_000)}"
            if number not in self.account_numbers:
                self.account_numbers.add(number)
                return number

    def _serial(self) -> str:
        self.serial_counter += 1
        return f"DSC{self.serial_counter:09d}"

    def _int(self, low: int, high: int) -> int:
        """A random integer in [low, high): rng.randrange() costs several times more, a million times over."""
        return low + int(self.rng.random() * (high - low))

    def _past(self, max_days: int) -> dt.datetime:
        return self.now - dt.timedelta(days=self.rng.uniform(1, max_days), seconds=self._int(0, 86400))

    # --- rows ------------------------------------------------------------------------------------
    def _person(self, full_name: str | None = None) -> Record:
        rng = self.rng
        first, last = _pick(rng, FIRST), _pick(rng, LAST)
        p = {"id": self.ids.take("person"), "full_name": full_name or f"{first} {last}",
             "date_of_birth": self.day(dt.date(self._int(1940, 2004), self._int(1, 13), self._int(1, 29))),
             "citizenship": _pick(rng, COUNTRIES), "country_of_residence": _pick(rng, COUNTRIES),
             "id_document_type": _pick(rng, ID_DOCUMENTS),
             "id_document_number": f"{self._int(10**8, 10**9)}",
             "ssn": f"{self._int(100, 900)}-{self._int(10, 99)}-{self._int(1000, 9999)}"}
        self.t["persons"].append(p)
        return p

    def _device(self, kind: DeviceKind, state: DeviceState, account_id: int, since: dt.datetime) -> int:
        device_id = self.ids.take("device")
        when = self.when
        d: Record = dict(DEVICE_ROW, id=device_id, kind=kind._name_, state=state._name_, account_id=account_id,
                         issued_at=when(since), activated_at=when(since) if state is DeviceState.active else None)
        if kind in (DeviceKind.ib_key, DeviceKind.dsc_plus):
            self._keep_seed(d)
        if kind is DeviceKind.dsc_plus:
            d["serial"] = self._serial()
            d["received_at"] = when(since - dt.timedelta(days=20))
            d["shipped_at"] = when(since - dt.timedelta(days=5))
            d["activation_due_at"] = when(since + dt.timedelta(days=self.fig.dsc_activation_window_days - 5))
        if kind in (DeviceKind.code_card, DeviceKind.online_code_card):
            d["serial"] = f"CC{device_id:010d}"
            d["secret_salt"] = self.ctx.box.new_salt()
            # Nobody ever sees a demo card's values (the training window keeps only cards made by the services),
            # so the hash of each unknown random value is as good as random bytes: 100 HMACs a card less,
            # a sixth of the build's time.
            d["secret_hash"] = self._unknown_hashes(self.fig.code_card_size * HASH_BYTES)
            if kind is DeviceKind.online_code_card:
                d["expires_at"] = when(since + dt.timedelta(days=self.fig.online_card_validity_days))
        self.t["devices"].append(d)
        return device_id

    def _keep_seed(self, device: Record) -> None:
        """A new seed: sealed with the master key (SQLite), or kept for the server's vault (PostgreSQL)."""
        seed = os.urandom(20)
        if self.vault_key is None:
            device["sealed_secret"] = self.ctx.box.seal_with(self.key_id, base64.b32encode(seed),
                                                             device_context(device["id"]))
        else:
            self.seeds.append((device["id"], seed))

    def _unknown_hashes(self, size: int) -> bytes:
        """Stored hashes of values nobody knows (discarded at once): random bytes are as good. On PostgreSQL in
        the vault's finished form (its mark in front): keying random bytes with the server key would only give
        other random bytes, a function call per value (vault.adopt_sealed_seeds)."""
        return os.urandom(size) if self.vault_key is None else vault.SERVER_MARK_BYTE + os.urandom(size)

    def _hold(self, user_id: int, device_id: int, preferred: bool, since: dt.datetime) -> None:
        self.t["holdings"].append({"id": self.ids.take("holding"), "user_id": user_id, "device_id": device_id,
                                   "preferred": preferred, "since": self.when(since)})

    def _audit(self, at: dt.datetime, action: str, summary: str, account_id: int, user_id: int | None = None,
               device_id: int | None = None, **details: object) -> None:
        self.t["audit"].append({"at": self.when(at), "actor": "demo", "action": action, "summary": summary,
                                "account_id": account_id, "user_id": user_id, "device_id": device_id,
                                "details": details})

    def add_account(self) -> int:
        """One account with its users; returns how many users it added."""
        rng = self.rng
        kind = _pick(rng, ACCOUNT_KINDS)
        account_id = self.ids.take("account")
        created = self._past(3 * 365)
        persons: list[Record] = []
        if kind is AccountKind.individual:
            # About one individual in eight already holds a username in another account.
            if self.person_pool and rng.random() < 0.12:
                persons.append(rng.choice(self.person_pool))
            else:
                persons.append(self._person())
            if rng.random() < 0.15:
                persons.append(persons[0])  # a second username of the same person (e.g. trading only)
            title = persons[0]["full_name"]
        elif kind is AccountKind.joint:
            persons = [self._person(), self._person()]
            title = f"{persons[0]['full_name']} & {persons[1]['full_name']}"
        else:
            persons = [self._person() for _ in range(self._int(2, 5))]
            title = f"{rng.choice(LAST)} {rng.choice(ORG_WORDS)} {rng.choice(('LLC', 'Ltd', 'Inc', 'LP'))}"
        number = self._account_number()
        self.t["accounts"].append({"id": account_id, "number": number, "kind": kind._name_, "title": title,
                                   "rights_holder_id": None, "created_at": self.when(created), "version": 1,
                                   "equity_cents": int(rng.lognormvariate(11, 2.2)) * 100})
        self._audit(created, "account.opened", f"Account {number} ({kind._value_}) opened", account_id)
        user_ids = []
        for index, person in enumerate(persons):
            user_ids.append(self._user(account_id, person, UserRole.primary if index == 0 else UserRole.secondary,
                                       created))
        if kind is AccountKind.organization and len(user_ids) > 2 and rng.random() < 0.5:
            self.rights_holders.append((account_id, user_ids[1]))
        if rng.random() < 0.3:
            self.person_pool.append(persons[0])
        return len(user_ids)

    def _user(self, account_id: int, person: Record, role: UserRole, created: dt.datetime) -> int:
        rng = self.rng
        first, last = person["full_name"].split(" ", 1)
        user_id = self.ids.take("user")
        username = self._username(first, last)
        state = _pick(rng, SLS_STATES)
        # Enrolled within a month of opening, and never later than now: no event in the future.
        since = created + min(dt.timedelta(days=30), self.now - created) * rng.random()
        active = 0
        how: dict[str, Any] = {}  # an enrollment records its device kind and whether it was shared (the opt-in path)
        if state is SlsState.enrolled:
            active, kind, shared = self._enrolled_devices(user_id, person["id"], account_id, since)
            how = {"device_kind": kind._name_, "shared": shared}
        elif state is SlsState.pending:
            device_id = self._device(DeviceKind.ib_key, DeviceState.pending, account_id, self._past(2))
            self._hold(user_id, device_id, True, since)
            for r in RESTRICTION_NAMES:  # opting in from opted out: lifted only when the opt-in completes
                self.t["restrictions"].append({"user_id": user_id, "restriction": r,
                                               "imposed_at": self.when(since), "lifted_at": None})
        else:
            for r in RESTRICTION_NAMES:
                self.t["restrictions"].append({"user_id": user_id, "restriction": r,
                                               "imposed_at": self.when(since), "lifted_at": None})
            self.t["acks"].append({"user_id": user_id, "acknowledged_at": self.when(since), "recorded_by": "demo",
                                   "statement": "Client acknowledged the opt-out risks (demo data)."})
        self.t["users"].append({"id": user_id, "username": username, "full_name": person["full_name"],
                                "name_key": person["full_name"].lower(), "account_id": account_id,
                                "person_id": person["id"], "role": role._name_, "sls_state": state._name_,
                                "active_devices": active, "created_at": self.when(created), "version": 1})
        action, label = STATE_TEXT[state._name_]
        self._audit(since, action, f"{username} {label}", account_id, user_id, **how)
        return user_id

    def _enrolled_devices(self, user_id: int, person_id: int, account_id: int,
                          since: dt.datetime) -> tuple[int, DeviceKind, bool]:
        """The user's devices; returns how many are active, the kind it enrolled with and whether shared."""
        rng = self.rng
        owned = self.person_devices.get(person_id, [])
        shareable = [d for d in owned if SHARE_RANK[d[1]._name_] >= 0 and d[0] not in self.lost_ids]
        if shareable and rng.random() < 0.6:
            device_id, kind = max(shareable, key=lambda d: SHARE_RANK[d[1]._name_])
            self._hold(user_id, device_id, True, since)
            self._audit(since, "device.shared", SHARED_TEXT[kind._name_], account_id, user_id, device_id)
            return 1, kind, True
        kind = _pick(rng, DEVICE_KINDS)
        device_id = self._device(kind, DeviceState.active, account_id, since)
        self._hold(user_id, device_id, True, since)
        self.person_devices.setdefault(person_id, []).append((device_id, kind))
        count = 1
        if kind is DeviceKind.dsc_plus:
            self.t["reserves"].append({"account_id": account_id, "device_id": device_id,
                                       "amount_cents": self.fig.dsc_plus_fee_cents, "held_at": self.when(since),
                                       "released_at": None})
            if rng.random() < 0.08:
                self._lost_and_replaced(user_id, account_id, device_id, since)
        if rng.random() < 0.08:  # a second active device (M2FS)
            later = since + (self.now - since) * rng.uniform(0.1, 0.9)
            second = self._device(DeviceKind.ib_key, DeviceState.active, account_id, later)
            self._hold(user_id, second, False, later)
            count += 1
        return count, kind, False

    def _lost_and_replaced(self, user_id: int, account_id: int, lost_id: int, issued: dt.datetime) -> None:
        """A DSC+ reported lost: the fee charged (pending, billed or waived) and a replacement sent. The user is
        never left enrolled without an active device: an older loss's replacement has been activated; a recent
        one is still in the post and the user holds a temporary passcode meanwhile."""
        device = self.t["devices"][-1]
        self.lost_ids.add(lost_id)
        when_text = self.when
        temporary_days = self.fig.temp_passcode_full_access_days + self.fig.temp_passcode_portal_days
        recent = self.rng.random() < 0.3
        if recent:
            when = max(issued, self.now - dt.timedelta(days=self.rng.uniform(0.2, temporary_days - 0.5)))
        else:
            when = issued + (self.now - issued) * self.rng.uniform(0.2, 0.8)  # after it was issued, before now
        lost_state = self.rng.choice((DeviceState.lost, DeviceState.damaged, DeviceState.return_pending))
        device["state"] = lost_state.name
        if lost_state is DeviceState.return_pending:
            device["return_due_at"] = when_text(when + dt.timedelta(days=self.fig.return_due_days))
        arrived = not recent and when + dt.timedelta(days=5) < self.now
        new_id = self._device(DeviceKind.dsc_plus, DeviceState.active if arrived else DeviceState.shipped,
                              account_id, when)
        replacement = self.t["devices"][-1]
        replacement["replaces_id"] = lost_id
        replacement["activated_at"] = when_text(when + dt.timedelta(days=5)) if arrived else None
        self._hold(user_id, new_id, arrived, when)
        if not arrived:
            self._temporary_passcode(user_id, account_id, when)
        self.t["reserves"].append({"account_id": account_id, "device_id": new_id,
                                   "amount_cents": self.fig.dsc_plus_fee_cents, "held_at": when_text(when),
                                   "released_at": None})
        status = self.rng.choice(list(ChargeStatus))
        charge = {"id": self.ids.take("charge"), "account_id": account_id, "device_id": lost_id,
                  "kind": ChargeKind.replacement.name, "amount_cents": self.fig.dsc_plus_fee_cents,
                  "currency": "USD", "status": status.name, "description": "Replacement of a lost or damaged DSC+",
                  "created_at": when_text(when), "created_by": "demo", "version": 1, "waived_reason": None,
                  "waived_by": None, "waived_at": None}
        if status is ChargeStatus.waived:
            charge.update(waived_reason="Long-standing client; first loss", waived_by="demo",
                          waived_at=when_text(when))
        self.t["charges"].append(charge)
        for reserve in reversed(self.t["reserves"]):  # the charge takes the lost card's reserve's place
            if reserve["device_id"] == lost_id:
                reserve["released_at"] = when_text(when)
                break
        self._audit(when, "device.replaced", "DSC+ reported lost; replacement shipped", account_id, user_id, lost_id)

    def _temporary_passcode(self, user_id: int, account_id: int, when: dt.datetime) -> None:
        """Temporary access until the replacement arrives (the passcode itself is never kept)."""
        passcode = "".join(self.rng.choice(ALPHABET) for _ in range(8))
        salt = self.ctx.box.new_salt()
        device_id = self.ids.take("device")
        self.t["devices"].append(dict(
            DEVICE_ROW, id=device_id, kind=DeviceKind.temporary_passcode.name, state=DeviceState.active.name,
            account_id=account_id, issued_at=self.when(when), activated_at=self.when(when), secret_salt=salt,
            secret_hash=(self.ctx.box.lookup_hash(salt, passcode) if self.vault_key is None
                         else self._unknown_hashes(vault.PASSCODE_SLOT_BYTES)),
            full_access_until=self.when(when + dt.timedelta(days=self.fig.temp_passcode_full_access_days)),
            expires_at=self.when(when + dt.timedelta(days=self.fig.temp_passcode_full_access_days
                                                     + self.fig.temp_passcode_portal_days))))
        self._hold(user_id, device_id, True, when)
        self._audit(when, "device.temporary_passcode_issued", "Temporary passcode issued until the replacement "
                                                              "DSC+ arrives", account_id, user_id, device_id)

    def add_stock(self, count: int) -> None:
        for _ in range(count):
            self.t["devices"].append(dict(DEVICE_ROW, id=self.ids.take("device"), kind=DeviceKind.dsc_plus.name,
                                          serial=self._serial(), state=DeviceState.in_stock.name,
                                          received_at=self.when(self._past(60))))
        for d in self.t["devices"][-count:]:
            self._keep_seed(d)

    def release(self) -> None:
        """Free what only building needs (a million usernames and numbers, the persons' devices): called once
        the last batch is built, while the writers store the last batches."""
        for built in (self.usernames, self.account_numbers, self.person_devices, self.person_pool, self.lost_ids):
            built.clear()

    # --- writing ---------------------------------------------------------------------------------
    def take_batch(self) -> _Batch:
        """The batch's rows as built (the writer converts and stores them), its audit entries chained after
        the previous batch's (the writer checks that is still the head, and chains them again if not)."""
        entries = sorted(self.t["audit"], key=operator.itemgetter("at"))
        linked = audit.link(entries, *self.audit_head)
        self.audit_head = (linked.last_id, linked.last_hash)
        batch = _Batch([(table_of(entity), self.t[name]) for entity, name in _TABLES], entries, linked,
                       self.rights_holders, self.key_id, self.seeds, self.vault_key)
        self.reset()
        return batch


@dataclass
class _Batch:
    tables: list[tuple[Table, list[Record]]]
    audit_rows: list[Record]  # in time order
    linked: audit.Linked  # the same, chained by the builder; the writer checks it under the chain-head lock
    rights_holders: list[tuple[int, int]]
    key_id: bytes  # the master key the batch's seeds are sealed with
    seeds: list[tuple[int, bytes]]  # PostgreSQL: (device id, seed) for the server's vault
    vault_key: bytes | None

    def write(self, session: Session) -> None:
        """One driver executemany per table (the ORM's per-row work made the load 5x slower)."""
        if current_key_id(session) not in (None, self.key_id):
            raise SealingError("The master key was rotated at another desk while demo data was being added; "
                               "the batches stored before it were re-sealed, this one was not stored. Run demo "
                               "again for the rest.")
        conn = session.connection()
        for table, rows in self.tables:
            bulk.insert_built(conn, table, rows)
            if table.name == "users" and rows:
                user_index.index_names(conn, rows[0]["id"], rows[-1]["id"])
        if self.seeds and self.vault_key is not None:
            vault.store_seeds_in_bulk(conn, self.seeds, self.vault_key)
        if self.rights_holders:
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            conn.exec_driver_sql(f"UPDATE accounts SET rights_holder_id = {mark} WHERE id = {mark}",
                                 [(user_id, account_id) for account_id, user_id in self.rights_holders])
        if self.audit_rows:
            bulk.insert_built(conn, table_of(AuditEntry), audit.chain_rows(session, self.audit_rows, self.linked))
        bulk.advance_sequences(conn, [table.name for table, _ in self.tables])
        session.flush()  # the chain head


class _Writer:
    """Stores batches: in this process, or each in a process forked for it, so building the next batch
    (Python) and storing this one (conversions, audit hashing, SQLite) use both cores. A fork hands the
    batch over as it is in memory: sending it to a long-lived writer cost a fifth of the build in pickling.
    Threads would not do: the driver takes the GIL back after every row, which stalls behind the builder.
    One batch is stored at a time, in order, each in its own transaction."""

    def __init__(self, db: Database, parallel: bool) -> None:
        self.db = db
        self.parallel = parallel
        self.process: BaseProcess | None = None
        self.pipe: ProcessConnection | None = None
        # The batch last handed to a writer, kept until the next one is submitted (see submit).
        self.batch: _Batch | None = None

    def submit(self, batch: _Batch) -> None:
        if not self.parallel:
            with self.db.write() as s:
                batch.write(s)
            return
        # The previous batch is freed first (a few tenths of a second at 100,000 users): while its writer is
        # still storing it, the builder would otherwise wait idle; once it is done, the next writer is not
        # forked yet, so the frees copy no page shared with it.
        self.batch = None
        self.wait()  # the previous batch is stored before this one starts: memory stays at two batches
        context = multiprocessing.get_context("fork")
        self.pipe, child = context.Pipe(duplex=False)
        self.process = context.Process(target=_write_batch, args=(self.db.url, batch, child, self.pipe, os.getpid()),
                                       daemon=True)
        self.process.start()
        self.batch = batch  # kept until the next submit: freed now, the new writer's shared pages would be copied
        child.close()

    def wait(self) -> None:
        if self.process is None or self.pipe is None:
            return
        process, pipe = self.process, self.pipe
        self.process = self.pipe = None
        try:
            error = pipe.recv()
        except EOFError:
            error = "the demo writer process ended unexpectedly"
        finally:
            pipe.close()
            process.join()
        if error:
            raise RuntimeError(f"Storing demo data failed: {error}")

    def abort(self) -> None:
        """The load was stopped (an error, Ctrl+C, SIGTERM): end the writer now; its open batch rolls back."""
        if self.process is not None and self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=10)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(timeout=10)
        if self.pipe is not None:
            self.pipe.close()
        self.process = self.pipe = self.batch = None

    def close(self) -> None:
        self.wait()
        self.batch = None


def batch_size(made: int, users: int) -> int:
    """Users in the next batch: fewer at both ends of a load, where the builder or the writer waits for the
    other."""
    left = users - made
    if made == 0 or left <= EDGE_BATCH_USERS:
        return min(BATCH_USERS, EDGE_BATCH_USERS)
    return max(1, min(BATCH_USERS, left - EDGE_BATCH_USERS))


def _end_with_parent() -> None:
    """Linux: the kernel sends this process SIGTERM when the process that started it dies (even by SIGKILL)."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _write_batch(url: str, batch: _Batch, pipe: ProcessConnection, parent_end: ProcessConnection,
                 parent: int) -> None:
    """A writer process: its own engine (connections are never shared across a fork). It ends when the
    parent does (the death signal), and leaves Ctrl+C to the parent, whose clean-up terminates it. The fork's
    copy of the parent's end of the pipe is closed here: the pipe is the parent's alone."""
    parent_end.close()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the parent's handler (SIGTERM as Ctrl+C) is not ours
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the whole group: the parent decides
    _end_with_parent()
    if os.getppid() != parent:  # the parent died before the death signal was set
        return
    gc.disable()  # as in the parent: acyclic rows, freed by reference counting
    db = Database(url)
    bulk.load_faster(db.engine)
    try:
        with db.write() as s:
            batch.write(s)
    except Exception as exc:  # reported to the parent, which raises it
        pipe.send(f"{type(exc).__name__}: {exc}")
    else:
        pipe.send(None)
    finally:
        db.dispose()
        pipe.close()


def _can_fork(db: Database) -> bool:
    in_memory = db.is_sqlite and db.engine.url.database in (None, "", ":memory:")
    return "fork" in multiprocessing.get_all_start_methods() and not in_memory


def generate(ctx: ServiceContext, figures: Figures, users: int, seed: int | None = None,
             progress: Callable[[int, int], None] | None = None, parallel: bool | None = None,
             actor: Actor | None = None) -> DemoSummary:
    """Add about `users` demo users (whole accounts, so a few more) in one transaction per batch.

    Refused (nothing added) beyond what this machine's free memory and disk can hold, and, on a database
    with staff of its own, unless `actor` is a signed-in administrator (see demo_limits.py).

    Rows are built outside the write transaction and, for large loads (or parallel=True), stored by a
    second process while the next batch is built. The users table's derived data (substring index,
    counts per state) is rebuilt once at the end instead of row by row (see user_index.py).
    """
    started = time.perf_counter()
    with ctx.db.read() as s:
        check_may_add(s, actor)
    check_size(ctx.db, users)
    user_index.repair_if_needed(ctx.db)
    with ctx.db.read() as s:
        ctx.box.follow(s)
        ids = _Ids(s)
        usernames = set(s.scalars(select(User.username)))
        numbers = set(s.scalars(select(Account.number)))
        head = s.get(AuditHead, 1)
        audit_head = (head.last_id, head.last_hash) if head else (0, audit.GENESIS_HASH)
    builder = DemoBuilder(ctx, figures, seed, ids, usernames, numbers, audit_head)
    start_ids = dict(ids.next)
    audit_before = _audit_count(ctx)
    if parallel is None:
        parallel = users >= PARALLEL_FROM_USERS
    # The rows are acyclic and freed by reference counting; the cycle collector would rescan millions of
    # live objects (usernames, numbers) again and again: a third of the load's CPU time.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        summary = _generate(ctx, builder, users, parallel, progress, started, start_ids, audit_before)
        # Still without the cycle collector: while the builder's millions of objects live, every collection
        # the twins' ORM objects set off would walk them all (5 s at a million users).
        twins = demo_twins.add_twins(ctx, users, seed)  # a few shares across entities wait for compliance
        audit_entries = _audit_count(ctx) - audit_before
        # Gone by reference counting before the collector is back: its first collection would walk every one
        # of the builder's objects still alive (a second at a million users).
        del builder
    finally:
        if gc_was_enabled:
            gc.enable()
    return dataclasses.replace(summary, accounts=summary.accounts + twins, users=summary.users + twins,
                               audit_entries=audit_entries, seconds=time.perf_counter() - started)


def _generate(ctx: ServiceContext, builder: DemoBuilder, users: int, parallel: bool,
              progress: Callable[[int, int], None] | None, started: float, start_ids: dict[str, int],
              audit_before: int) -> DemoSummary:
    ids = builder.ids
    made = accounts = 0
    with user_index.suspended(ctx.db, names_indexed=True):
        writer = _Writer(ctx.db, parallel and _can_fork(ctx.db))
        finished = False
        try:
            while made < users:
                batch_made = 0
                size = batch_size(made, users)
                while batch_made < size and made + batch_made < users:
                    batch_made += builder.add_account()
                    accounts += 1
                if made == 0:
                    builder.add_stock(max(5, users // 200))
                writer.submit(builder.take_batch())
                made += batch_made
                if progress:
                    progress(min(made, users), users)
            builder.release()
            finished = True
        finally:
            if finished:
                writer.close()
            else:
                writer.abort()
    with ctx.db.write() as s:  # PostgreSQL: seeds sealed here go into the server's vault (vault.py)
        vault.adopt_sealed_seeds(s, ctx.box)
    return DemoSummary(accounts=accounts, users=ids.next["user"] - start_ids["user"],
                       devices=ids.next["device"] - start_ids["device"],
                       charges=ids.next["charge"] - start_ids["charge"],
                       audit_entries=_audit_count(ctx) - audit_before, seconds=time.perf_counter() - started)


def _audit_count(ctx: ServiceContext) -> int:
    with ctx.db.read() as s:
        head = s.get(AuditHead, 1)
        return head.count if head else 0
