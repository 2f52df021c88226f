"""Benchmark: N desk processes working one database at once for S seconds, then the invariants and the audit chain.

    PYTHONPATH=. python benchmarks/desks.py --database URL --desks N --seconds S [--users 3000] [--fresh]

Each desk is a process of its own with its own engine, as a console on another machine would be, doing a help
desk's mix: search, open a user, opt in by IB Key (the code computed from the provisioning secret, as the
client's app would), opt in by sharing another username's IB Key, report a loss (with a temporary passcode),
issue a temporary passcode, waive a charge. Every write carries the version the desk read just before, as the
windows do. Afterwards it checks: the audit chain verifies; every write a desk was told succeeded has its audit
entry; every user a desk touched is in the state its last audit entry says; each user's device count matches
its devices. It prints operations per second, p50/p99 latency per kind, refusals by reason, and last
`lost_updates=<n> ops_per_s=<n> audit=<ok|broken>`.

--fresh empties the database first (its schema and everything in it!) and fills it with --users demo users
under a new master key. Without it the database's own key is used (environment, keyring or key file).
"""

from __future__ import annotations

import argparse
import base64
import collections
import multiprocessing
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

import pyotp
from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from console.app import Services, open_context  # noqa: E402
from console.models import audit  # noqa: E402
from console.models.db import Database  # noqa: E402
from console.models.demo import generate  # noqa: E402
from console.models.directory import UserQuery  # noqa: E402
from console.models.entities import (  # noqa: E402
    AuditEntry,
    Charge,
    DeviceHolding,
    SecurityDevice,
    User,
)
from console.models.enums import ChargeStatus, DeviceKind, DeviceState, SlsState, StaffRole, UserRole  # noqa: E402
from console.models.errors import ConsoleError  # noqa: E402
from console.models.keys import KEY_ENV  # noqa: E402
from console.models.settings import Figures  # noqa: E402
from console.models.verification import dsc_response  # noqa: E402
from tests.seeds import stored_seed  # noqa: E402
from tests.sessions import signed_in  # noqa: E402

# The mix a desk draws from (weights).
MIX = {"search": 30, "open": 30, "opt_in_ib_key": 10, "share": 5, "report_loss": 8, "temporary_passcode": 8,
       "waive": 9}
READS = {"search", "open"}
# The state a user is in after the last audit entry of each of these actions.
STATE_AFTER = {"user.pending": SlsState.pending, "user.enrolled": SlsState.enrolled,
               "user.opted_out": SlsState.opted_out, "optin.cancelled": SlsState.opted_out}


def _reason(exc: Exception) -> str:
    """A refusal's kind: its class and its words, with usernames, serials and numbers taken out."""
    words = re.sub(r"\S*\d\S*", "…", str(exc)).split(".")[0]
    return f"{type(exc).__name__}: {words[:90]}"


