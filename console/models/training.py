"""Training on demo data: what the client's own devices would show (an IB Key's current code, a DSC+ response,
a card's values), so a new agent can finish every opt-in and activation path without a phone or a card.

Only on a demo database: one marked by create_demo_staff whose active staff are all demo staff. A database
with any other staff member never answers, and card values are kept (sealed) for training only on a demo one.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from console.models import vault
from console.models.arguments import checked_arguments
from console.models.context import Actor, ServiceContext
from console.models.db import is_row_id, retries_conflicts
from console.models.demo_staff import DEMO_FLAG, DEMO_STAFF
from console.models.entities import DeviceHolding, SecurityDevice, Setting, StaffMember, User
from console.models.enums import DeviceKind, DeviceState
from console.models.errors import InvalidInput, NotFound, PermissionDenied
from console.models.lookups import existing_user
from console.models.permissions import Permission, require
from console.models.sealing import device_context
from console.models.sharing import same_person_users
from console.models.verification import TOTP_STEP_SECONDS, dsc_response

NOT_A_DEMO = ("The client's devices are shown only on a demo database, for training. This database has real staff "
              "or real clients: ask the client to read from their own device.")
CARD_KINDS = (DeviceKind.code_card, DeviceKind.online_code_card)
_CARD_TAG = b"training-card:"  # a card's values, sealed in sealed_secret (unused by cards otherwise)


@dataclass(frozen=True)
class ClientDevice:
    id: int
    kind: DeviceKind
    label: str  # "IB Key", "DSC+ DSC900000002", "Online Security Code Card OSC-…"
    state: DeviceState
    usernames: tuple[str, ...]  # the usernames of this person that hold it
    locked: bool


def training_allowed(s: Session) -> bool:
    """A demo database on SQLite (a shared PostgreSQL database keeps seeds where no desk can read them:
    console/models/vault.py)."""
    return not vault.on_server(s) and _demo_database(s)


def _demo_database(s: Session) -> bool:
    """Marked as a demo, and every active staff member is one of the demo staff."""
    if s.get(Setting, DEMO_FLAG) is None:
        return False
    demo_names = {name for name, _, _ in DEMO_STAFF}
    active = set(s.scalars(select(StaffMember.username).where(StaffMember.active.is_(True))))
    return bool(active) and active <= demo_names


def keep_card_for_training(s: Session, ctx: ServiceContext, device: SecurityDevice, values: dict[int, str]) -> None:
    """On a demo database only, keep a new card's values sealed so the training window can show the card."""
    if training_allowed(s):
        s.flush()
        device.sealed_secret = ctx.box.seal(s, _CARD_TAG + json.dumps(values).encode(), device_context(device.id))


@checked_arguments
@retries_conflicts
class TrainingService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def available(self) -> bool:
        with self.ctx.read() as s:
            return training_allowed(s)

    def devices_of(self, actor: Actor, user_id: int) -> list[ClientDevice]:
        """The devices the person behind `user_id` holds under any of their usernames (not revoked)."""
        with self._demo(actor) as s:
            user = existing_user(s, user_id)
            same = [user, *same_person_users(s, user)]
            rows = s.execute(select(SecurityDevice, User.username)
                             .join(DeviceHolding, DeviceHolding.device_id == SecurityDevice.id)
                             .join(User, User.id == DeviceHolding.user_id)
                             .where(User.id.in_([u.id for u in same]),
                                    SecurityDevice.state != DeviceState.revoked)
                             .order_by(SecurityDevice.id, User.username)).all()
            out: dict[int, tuple[SecurityDevice, list[str]]] = {}
            for device, username in rows:
                out.setdefault(device.id, (device, []))[1].append(username)
            return [ClientDevice(d.id, d.kind, _label(d), d.state, tuple(names), d.locked)
                    for d, names in out.values()]

    def ib_key_code(self, actor: Actor, device_id: int) -> tuple[str, int]:
        """The code the IB Key app shows now, and the seconds until it changes."""
        with self._demo(actor) as s:
            device = self._device(s, device_id, (DeviceKind.ib_key,))
            seed = vault.open_seed(s, self.ctx.box, device)
        now = self.ctx.clock.now()
        left = TOTP_STEP_SECONDS - int(now.timestamp()) % TOTP_STEP_SECONDS
        return pyotp.TOTP(seed).at(now), left

    def dsc_response(self, actor: Actor, device_id: int, challenge: str) -> str:
        """What the DSC+ card displays after the client types `challenge` (6 digits) into it."""
        challenge = (challenge or "").strip()
        if not (len(challenge) == 6 and challenge.isascii() and challenge.isdigit()):
            raise InvalidInput("A DSC+ challenge is the 6-digit number the console shows; type it as shown.")
        with self._demo(actor) as s:
            device = self._device(s, device_id, (DeviceKind.dsc_plus,))
            seed = vault.open_seed(s, self.ctx.box, device)
        return dsc_response(seed, challenge)

    def card_values(self, actor: Actor, device_id: int) -> dict[int, str]:
        """The values printed on the card, by index number (cards issued on this demo database)."""
        with self._demo(actor) as s:
            device = self._device(s, device_id, CARD_KINDS)
            if device.sealed_secret is None:
                raise NotFound(f"{_label(device)} was made before training kept card values; issue a new card "
                               f"in the opt-in to practise with one.")
            plain = self.ctx.box.open(device.sealed_secret, device_context(device.id))
        if not plain.startswith(_CARD_TAG):
            raise NotFound(f"{_label(device)} has no training values.")
        return {int(k): v for k, v in json.loads(plain[len(_CARD_TAG):]).items()}

    # --- internals -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _demo(self, actor: Actor) -> Iterator[Session]:
        with self.ctx.db.read() as s:
            require(s, actor, Permission.view)
            if not training_allowed(s):
                raise PermissionDenied(vault.NOT_ON_THIS_DESK if _demo_database(s) else NOT_A_DEMO)
            yield s

    @staticmethod
    def _device(s: Session, device_id: int, kinds: tuple[DeviceKind, ...]) -> SecurityDevice:
        device = s.get(SecurityDevice, device_id) if is_row_id(device_id) else None
        if device is None:
            raise NotFound(f"Device #{device_id} no longer exists; refresh the view.")
        if device.kind not in kinds:
            raise InvalidInput(f"A {device.kind.label} does not show that.")
        return device


def _label(device: SecurityDevice) -> str:
    return f"{device.kind.label} {device.serial}" if device.serial else device.kind.label
