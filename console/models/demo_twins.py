"""Demo data: clients who opened a second account as a separate entity and ask to share their device.

The bulk demo gives a person's further usernames the same person row, so their shares are approved at once.
A real firm also has the same person on record twice (a second account opened later, a separate entity with
the same identification data); a share between the two waits for compliance (sharing_review.py). This adds a
few such twins, each opting in by sharing its first username's device, so a fresh demo's compliance queue has
requests to decide. Written through the ORM in one transaction after the bulk load (the users-index triggers
and the audit chain keep up as for any write).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from console.models import audit
from console.models.context import ServiceContext
from console.models.entities import (
    Account,
    DeviceHolding,
    OptOutAcknowledgement,
    Person,
    SecurityDevice,
    User,
    UserRestriction,
)
from console.models.enums import OPT_OUT_RESTRICTIONS, AccountKind, DeviceState, SlsState, UserRole
from console.models.sharing_review import ACROSS_ENTITIES, open_request

USERS_PER_TWIN = 400  # one waiting request per this many demo users
MAX_TWINS = 40
_CANDIDATES = 2000  # owners are drawn from this many enrolled primary users of individual accounts


def add_twins(ctx: ServiceContext, users: int, seed: int | None) -> int:
    """Add cross-entity twins with a waiting sharing request each; returns how many."""
    wanted = min(MAX_TWINS, max(2, users // USERS_PER_TWIN))
    rng = random.Random(None if seed is None else seed + 11)
    made = 0
    with ctx.db.write() as s:
        owners = list(s.scalars(
            select(User).join(Account, Account.id == User.account_id)
            .where(User.sls_state == SlsState.enrolled, User.role == UserRole.primary,
                   Account.kind == AccountKind.individual, Account.closed_at.is_(None))
            .order_by(User.id).limit(_CANDIDATES)))
        rng.shuffle(owners)
        taken_usernames: set[str] = set()
        for owner in owners:
            if made == wanted:
                break
            device = _shareable_device(s, owner)
            if device is None:
                continue
            _twin_asks_to_share(ctx, s, rng, owner, device, taken_usernames)
            made += 1
    return made


def _shareable_device(s: Session, owner: User) -> SecurityDevice | None:
    """The owner's most protective active device, if it holds no temporary device (sharing rules 2 and 3)."""
    active = list(s.scalars(select(SecurityDevice).join(DeviceHolding, DeviceHolding.device_id == SecurityDevice.id)
                            .where(DeviceHolding.user_id == owner.id, SecurityDevice.state == DeviceState.active)))
    if not active or any(d.kind.is_temporary for d in active):
        return None
    return max(active, key=lambda d: d.kind.protection_rank)


def _twin_asks_to_share(ctx: ServiceContext, s: Session, rng: random.Random, owner: User, device: SecurityDevice,
                        taken: set[str]) -> None:
    now = ctx.clock.now()
    p = owner.person
    twin = Person(full_name=p.full_name, date_of_birth=p.date_of_birth, citizenship=p.citizenship,
                  country_of_residence=p.country_of_residence, id_document_type=p.id_document_type,
                  id_document_number=p.id_document_number, ssn=p.ssn)
    account = Account(number=_free(s, rng, lambda _: f"U{rng.randrange(1_000_000, 10_000_000)}", Account.number, taken),
                      kind=AccountKind.individual, title=f"{p.full_name} (second account)", created_at=now,
                      equity_cents=rng.randrange(10_000, 5_000_000) * 100)
    s.add_all([twin, account])
    s.flush()
    stem = owner.username[:5]
    user = User(username=_free(s, rng, lambda width: f"{stem}{rng.randrange(10 ** width):0{width}d}", User.username,
                               taken),
                full_name=p.full_name, name_key=p.full_name.lower(), account=account, person=twin,
                role=UserRole.primary, sls_state=SlsState.pending, active_devices=0, created_at=now)
    s.add(user)
    s.flush()
    for r in OPT_OUT_RESTRICTIONS:  # a new account starts opted out; the restrictions stay until enrolled
        s.add(UserRestriction(user=user, restriction=r, imposed_at=now))
    s.add(OptOutAcknowledgement(user_id=user.id, acknowledged_at=now, recorded_by="demo",
                                statement="Client acknowledged the opt-out risks (demo data)."))
    audit.record(s, at=now, actor="demo", action="account.opened",
                 summary=f"Account {account.number} (individual) opened", account_id=account.id)
    audit.record(s, at=now, actor="demo", action="user.pending",
                 summary=f"{user.username} opting in by sharing {owner.username}'s device", account_id=account.id,
                 user_id=user.id)
    open_request(s, "demo", device, user, ACROSS_ENTITIES, now)


def _free(s: Session, rng: random.Random, make: Callable[[int], str], column: InstrumentedAttribute[str],
          taken: set[str]) -> str:
    """A value of `column` no row holds yet. `make(width)` draws one with a number part `width` digits wide: 3 at
    first, one more every 10 tries, since at a million users every stem000-stem999 of a common stem is taken."""
    for attempt in range(50):
        value = make(3 + attempt // 10)
        if value not in taken and s.scalar(select(column).where(column == value)) is None:
            taken.add(value)
            return value
    raise RuntimeError("could not find a free demo username or account number")
