"""Realistic demo data, loaded in bulk: accounts of each kind, persons with several usernames, users in
every SLS state, devices of each kind (some shared, some lost and replaced), charges and audit entries."""

from __future__ import annotations

import base64
import datetime as dt
import os
import random
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import func, insert, select, update

from console.models import audit
from console.models.cards import card_hashes, new_card_values
from console.models.context import ServiceContext
from console.models.entities import (
    Account,
    AuditEntry,
    Charge,
    DeviceHolding,
    OptOutAcknowledgement,
    Person,
    Reserve,
    SecurityDevice,
    User,
    UserRestriction,
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
from console.models.settings import Figures
from console.models.sealing import device_context

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

BATCH_USERS = 20_000


@dataclass
class DemoSummary:
    accounts: int
    users: int
    devices: int
    charges: int
    audit_entries: int
    seconds: float


class _Ids:
    def __init__(self, session) -> None:
        self.next = {}
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
                 account_numbers: set[str]) -> None:
        self.ctx = ctx
        self.fig = figures
        self.rng = random.Random(seed)
        self.ids = ids
        self.usernames = usernames
        self.account_numbers = account_numbers
        self.now = ctx.clock.now()
        self.serial_counter = self.rng.randrange(10_000_000, 20_000_000)
        self.reset()
        self.person_pool: list[dict] = []
        self.person_devices: dict[int, list[tuple[int, DeviceKind]]] = {}

    def reset(self) -> None:
        self.t = {k: [] for k in ("persons", "accounts", "users", "devices", "holdings", "restrictions",
                                  "acks", "charges", "reserves", "audit")}
        self.rights_holders: list[tuple[int, int]] = []

    # --- names and identifiers -------------------------------------------------------------------
    def _username(self, first: str, last: str) -> str:
        stem = (last.lower() + first.lower())[:5].ljust(5, "x")
        for _ in range(20):
            name = f"{stem}{self.rng.randrange(1000):03d}"
            if name not in self.usernames:
                self.usernames.add(name)
                return name
            stem = "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(5))
        raise RuntimeError("could not find a free username")

    def _account_number(self) -> str:
        while True:
            number = f"U{self.rng.randrange(1_000_000, 10_000_000)}"
            if number not in self.account_numbers:
                self.account_numbers.add(number)
                return number

    def _serial(self) -> str:
        self.serial_counter += 1
        return f"DSC{self.serial_counter:09d}"

    def _past(self, max_days: int) -> dt.datetime:
        return self.now - dt.timedelta(days=self.rng.uniform(1, max_days), seconds=self.rng.randrange(86400))

    # --- rows ------------------------------------------------------------------------------------
    def _person(self, full_name: str | None = None) -> dict:
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        p = {"id": self.ids.take("person"), "full_name": full_name or f"{first} {last}",
             "date_of_birth": dt.date(self.rng.randrange(1940, 2004), self.rng.randrange(1, 13),
                                      self.rng.randrange(1, 29)),
             "citizenship": self.rng.choice(COUNTRIES), "country_of_residence": self.rng.choice(COUNTRIES),
             "id_document_type": self.rng.choice(("passport", "national_id", "driving_licence")),
             "id_document_number": f"{self.rng.randrange(10**8, 10**9)}",
             "ssn": f"{self.rng.randrange(100, 900)}-{self.rng.randrange(10, 99)}-{self.rng.randrange(1000, 9999)}"}
        self.t["persons"].append(p)
        return p

    def _device(self, kind: DeviceKind, state: DeviceState, account_id: int, since: dt.datetime) -> int:
        device_id = self.ids.take("device")
        d = {"id": device_id, "kind": kind, "serial": None, "state": state, "sealed_secret": None,
             "secret_hash": None, "secret_salt": None, "account_id": account_id, "issued_at": since,
             "activated_at": since if state is DeviceState.active else None, "failed_attempts": 0,
             "locked": False, "version": 1}
        if kind in (DeviceKind.ib_key, DeviceKind.dsc_plus):
            seed = base64.b32encode(os.urandom(20)).decode()
            d["sealed_secret"] = self.ctx.box.seal(seed.encode(), device_context(device_id))
        if kind is DeviceKind.dsc_plus:
            d["serial"] = self._serial()
            d["received_at"] = since - dt.timedelta(days=20)
            d["shipped_at"] = since - dt.timedelta(days=5)
            d["activation_due_at"] = d["shipped_at"] + dt.timedelta(days=self.fig.dsc_activation_window_days)
        if kind in (DeviceKind.code_card, DeviceKind.online_code_card):
            d["serial"] = f"CC{device_id:010d}"
            salt = self.ctx.box.new_salt()
            d["secret_salt"] = salt
            d["secret_hash"] = card_hashes(self.ctx.box, salt, new_card_values(self.fig.code_card_size))
            if kind is DeviceKind.online_code_card:
                d["expires_at"] = since + dt.timedelta(days=self.fig.online_card_validity_days)
        self.t["devices"].append(d)
        return device_id

    def _hold(self, user_id: int, device_id: int, preferred: bool, since: dt.datetime) -> None:
        self.t["holdings"].append({"id": self.ids.take("holding"), "user_id": user_id, "device_id": device_id,
                                   "preferred": preferred, "since": since})

    def _audit(self, at, action, summary, account_id, user_id=None, device_id=None, **details) -> None:
        self.t["audit"].append({"at": at, "actor": "demo", "action": action, "summary": summary,
                                "account_id": account_id, "user_id": user_id, "device_id": device_id,
                                "details": details})

    def add_account(self) -> int:
        """One account with its users; returns how many users it added."""
        rng = self.rng
        kind = rng.choices(list(AccountKind), weights=(70, 20, 10))[0]
        account_id = self.ids.take("account")
        created = self._past(3 * 365)
        persons: list[dict] = []
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
            persons = [self._person() for _ in range(rng.randrange(2, 5))]
            title = f"{rng.choice(LAST)} {rng.choice(ORG_WORDS)} {rng.choice(('LLC', 'Ltd', 'Inc', 'LP'))}"
        number = self._account_number()
        self.t["accounts"].append({"id": account_id, "number": number, "kind": kind, "title": title,
                                   "rights_holder_id": None, "created_at": created, "version": 1,
                                   "equity_cents": int(rng.lognormvariate(11, 2.2)) * 100})
        self._audit(created, "account.opened", f"Account {number} ({kind.value}) opened", account_id)
        user_ids = []
        for index, person in enumerate(persons):
            user_ids.append(self._user(account_id, person, UserRole.primary if index == 0 else UserRole.secondary,
                                       created))
        if kind is AccountKind.organization and len(user_ids) > 2 and rng.random() < 0.5:
            self.rights_holders.append((account_id, user_ids[1]))
        if rng.random() < 0.3:
            self.person_pool.append(persons[0])
            if len(self.person_pool) > 5000:
                self.person_pool.pop(0)
        return len(user_ids)

    def _user(self, account_id: int, person: dict, role: UserRole, created: dt.datetime) -> int:
        rng = self.rng
        first, last = person["full_name"].split(" ", 1)
        user_id = self.ids.take("user")
        username = self._username(first, last)
        state = rng.choices(list(SlsState), weights=(80, 15, 5))[0]
        since = created + dt.timedelta(days=rng.uniform(0, 30))
        active = 0
        if state is SlsState.enrolled:
            active = self._enrolled_devices(user_id, person["id"], account_id, since)
        elif state is SlsState.pending:
            device_id = self._device(DeviceKind.ib_key, DeviceState.pending, account_id, self._past(2))
            self._hold(user_id, device_id, True, since)
        else:
            for r in OPT_OUT_RESTRICTIONS:
                self.t["restrictions"].append({"user_id": user_id, "restriction": r, "imposed_at": since,
                                               "lifted_at": None})
            self.t["acks"].append({"user_id": user_id, "acknowledged_at": since, "recorded_by": "demo",
                                   "statement": "Client acknowledged the opt-out risks (demo data)."})
        self.t["users"].append({"id": user_id, "username": username, "full_name": person["full_name"],
                                "name_key": person["full_name"].lower(), "account_id": account_id,
                                "person_id": person["id"], "role": role, "sls_state": state,
                                "active_devices": active, "created_at": created, "version": 1})
        self._audit(since, f"user.{state.value}", f"{username} {state.label.lower()}", account_id, user_id)
        return user_id

    def _enrolled_devices(self, user_id: int, person_id: int, account_id: int, since: dt.datetime) -> int:
        rng = self.rng
        owned = self.person_devices.get(person_id, [])
        shareable = [d for d in owned if not d[1].is_temporary]
        if shareable and rng.random() < 0.6:
            device_id, kind = max(shareable, key=lambda d: d[1].protection_rank)
            self._hold(user_id, device_id, True, since)
            self._audit(since, "device.shared", f"{kind.label} shared with a further username of the same "
                                                f"person", account_id, user_id, device_id)
            return 1
        kind = rng.choices((DeviceKind.ib_key, DeviceKind.dsc_plus, DeviceKind.code_card,
                            DeviceKind.online_code_card), weights=(80, 12, 5, 3))[0]
        device_id = self._device(kind, DeviceState.active, account_id, since)
        self._hold(user_id, device_id, True, since)
        self.person_devices.setdefault(person_id, []).append((device_id, kind))
        count = 1
        if kind is DeviceKind.dsc_plus:
            self.t["reserves"].append({"account_id": account_id, "device_id": device_id,
                                       "amount_cents": self.fig.dsc_plus_fee_cents, "held_at": since,
                                       "released_at": None})
            if rng.random() < 0.08:
                self._lost_and_replaced(user_id, account_id, device_id)
        if rng.random() < 0.08:  # a second active device (M2FS)
            second = self._device(DeviceKind.ib_key, DeviceState.active, account_id, since + dt.timedelta(days=3))
            self._hold(user_id, second, False, since + dt.timedelta(days=3))
            count += 1
        return count

    def _lost_and_replaced(self, user_id: int, account_id: int, lost_id: int) -> None:
        """A DSC+ reported lost: a replacement is shipped and the fee charged (pending, billed or waived)."""
        device = self.t["devices"][-1]
        when = self._past(200)
        device["state"] = self.rng.choice((DeviceState.lost, DeviceState.damaged, DeviceState.return_pending))
        if device["state"] is DeviceState.return_pending:
            device["return_due_at"] = when + dt.timedelta(days=self.fig.return_due_days)
        new_id = self._device(DeviceKind.dsc_plus, DeviceState.shipped, account_id, when)
        self.t["devices"][-1]["replaces_id"] = lost_id
        self.t["devices"][-1]["activated_at"] = None
        self._hold(user_id, new_id, False, when)
        self.t["reserves"].append({"account_id": account_id, "device_id": new_id,
                                   "amount_cents": self.fig.dsc_plus_fee_cents, "held_at": when, "released_at": None})
        status = self.rng.choice(list(ChargeStatus))
        charge = {"id": self.ids.take("charge"), "account_id": account_id, "device_id": lost_id,
                  "kind": ChargeKind.replacement, "amount_cents": self.fig.dsc_plus_fee_cents, "currency": "USD",
                  "status": status, "description": "Replacement of a lost or damaged DSC+",
                  "created_at": when, "created_by": "demo", "version": 1}
        if status is ChargeStatus.waived:
            charge.update(waived_reason="Long-standing client; first loss", waived_by="demo", waived_at=when)
        self.t["charges"].append(charge)
        self._audit(when, "device.replaced", "DSC+ reported lost; replacement shipped", account_id, user_id, lost_id)

    def add_stock(self, count: int) -> None:
        for _ in range(count):
            self.t["devices"].append({"id": self.ids.take("device"), "kind": DeviceKind.dsc_plus,
                                      "serial": self._serial(), "state": DeviceState.in_stock,
                                      "sealed_secret": None, "received_at": self._past(60),
                                      "failed_attempts": 0, "locked": False, "version": 1})
        for d in self.t["devices"][-count:]:
            seed = base64.b32encode(os.urandom(20)).decode()
            d["sealed_secret"] = self.ctx.box.seal(seed.encode(), device_context(d["id"]))

    # --- writing ---------------------------------------------------------------------------------
    def flush(self, session) -> None:
        t = self.t
        for entity, rows in ((Person, t["persons"]), (Account, t["accounts"]), (User, t["users"])):
            if rows:
                session.execute(insert(entity), rows)
        if t["devices"]:
            # Rows differ in which optional columns they carry; give each the full set for one executemany.
            cols = {k for d in t["devices"] for k in d}
            session.execute(insert(SecurityDevice), [{c: d.get(c) for c in cols} for d in t["devices"]])
        for entity, rows in ((DeviceHolding, t["holdings"]), (UserRestriction, t["restrictions"]),
                             (OptOutAcknowledgement, t["acks"]), (Reserve, t["reserves"])):
            if rows:
                session.execute(insert(entity), rows)
        if t["charges"]:
            cols = {k for c in t["charges"] for k in c}
            session.execute(insert(Charge), [{c: ch.get(c) for c in cols} for ch in t["charges"]])
        for account_id, user_id in self.rights_holders:
            session.execute(update(Account).where(Account.id == account_id).values(rights_holder_id=user_id))
        if t["audit"]:
            t["audit"].sort(key=lambda e: e["at"])
            session.execute(insert(AuditEntry), audit.chain_rows(session, t["audit"]))
        self.reset()