class Desk:
    def __init__(self, number: int, url: str, seed: int) -> None:
        self.ctx = open_context(url, migrate=False)
        self.actor = signed_in(self.ctx, f"desk{number:02d}", f"Desk {number:02d}", StaffRole.administrator)
        self.services = Services.build(self.ctx, self.actor)
        self.rng = random.Random(seed)
        self.max_user = self._scalar(select(func.max(User.id))) or 1

    def _scalar(self, stmt):
        with self.ctx.db.read() as s:
            return s.scalar(stmt)

    def _pick(self, stmt, column=User.id):
        """A random row of `stmt`: the first at or after a random id, else the first of all."""
        start = self.rng.randint(1, self.max_user)
        return self._scalar(stmt.where(column >= start).order_by(column).limit(1)) or self._scalar(
            stmt.order_by(column).limit(1))

    def _version(self, user_id: int) -> int:
        return self.services.directory.details(user_id, audit_limit=5).version  # what the agent opens and sees

    # --- the mix ---------------------------------------------------------------------------------
    def search(self):
        letters = "".join(self.rng.choice("abcdefghijklmnoprstw") for _ in range(2))
        self.services.directory.window(UserQuery(letters), 0, 50)

    def open(self):
        self.services.directory.details(self.rng.randint(1, self.max_user))

    def opt_in_ib_key(self):
        user_id = self._pick(select(User.id).where(User.sls_state == SlsState.opted_out,
                                                   User.role == UserRole.primary))
        start = self.services.enrollment.start_ib_key(self.actor, user_id, expected_version=self._version(user_id))
        code = pyotp.TOTP(start.secret).at(self.ctx.clock.now())  # the client's app
        self.services.enrollment.confirm(self.actor, user_id, start.device_id, code)
        return [("user.enrolled", user_id, None)]

    def share(self):
        other = User.__table__.alias("other")
        user_id = self._pick(select(User.id).join(other, other.c.person_id == User.person_id).where(
            other.c.id != User.id, User.sls_state == SlsState.opted_out, User.role == UserRole.primary,
            other.c.sls_state == SlsState.enrolled))
        if user_id is None:
            raise LookupError("no opted-out user with an enrolled username of the same person")
        with self.ctx.db.read() as s:
            owner = s.scalar(select(User.username).join(User.person).where(
                User.person_id == select(User.person_id).where(User.id == user_id).scalar_subquery(),
                User.id != user_id, User.sls_state == SlsState.enrolled).limit(1))
        start = self.services.enrollment.start_shared(self.actor, user_id, owner,
                                                      expected_version=self._version(user_id))
        if start.kind not in (DeviceKind.ib_key, DeviceKind.dsc_plus):
            raise LookupError(f"the shared device is a {start.kind.label}, not answered here")
        seed = stored_seed(self.ctx, start.device_id)  # the client's own device, read here as the owner
        if start.challenge is None:  # IB Key: the code the app shows now
            answer, challenge = pyotp.TOTP(seed).at(self.ctx.clock.now()), None
        else:  # DSC+: the card's answer to the challenge number
            answer, challenge = dsc_response(seed, start.challenge.number), start.challenge.id
        self.services.enrollment.confirm(self.actor, user_id, start.device_id, answer, challenge)
        return [("user.enrolled", user_id, None)]

    def report_loss(self):
        device_id = self._pick(select(SecurityDevice.id).join(DeviceHolding).join(User).where(
            SecurityDevice.kind == DeviceKind.ib_key, SecurityDevice.state == DeviceState.active,
            User.role == UserRole.primary, User.sls_state == SlsState.enrolled), SecurityDevice.id)
        with self.ctx.db.read() as s:
            device = s.get(SecurityDevice, device_id)
            version = device.version
            user_id = s.scalar(select(DeviceHolding.user_id).where(DeviceHolding.device_id == device_id).limit(1))
        self.services.devices.report(self.actor, device_id, "lost", user_id=user_id, issue_temporary_passcode=True,
                                     identity_verified=True, expected_version=version)
        return [("device.reported_lost", None, device_id)]

    def temporary_passcode(self):
        user_id = self._pick(select(User.id).where(User.sls_state == SlsState.enrolled, User.role == UserRole.primary))
        issued = self.services.temporary_access.issue_temporary_passcode(
            self.actor, user_id, identity_verified=True, reason="phone left at home",
            expected_version=self._version(user_id))
        return [(None, user_id, issued.device_id)]

    def waive(self):
        charge_id = self._pick(select(Charge.id).where(Charge.status == ChargeStatus.pending), Charge.id)
        if charge_id is None:
            raise LookupError("no pending charge")
        self.services.charges.waive(self.actor, charge_id, "Goodwill: courier delay confirmed by the client")
        return [("charge.waived", None, None)]


def run_desk(number: int, url: str, seconds: float, start_at: float, results) -> None:
    desk = Desk(number, url, seed=number * 7919)
    kinds, weights = list(MIX), list(MIX.values())
    latencies: dict[str, list[float]] = collections.defaultdict(list)
    refusals: collections.Counter[str] = collections.Counter()
    skipped: collections.Counter[str] = collections.Counter()
    writes: list[tuple] = []
    while time.time() < start_at:
        time.sleep(0.01)
    end = start_at + seconds
    while time.time() < end:
        kind = desk.rng.choices(kinds, weights)[0]
        began = time.perf_counter()
        try:
            done = getattr(desk, kind)()
        except ConsoleError as exc:
            refusals[f"{kind} · {_reason(exc)}"] += 1
        except LookupError as exc:  # no record to act on: not a refusal, and not timed
            skipped[f"{kind} · {exc}"] += 1
            continue
        else:
            writes += [(desk.actor.username, *w) for w in done or ()]
        latencies[kind].append(time.perf_counter() - began)
    desk.ctx.db.dispose()
    results.put((dict(latencies), refusals, skipped, writes))


def _lost_updates(db: Database, writes: list[tuple]) -> tuple[int, list[str]]:
    """Writes a desk was told succeeded but that left no trace, and users whose state disagrees with their last
    audit entry (a stale write that overwrote another desk's)."""
    problems = []
    with db.read() as s:
        for actor, action, user_id, device_id in writes:
            stmt = select(func.count()).select_from(AuditEntry).where(AuditEntry.actor == actor)
            if action:
                stmt = stmt.where(AuditEntry.action == action)
            if user_id:
                stmt = stmt.where(AuditEntry.user_id == user_id)
            if device_id:
                stmt = stmt.where(AuditEntry.device_id == device_id)
            if not s.scalar(stmt):
                problems.append(f"{actor}: {action or 'write'} on user {user_id} device {device_id} has no audit entry")
        touched = {w[2] for w in writes if w[2]}
        for user_id in sorted(touched):
            last = s.scalar(select(AuditEntry.action).where(AuditEntry.user_id == user_id,
                                                            AuditEntry.action.in_(STATE_AFTER))
                            .order_by(AuditEntry.id.desc()).limit(1))
            state = s.scalar(select(User.sls_state).where(User.id == user_id))
            if last is not None and STATE_AFTER[last] is not state:
                problems.append(f"user {user_id} is {state.name} but its last entry says {last}")
    return len(problems), problems


