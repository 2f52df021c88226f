"""The device lifecycle for tests, built once here: a DSC+ shipped, activated, lost and replaced as the back
office and the help desk would do it; plus card responses and counting rows."""

from __future__ import annotations

from sqlalchemy import func, select

from console.models.context import Actor
from console.models.devices import DeviceService
from console.models.entities import Account, AuditEntry, User
from console.models.verification import VerificationService, dsc_response
from tests.seeds import stored_seed

RICH_CENTS = 1_000_000_00  # above the DSC+ equity threshold


def make_rich(ctx, account_id: int) -> None:
    with ctx.db.write() as s:
        s.get(Account, account_id).equity_cents = RICH_CENTS


def card_seed(ctx, device_id: int) -> str:
    return stored_seed(ctx, device_id)


def challenge_and_response(ctx, actor, device_id: int) -> tuple[int, str]:
    """Draw a challenge as the console would, and answer it as the card would."""
    ch = VerificationService(ctx).issue_challenge(actor, device_id)
    return ch.id, dsc_response(card_seed(ctx, device_id), ch.number)


def audit_actions(ctx, device_id: int | None = None) -> list[str]:
    with ctx.db.read() as s:
        stmt = select(AuditEntry.action).order_by(AuditEntry.id)
        if device_id is not None:
            stmt = stmt.where(AuditEntry.device_id == device_id)
        return list(s.scalars(stmt))


def audit_count(ctx) -> int:
    with ctx.db.read() as s:
        return s.scalar(select(func.count()).select_from(AuditEntry)) or 0


def user(ctx, user_id: int) -> User:
    with ctx.db.read() as s:
        u = s.get(User, user_id)
        s.expunge(u)
        return u


def shipped_card(ctx, actor: Actor, user_id: int, account_id: int, serial: str) -> int:
    """A DSC+ received into stock as `serial` and mailed to `user_id` (the account made DSC+-eligible first)."""
    devices = DeviceService(ctx)
    make_rich(ctx, account_id)
    [card] = devices.receive_stock(actor, serial)
    devices.ship(actor, card, user_id)
    return card


def active_card(ctx, actor: Actor, user_id: int, account_id: int, serial: str) -> int:
    """shipped_card(), then activated with the response the card gives to a challenge."""
    card = shipped_card(ctx, actor, user_id, account_id, serial)
    ch, resp = challenge_and_response(ctx, actor, card)
    DeviceService(ctx).activate_shipped(actor, card, ch, resp)
    return card


def replaced_card(ctx, actor: Actor, user_id: int, account_id: int, serial: str, spare: str) -> int:
    """active_card(), then reported lost and a replacement ordered from the spare in stock: the lost card
    carries a pending replacement charge."""
    card = active_card(ctx, actor, user_id, account_id, serial)
    devices = DeviceService(ctx)
    devices.receive_stock(actor, spare)
    devices.report(actor, card, "lost")
    devices.order_replacement(actor, card)
    return card


def enroll_primary(ctx, world) -> int:
    """jsmit001 (primary of U1234567, holds its security rights) enrolled with an IB Key and its restrictions
    lifted, so devices can be shipped to it; returns the IB Key's id. Safe to call twice."""
    from console.models.entities import UserRestriction
    from console.models.enums import DeviceKind, SlsState
    from tests.factories import add_device

    with ctx.db.write() as s:
        jane = s.get(User, world.primary_id)
        if jane.sls_state is SlsState.enrolled:
            return next(h.device_id for h in jane.holdings if h.device.kind is DeviceKind.ib_key)
        jane.sls_state = SlsState.enrolled
        for r in s.scalars(select(UserRestriction).where(UserRestriction.user_id == jane.id)):
            r.lifted_at = ctx.clock.now()
        ib_key, _ = add_device(s, ctx, jane, DeviceKind.ib_key)
        return ib_key.id
