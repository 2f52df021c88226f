"""A mailed DSC+ not activated within its window becomes required at login; activating it late is allowed
and flagged."""

from __future__ import annotations

import json

from sqlalchemy import select

from console.app import run_startup_tasks
from console.models.devices import DeviceQuery, DeviceService
from console.models.directory import UserDirectory
from console.models.entities import AuditEntry
from console.models.settings_service import SettingsService
from tests.lifecycle import audit_actions, challenge_and_response, enroll_primary, make_rich


def _ship(ctx, world, back_office) -> int:
    make_rich(ctx, world.account_id)
    enroll_primary(ctx, world)
    devices = DeviceService(ctx)
    [card] = devices.receive_stock(back_office, "DSC000000501")
    devices.ship(back_office, card, world.primary_id)
    return card


def test_card_not_activated_in_time_is_required_at_login(ctx, world, back_office, clock):
    """The start-up run marks it once (audited); the lists show and filter it."""
    card = _ship(ctx, world, back_office)
    clock.advance(days=13)
    run_startup_tasks(ctx)
    devices = DeviceService(ctx)
    assert devices.get(card).required_at_login_since is None
    clock.advance(days=1, minutes=1)
    run_startup_tasks(ctx)
    run_startup_tasks(ctx)
    row = devices.get(card)
    assert row.required_at_login_since == clock.now() and row.state_label == "Shipped · required at login"
    assert [r.id for r in devices.window(DeviceQuery(required_at_login=True), 0, 10)] == [card]
    assert audit_actions(ctx, card).count("device.required_at_login") == 1
    detail = UserDirectory(ctx).details(world.primary_id)
    assert "Shipped · required at login" in [d.state_label for d in detail.devices]


def test_window_is_a_setting(ctx, world, back_office, admin, clock):
    """With a 3-day window, a card is required at login after 3 days."""
    SettingsService(ctx).update(admin, "dsc_activation_window_days", 3)
    card = _ship(ctx, world, back_office)
    clock.advance(days=3, minutes=1)
    run_startup_tasks(ctx)
    assert DeviceService(ctx).get(card).required_at_login_since is not None


def test_late_activation_is_allowed_and_flagged(ctx, world, back_office, clock):
    """Activating after the window works; its audit entry says it was late and since when it was required."""
    card = _ship(ctx, world, back_office)
    clock.advance(days=20)
    run_startup_tasks(ctx)
    ch, resp = challenge_and_response(ctx, back_office, card)
    row = DeviceService(ctx).activate_shipped(back_office, card, ch, resp)
    assert row.state_label == "Active"
    with ctx.db.read() as s:
        summary, details = s.execute(select(AuditEntry.summary, AuditEntry.details).where(
            AuditEntry.device_id == card, AuditEntry.action == "device.activated")).one()
    assert json.loads(details)["late"] is True and "after its activation window" in summary
    assert "required at login since" in summary