def _invariants(db: Database) -> list[str]:
    out = []
    with db.read() as s:
        active = (select(DeviceHolding.user_id, func.count().label("n")).join(SecurityDevice)
                  .where(SecurityDevice.state == DeviceState.active).group_by(DeviceHolding.user_id).subquery())
        rows = s.execute(select(User.username, User.sls_state, User.active_devices, func.coalesce(active.c.n, 0))
                         .outerjoin(active, active.c.user_id == User.id)
                         .where(User.active_devices != func.coalesce(active.c.n, 0))).all()
        out += [f"{u}: active_devices {stored}, holdings {actual}" for u, _state, stored, actual in rows]
    return out


def prepare(url: str, fresh: bool, users: int) -> None:
    db = Database(url)
    if fresh:
        if db.is_sqlite:
            path = db.engine.url.database
            db.dispose()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        else:
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            db.dispose()
        os.environ.setdefault(KEY_ENV, base64.urlsafe_b64encode(os.urandom(32)).decode())
    ctx = open_context(url)
    with ctx.db.read() as s:
        have = s.scalar(select(func.count()).select_from(User))
    if not have:
        started = time.perf_counter()
        generate(ctx, Figures(), users, seed=12)
        print(f"database filled with {users:,} demo users in {time.perf_counter() - started:.1f} s", flush=True)
    ctx.db.dispose()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database", required=True, metavar="URL")
    p.add_argument("--desks", type=int, default=4)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--users", type=int, default=3000, help="demo users to fill an empty database with")
    p.add_argument("--fresh", action="store_true", help="empty the database first (destroys its data!)")
    args = p.parse_args()
    prepare(args.database, args.fresh, args.users)

    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start_at = time.time() + 3 + args.desks * 0.5  # every desk connected and ready before the clock starts
    procs = [context.Process(target=run_desk, args=(n + 1, args.database, args.seconds, start_at, results))
             for n in range(args.desks)]
    for proc in procs:
        proc.start()
    gathered = [results.get(timeout=args.seconds + 300) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
    failed = [proc.exitcode for proc in procs if proc.exitcode]
    latencies: dict[str, list[float]] = collections.defaultdict(list)
    refusals: collections.Counter[str] = collections.Counter()
    skipped: collections.Counter[str] = collections.Counter()
    writes: list[tuple] = []
    for lat, ref, skip, wr in gathered:
        for kind, values in lat.items():
            latencies[kind] += values
        refusals.update(ref)
        skipped.update(skip)
        writes += wr

    total = sum(len(v) for v in latencies.values())
    print(f"\n{args.desks} desks for {args.seconds:g} s on {Database(args.database).display_name}")
    print(f"{'operation':<20}{'count':>8}{'per s':>9}{'p50 ms':>10}{'p99 ms':>10}")
    for kind in MIX:
        values = sorted(latencies.get(kind, []))
        if not values:
            print(f"{kind:<20}{0:>8}")
            continue
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        print(f"{kind:<20}{len(values):>8}{len(values) / args.seconds:>9.1f}"
              f"{statistics.median(values) * 1000:>10.1f}{p99 * 1000:>10.1f}")
    writes_done = sum(len(latencies.get(k, [])) for k in MIX if k not in READS) - sum(
        n for r, n in refusals.items() if r.split(" · ")[0] not in READS)
    print(f"writes done: {writes_done}   refused: {sum(refusals.values())}")
    for reason, n in refusals.most_common():
        print(f"  {n:>6}  {reason}")
    for reason, n in skipped.most_common():
        print(f"  {n:>6}  skipped, nothing to act on: {reason}")

    db = Database(args.database)
    lost, problems = _lost_updates(db, writes)
    problems += _invariants(db)
    with db.read() as s:
        chain = audit.verify(s)
    for problem in problems[:20]:
        print(f"PROBLEM {problem}")
    if failed:
        print(f"PROBLEM desk processes failed with exit codes {failed}")
    print(f"lost_updates={lost} ops_per_s={total / args.seconds:.1f} audit={'ok' if chain.ok else 'broken'}")
    return 0 if lost == 0 and chain.ok and not problems and not failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
