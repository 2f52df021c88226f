"""Small steps the tests of limits, SMS, sharing review and printed cards share."""

from __future__ import annotations

import pyotp

from console.models.devices import DeviceService
from console.models.enrollment import EnrollmentService
from console.models.enums import StaffRole
from console.models.opt_out_terms import STATEMENT
from console.models.settings_service import SettingsService
from tests.sessions import signed_in


def set_figure(ctx, key: str, value: int) -> None:
    SettingsService(ctx).update(signed_in(ctx, "admin01", "Alex Admin", StaffRole.administrator), key, value)


def opt_in_by_ib_key(ctx, actor, user_id: int) -> int:
    """Opt `user_id` in with a new IB Key, answering as the client's app would; returns the device id."""
    svc = EnrollmentService(ctx)
    start = svc.start_ib_key(actor, user_id)
    svc.confirm(actor, user_id, start.device_id, pyotp.TOTP(start.secret).at(ctx.clock.now()))
    return start.device_id


def opt_out(ctx, actor, user_id: int):
    return EnrollmentService(ctx).opt_out(actor, user_id, STATEMENT, acknowledged=True)


def lose_only_device(ctx, actor, world) -> None:
    """jsmit123 reports its only device (the IB Key) lost and gets a temporary passcode in its place."""
    DeviceService(ctx).report(actor, world.secondary_device_id, "lost", user_id=world.secondary_id,
                              issue_temporary_passcode=True, identity_verified=True)
