"""Printed Security Code Cards: mailed with no fee and no return, activated by the values at two index numbers,
made by the same card code as the online card."""

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from console.models.entities import AuditEntry, Charge, Reserve, SecurityDevice, User
from console.models.enums import DeviceKind, DeviceState, SlsState
from console.models.errors import PermissionDenied, RightsError, RuleViolation, VerificationFailed
from console.models.limits import Limit
from console.models.printed_cards import PrintedCardService
from console.models.verification import VerificationService


@pytest.fixture
def cards(ctx):
    return PrintedCardService(ctx)


def answer(ctx, agent, card, wrong=False):
    ch = VerificationService(ctx).issue_challenge(agent, card.device_id)
    a, b = ch.positions
    first = "ZZZ" if wrong and card.values[a] != "ZZZ" else card.values[a]
    return ch.id, first + card.values[b]


def test_card_is_mailed_without_fee_reserve_or_return(ctx, world, cards, agent):
    """jsmit001's card goes out shipped with a 14-day window; its 100 values are returned once, only hashes kept."""
    card = cards.issue(agent, world.primary_id)
    assert len(card.values) == 100 and card.serial.startswith("SCC-")
    assert card.activation_due_at - card.mailed_at == dt.timedelta(days=14)
    with ctx.db.read() as s:
        d = s.get(SecurityDevice, card.device_id)
        assert (d.kind, d.state, d.return_due_at) == (DeviceKind.code_card, DeviceState.shipped, None)
        assert card.values[1].encode() not in d.secret_hash
        assert s.scalar(select(func.count()).select_from(Charge)) == 0
        assert s.scalar(select(func.count()).select_from(Reserve)) == 0
        assert s.scalars(select(AuditEntry.action).where(AuditEntry.device_id == d.id)).all() == ["device.card_mailed"]


def test_activation_by_two_index_numbers_enrolls_an_opted_out_user(ctx, world, cards, agent):
    card = cards.issue(agent, world.primary_id)
    challenge_id, values = answer(ctx, agent, card)
    cards.activate(agent, card.device_id, challenge_id, values)
    with ctx.db.read() as s:
        assert s.get(SecurityDevice, card.device_id).state is DeviceState.active
        assert s.get(User, world.primary_id).sls_state is SlsState.enrolled
    from console.models.directory import UserDirectory

    assert UserDirectory(ctx).details(world.primary_id).limits.best == Limit(200_000, 600_000)


def test_wrong_values_refused_and_card_stays_waiting(ctx, world, cards, agent):
    card = cards.issue(agent, world.primary_id)
    challenge_id, values = answer(ctx, agent, card, wrong=True)
    with pytest.raises(VerificationFailed, match="not correct"):
        cards.activate(agent, card.device_id, challenge_id, values)
    with ctx.db.read() as s:
        assert s.get(SecurityDevice, card.device_id).state is DeviceState.shipped
        assert s.get(User, world.primary_id).sls_state is SlsState.opted_out


def test_late_activation_allowed_and_flagged(ctx, world, cards, agent):
    card = cards.issue(agent, world.primary_id)
    ctx.clock.advance(days=15)
    challenge_id, values = answer(ctx, agent, card)
    cards.activate(agent, card.device_id, challenge_id, values)
    with ctx.db.read() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "device.activated")).one()
        assert "after its window" in entry.summary and json.loads(entry.details) == {"late": True}


def test_refused_without_rights_naming_the_holder(ctx, world, cards, agent):
    with pytest.raises(RightsError, match="Ask Jane Smith \\(jsmit001\\)"):
        cards.issue(agent, world.secondary_id)


def test_refused_for_a_role_without_device_work(ctx, world, cards, auditor):
    with pytest.raises(PermissionDenied):
        cards.issue(auditor, world.primary_id)


def test_second_card_refused_while_one_is_out(ctx, world, cards, agent):
    card = cards.issue(agent, world.primary_id)
    with pytest.raises(RuleViolation, match=f"already has Security Code Card {card.serial}"):
        cards.issue(agent, world.primary_id)


def test_only_a_mailed_card_is_activated_here(ctx, world, cards, agent):
    """jsmit123's IB Key is not a mailed card; the activation refuses it before asking for values."""
    with pytest.raises(RuleViolation, match="only a mailed Security Code Card"):
        cards.activate(agent, world.secondary_device_id, 1, "ABCDEF")


def test_card_values_come_from_one_place():
    """Online and printed cards are made by cards.new_card_device: no copy of the card set-up elsewhere."""
    import inspect

    from console.models import enrollment, printed_cards, temporary_access

    for module in (enrollment, temporary_access, printed_cards):
        source = inspect.getsource(module)
        assert "new_card_device(" in source and "card_hashes(" not in source