def generate(ctx: ServiceContext, figures: Figures, users: int, seed: int | None = None,
             progress: Callable[[int, int], None] | None = None) -> DemoSummary:
    """Add about `users` demo users (whole accounts, so a few more) in one transaction per batch."""
    import time

    started = time.perf_counter()
    with ctx.db.read() as s:
        ids = _Ids(s)
        usernames = set(s.scalars(select(User.username)))
        numbers = set(s.scalars(select(Account.number)))
    builder = DemoBuilder(ctx, figures, seed, ids, usernames, numbers)
    made = accounts = 0
    start_ids = dict(ids.next)
    audit_before = _audit_count(ctx)
    while made < users:
        with ctx.db.write() as s:
            batch_made = 0
            while batch_made < BATCH_USERS and made + batch_made < users:
                batch_made += builder.add_account()
                accounts += 1
            if made == 0:
                builder.add_stock(max(5, users // 200))
            builder.flush(s)
        made += batch_made
        if progress:
            progress(min(made, users), users)
    return DemoSummary(accounts=accounts, users=ids.next["user"] - start_ids["user"],
                       devices=ids.next["device"] - start_ids["device"],
                       charges=ids.next["charge"] - start_ids["charge"],
                       audit_entries=_audit_count(ctx) - audit_before, seconds=time.perf_counter() - started)


def _audit_count(ctx: ServiceContext) -> int:
    with ctx.db.read() as s:
        return s.scalar(select(func.count()).select_from(AuditEntry)) or 0
