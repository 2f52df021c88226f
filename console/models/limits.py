"""Withdrawal limits by protection level: what a user may withdraw with each of its devices, and without one.

The published table (docs/sls-rules.md) gives a limit per day and per 5 business days for each kind of device
and for a user without one (opted out). Under M2FS the device used at login decides the limit, so a user with
several active devices has several limits; the best of them is what the client can reach by logging in with
its most protective device. Figures are settings; 0 means no limit (DSC+).

Gold and Platinum (legacy hardware) are not in the published table either: they get a row of their own,
the "high" figures by default (docs/sls-rules.md, "Legacy devices", says why). A temporary passcode is not in
the published table: it gives the "none" row (it proves no device). An Online
Security Code Card is a Security Code Card and gets that row. A pending or opted-out user, and an enrolled user
whose devices are all out of use, gets the "none" row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.models.device_rules import mask_phone
from console.models.entities import DeviceHolding, SecurityDevice, User
from console.models.enums import DeviceKind, DeviceState, SlsState
from console.models.settings import Figures

# The settings prefix of each kind's row; kinds missing here (temporary passcode) get the "none" row.
_ROW_OF_KIND = {DeviceKind.sms: "sms", DeviceKind.ib_key: "ib_key", DeviceKind.code_card: "code_card",
                DeviceKind.online_code_card: "code_card", DeviceKind.dsc_plus: "dsc_plus",
                DeviceKind.gold: "legacy", DeviceKind.platinum: "legacy"}
NO_DEVICE = "none"


@dataclass(frozen=True)
class Limit:
    """A withdrawal limit in whole USD; None means no limit."""

    per_day: int | None
    per_5_days: int | None

    @property
    def rank(self) -> tuple[float, float]:
        inf = float("inf")
        return (inf if self.per_day is None else self.per_day, inf if self.per_5_days is None else self.per_5_days)

    @property
    def text(self) -> str:
        if self.per_day is None and self.per_5_days is None:
            return "no limit"
        return f"{usd(self.per_day)} per day, {usd(self.per_5_days)} per 5 business days"

    @property
    def short(self) -> str:
        """For a narrow pane: "USD 200,000 / day · USD 600,000 / 5 days"."""
        if self.per_day is None and self.per_5_days is None:
            return "no limit"
        return f"{usd(self.per_day)} / day · {usd(self.per_5_days)} / 5 business days"


@dataclass(frozen=True)
class DeviceLimit:
    device_id: int | None
    label: str
    limit: Limit


@dataclass(frozen=True)
class UserLimits:
    """The limits of each active device of a user, and the best one (or the "none" row without a device)."""

    per_device: tuple[DeviceLimit, ...]
    best: Limit

    @property
    def text(self) -> str:
        if not self.per_device:
            return f"{self.best.text} (no security device)"
        return f"up to {self.best.text}"


def usd(amount: int | None) -> str:
    return "no limit" if amount is None else f"USD {amount:,}"


def _row(fig: Figures, row: str) -> Limit:
    day = getattr(fig, f"limit_{row}_day_usd")
    five = getattr(fig, f"limit_{row}_5days_usd")
    return Limit(day or None, five or None)


def no_device_limit(fig: Figures) -> Limit:
    """The limit of a user who logs in without a second factor (the opted-out row)."""
    return _row(fig, NO_DEVICE)


def limit_for(kind: DeviceKind, fig: Figures) -> Limit:
    return _row(fig, _ROW_OF_KIND.get(kind, NO_DEVICE))


def user_limits(s: Session, user: User, fig: Figures, at: dt.datetime) -> UserLimits:
    """The limits `user` has now: one per active, unlocked, unexpired device while enrolled."""
    per_device: list[DeviceLimit] = []
    if user.sls_state is SlsState.enrolled:
        devices = s.scalars(select(SecurityDevice).join(DeviceHolding, DeviceHolding.device_id == SecurityDevice.id)
                            .where(DeviceHolding.user_id == user.id, SecurityDevice.state == DeviceState.active,
                                   SecurityDevice.locked.is_(False)).order_by(SecurityDevice.id))
        for d in devices:
            if d.expires_at is not None and d.expires_at <= at:
                continue
            tag = d.serial or (mask_phone(d.phone) if d.phone else "")
            per_device.append(DeviceLimit(d.id, d.kind.label + (f" {tag}" if tag else ""),
                                          limit_for(d.kind, fig)))
    best = max((d.limit for d in per_device), key=lambda lim: lim.rank, default=no_device_limit(fig))
    return UserLimits(tuple(per_device), best)
