"""Charges per account: listing by status, waiving with a reason (audited), billing."""

import pytest
from sqlalchemy import select

from console.models.charges import ChargeService
from console.models.entities import AuditEntry, Charge
from console.models.enums import ChargeStatus
from console.models.errors import InvalidInput, NotFound, PermissionDenied, RuleViolation
from tests.lifecycle import audit_count, enroll_primary, replaced_card


@pytest.fixture
def charges(ctx):
    return ChargeService(ctx)


@pytest.fixture
def charge_id(ctx, world, back_office):
    """A pending 20 USD replacement charge on U1234567 (a lost DSC+)."""
    enroll_primary(ctx, world)  # jsmit001 holds the rights
    replaced_card(ctx, back_office, world.primary_id, world.account_id, "DSC000000401", "DSC000000402")
    with ctx.db.read() as s:
        return s.scalar(select(Charge.id))


def test_charges_listed_per_account_and_status(ctx, world, charges, charge_id):
    """The account's charges are listed with their status; other accounts and statuses filter out."""
    [row] = charges.for_account(world.account_id)
    assert (row.id, row.account_number, row.amount_cents, row.status) == (charge_id, "U1234567", 2000,
                                                                          ChargeStatus.pending)
    assert row.device_serial == "DSC000000401"
    assert charges.for_account(world.org_account_id) == []
    assert charges.for_account(world.account_id, ChargeStatus.waived) == []
    assert charges.totals(world.account_id)[ChargeStatus.pending] == 2000
    assert charges.account_id_for(" u1234567 ") == world.account_id
    with pytest.raises(NotFound, match="no account U0000000"):
        charges.account_id_for("U0000000")


def test_waiving_needs_a_reason(ctx, charges, charge_id, back_office):
    """A blank or token reason is refused; the charge stays pending and nothing is audited."""
    before = audit_count(ctx)
    for reason in ("", "   ", "ok"):
        with pytest.raises(InvalidInput, match="reason"):
            charges.waive(back_office, charge_id, reason)
    assert charges.window()[0].status is ChargeStatus.pending
    assert audit_count(ctx) == before


def test_waiving_records_who_why_and_when_in_the_audit(ctx, charges, charge_id, back_office):
    """Waiving keeps the reason, who waived and when, and writes an audit entry."""
    row = charges.waive(back_office, charge_id, "Card lost in the post by our courier")
    assert (row.status, row.waived_by, row.waived_at) == (ChargeStatus.waived, "boff01", ctx.clock.now())
    assert row.waived_reason == "Card lost in the post by our courier"
    with ctx.db.read() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "charge.waived")).one()
        assert "courier" in entry.summary and entry.actor == "boff01"


def test_waiving_twice_is_refused(ctx, charges, charge_id, back_office):
    """A waived charge cannot be waived again."""
    charges.waive(back_office, charge_id, "Goodwill, first loss")
    with pytest.raises(RuleViolation, match="already waived"):
        charges.waive(back_office, charge_id, "Goodwill again")


def test_billed_charge_cannot_be_waived(ctx, charges, charge_id, back_office):
    """Billing moves a pending charge to billed; a billed charge is refunded through billing, not waived."""
    assert charges.mark_billed(back_office, [charge_id]) == 1
    with pytest.raises(RuleViolation, match="billed"):
        charges.waive(back_office, charge_id, "Goodwill gesture")
    with pytest.raises(RuleViolation, match="only pending"):
        charges.mark_billed(back_office, [charge_id])


def test_agent_may_not_waive(ctx, charges, charge_id, agent):
    """Waiving is a back-office permission."""
    with pytest.raises(PermissionDenied):
        charges.waive(agent, charge_id, "Because the client asked")
