"""A decision made on a stale screen is refused, naming what another desk changed, who and when; nothing changes.

Each test: desk A reads the record as its screen shows it (its version), desk B changes it, then A acts carrying
that version. The same call with the current version goes through (the check refuses only what is stale)."""

from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import select

from console.models.charges import ChargeService
from console.models.devices import DeviceService
from console.models.entities import Charge, SecurityDevice, SharingRequest, User
from console.models.errors import ConcurrentChange
from console.models.printed_cards import PrintedCardService
from console.models.returns import ReturnsService
from console.models.sharing_review import SharingReviewService
from console.models.sms import Outbox, SmsService
from console.models.staff import StaffService
from console.models.verification import VerificationService
from tests.factories import add_device, add_same_person_username
from tests.lifecycle import audit_count, enroll_primary, make_rich, replaced_card
from tests.sls_helpers import lose_only_device

BY_B = r"\(by Bob Office at \d\d:\d\d\)"


def refused(ctx, call, what: str) -> None:
    before = audit_count(ctx)
    with pytest.raises(ConcurrentChange, match=rf"Another desk changed {what} while you were working on it: .*{BY_B}"):
        call()
    assert audit_count(ctx) == before


def version(ctx, entity, row_id: int) -> int:
    with ctx.db.read() as s:
        return s.get(entity, row_id).version


def test_waive_on_a_stale_screen(ctx, world, back_office, admin):
    """B marked the charge billed after A opened it: A's waiver is refused naming B's change."""
    enroll_primary(ctx, world)
    card = replaced_card(ctx, admin, world.primary_id, world.account_id, "DSC000000901", "DSC000000902")
    with ctx.db.read() as s:
        charge_id = s.scalar(select(Charge.id).where(Charge.device_id == card))
    shown = version(ctx, Charge, charge_id)
    ChargeService(ctx).mark_billed(back_office, [charge_id])
    refused(ctx, lambda: ChargeService(ctx).waive(admin, charge_id, "goodwill after a call",
                                                  expected_version=shown), "the charge of 20.00 USD on U1234567")


def test_waive_with_the_current_version_goes_through(ctx, world, back_office, admin):
    enroll_primary(ctx, world)
    card = replaced_card(ctx, admin, world.primary_id, world.account_id, "DSC000000901", "DSC000000902")
    with ctx.db.read() as s:
        charge_id = s.scalar(select(Charge.id).where(Charge.device_id == card))
    ChargeService(ctx).waive(back_office, charge_id, "goodwill after a call",
                             expected_version=version(ctx, Charge, charge_id))


def test_ship_revoke_unlock_and_return_on_a_stale_screen(ctx, world, back_office, admin):
    devices = DeviceService(ctx)
    enroll_primary(ctx, world)
    make_rich(ctx, world.account_id)
    # Ship: B shipped the card to someone else first.
    [card] = devices.receive_stock(admin, "DSC000000911")
    shown = version(ctx, SecurityDevice, card)
    devices.ship(back_office, card, world.primary_id)
    refused(ctx, lambda: devices.ship(admin, card, world.primary_id, expected_version=shown), "DSC\\+ DSC000000911")
    # Revoke: B revoked it already.
    shown = version(ctx, SecurityDevice, card)
    devices.revoke(back_office, card, "client has an IB Key")
    refused(ctx, lambda: devices.revoke(admin, card, expected_version=shown), "DSC\\+ DSC000000911")
    # Return: B received it.
    shown = version(ctx, SecurityDevice, card)
    ReturnsService(ctx).receive_return(back_office, card)
    refused(ctx, lambda: ReturnsService(ctx).receive_return(admin, card, expected_version=shown),
            "DSC\\+ DSC000000911")
    # Unlock: B unlocked the locked IB Key of jsmit123.
    with ctx.db.write() as s:
        s.get(SecurityDevice, world.secondary_device_id).locked = True
    shown = version(ctx, SecurityDevice, world.secondary_device_id)
    VerificationService(ctx).unlock(back_office, world.secondary_device_id, "identity verified by phone")
    refused(ctx, lambda: VerificationService(ctx).unlock(admin, world.secondary_device_id,
                                                         expected_version=shown), "IB Key")


def test_ship_refused_when_the_user_changed_since(ctx, world, admin):
    """The ship dialog showed jsmit001 enrolled; B opted her out meanwhile."""
    from tests.sls_helpers import opt_out

    enroll_primary(ctx, world)
    make_rich(ctx, world.account_id)
    [card] = DeviceService(ctx).receive_stock(admin, "DSC000000912")
    shown_user = version(ctx, User, world.primary_id)
    opt_out(ctx, admin_b(ctx), world.primary_id)
    refused(ctx, lambda: DeviceService(ctx).ship(admin, card, world.primary_id, user_version=shown_user,
                                                 expected_version=version(ctx, SecurityDevice, card)), "jsmit001")


def test_unshare_on_a_stale_screen(ctx, world, admin):
    """B reported the IB Key jsmit001 shares with jsmit123 damaged after A opened it; A's "stop sharing" is
    refused naming B's report."""
    from console.models.entities import DeviceHolding

    enroll_primary(ctx, world)
    with ctx.db.write() as s:
        jane, john = s.get(User, world.primary_id), s.get(User, world.secondary_id)
        device, _ = add_device(s, ctx, jane, preferred=False)
        s.add(DeviceHolding(user=john, device=device, preferred=False, since=ctx.clock.now()))
        john.active_devices += 1
        device_id = device.id
    shown = version(ctx, SecurityDevice, device_id)
    DeviceService(ctx).report(admin_b(ctx), device_id, "damaged")
    refused(ctx, lambda: DeviceService(ctx).unshare(admin, device_id, world.primary_id, expected_version=shown),
            "IB Key")


def test_sms_issue_and_end_on_a_stale_screen(ctx, world, agent):
    """B set up SMS for jsmit123 while A's dialog was open: A's is refused. Then B ended it: A's end is refused."""
    from console.models.enums import DeviceKind

    sms = SmsService(ctx, Outbox())
    lose_only_device(ctx, agent, world)
    shown = version(ctx, User, world.secondary_id)
    issued = sms.issue(admin_b(ctx), world.secondary_id, "+41 79 123 45 67", identity_verified=True)
    refused(ctx, lambda: sms.issue(agent, world.secondary_id, "+41 79 765 43 21", identity_verified=True,
                                   expected_version=shown), "jsmit123")
    shown = version(ctx, SecurityDevice, issued.device_id)
    sms.end(admin_b(ctx), issued.device_id, "client found the phone")
    refused(ctx, lambda: sms.end(agent, issued.device_id, "found the phone", expected_version=shown),
            r"SMS to \S+")
    with ctx.db.read() as s:
        assert s.get(SecurityDevice, issued.device_id).kind is DeviceKind.sms


def admin_b(ctx):
    """Desk B's staff member, for changes made through help-desk services."""
    from console.models.enums import StaffRole
    from tests.sessions import signed_in

    return signed_in(ctx, "boff01", "Bob Office", StaffRole.administrator)


def test_printed_card_issue_and_activate_on_a_stale_screen(ctx, world, agent, admin):
    cards = PrintedCardService(ctx)
    from console.models.enrollment import EnrollmentService

    shown = version(ctx, User, world.org_holder_id)
    EnrollmentService(ctx).start_ib_key(admin_b(ctx), world.org_holder_id)  # B starts an opt-in meanwhile
    refused(ctx, lambda: cards.issue(agent, world.org_holder_id, expected_version=shown), "bbake001")
    EnrollmentService(ctx).cancel(admin_b(ctx), world.org_holder_id)
    mailed = cards.issue(admin_b(ctx), world.org_holder_id)
    # B revoked the mailed card; A's activation from the dialog opened before is refused naming it.
    shown = version(ctx, SecurityDevice, mailed.device_id)
    ch = VerificationService(ctx).issue_challenge(agent, mailed.device_id)
    DeviceService(ctx).revoke(admin_b(ctx), mailed.device_id, "mailed to an old address")
    answer = "".join(mailed.values[p] for p in ch.positions)
    refused(ctx, lambda: cards.activate(agent, mailed.device_id, ch.id, answer, expected_version=shown),
            f"Security Code Card {mailed.serial}")


def test_printed_card_still_waiting_activates_after_a_wrong_answer(ctx, world, agent):
    """A wrong answer moves the card's version; the dialog's next try with the right values still goes through."""
    from console.models.errors import VerificationFailed

    cards = PrintedCardService(ctx)
    mailed = cards.issue(agent, world.org_holder_id)
    shown = version(ctx, SecurityDevice, mailed.device_id)
    ch = VerificationService(ctx).issue_challenge(agent, mailed.device_id)
    with pytest.raises(VerificationFailed):
        cards.activate(agent, mailed.device_id, ch.id, "ZZZZZZ", expected_version=shown)
    ch = VerificationService(ctx).issue_challenge(agent, mailed.device_id)
    cards.activate(agent, mailed.device_id, ch.id, "".join(mailed.values[p] for p in ch.positions),
                   expected_version=shown)


def test_sharing_decision_on_a_stale_screen(ctx, world, agent, compliance):
    """B approved the request while A's queue still showed it waiting: A's rejection names B's approval."""
    from console.models.enrollment import EnrollmentService
    from console.models.enums import StaffRole
    from tests.sessions import signed_in

    twin = add_same_person_username(ctx, world.primary_id, "jsmit777", "U2222222")
    device_id, _, seed = twin["devices"][0]
    svc = EnrollmentService(ctx)
    svc.start_shared(agent, world.primary_id, "jsmit777")
    request_id = svc.confirm(agent, world.primary_id, device_id, pyotp.TOTP(seed).at(ctx.clock.now())).request_id
    shown = version(ctx, SharingRequest, request_id)
    bob = signed_in(ctx, "boff01", "Bob Office", StaffRole.compliance)
    SharingReviewService(ctx).approve(bob, request_id, "Passport and date of birth match")
    refused(ctx, lambda: SharingReviewService(ctx).reject(compliance, request_id, "not the same person",
                                                          expected_version=shown), "the sharing request of jsmit001")


def test_staff_decisions_on_a_stale_screen(ctx, admin):
    """B deactivated hdesk02 while A's staff list showed it active: A's reset and unlock are refused; a sign-in
    (which also writes the member's row) does not make A's screen stale."""
    from console.models.enums import StaffRole
    from tests.sessions import signed_in

    staff = StaffService(ctx)
    signed_in(ctx, "hdesk02", "Hank Desk", StaffRole.help_desk)
    [shown] = [m for m in staff.members(admin) if m.username == "hdesk02"]
    bob = signed_in(ctx, "boff01", "Bob Office", StaffRole.administrator)
    staff.unlock(bob, "hdesk02", shown=shown)  # nothing shown changed: goes through
    staff.deactivate(bob, "hdesk02", shown=shown)
    refused(ctx, lambda: staff.reset_second_factor(admin, "hdesk02", shown=shown), "hdesk02")
    refused(ctx, lambda: staff.deactivate(admin, "hdesk02", shown=shown), "hdesk02")


def test_sending_an_sms_code_on_a_stale_screen(ctx, world, agent):
    """B ended jsmit123's SMS after A's detail pane showed it active: A's "Send SMS code now" is refused naming
    B's change, and nothing is texted; with the current version a code goes out."""
    outbox = Outbox()
    sms = SmsService(ctx, outbox)
    lose_only_device(ctx, agent, world)
    issued = sms.issue(agent, world.secondary_id, "+41 79 123 45 67", identity_verified=True)
    shown = version(ctx, SecurityDevice, issued.device_id)
    sms.send_code(agent, issued.device_id, expected_version=shown)  # nothing changed: goes through
    assert len(outbox.sent) == 1
    ctx.clock.advance(minutes=5)
    shown = version(ctx, SecurityDevice, issued.device_id)
    sms.end(admin_b(ctx), issued.device_id, "client found the phone")
    refused(ctx, lambda: sms.send_code(agent, issued.device_id, expected_version=shown), r"SMS to \S+")
    assert len(outbox.sent) == 1


def _return_on_its_way(ctx, world, admin) -> int:
    """jsmit001's DSC+ revoked as no longer needed: a return on its way for U1234567."""
    from tests.lifecycle import challenge_and_response

    make_rich(ctx, world.account_id)
    enroll_primary(ctx, world)
    devices = DeviceService(ctx)
    [card] = devices.receive_stock(admin, "DSC000000931")
    devices.ship(admin, card, world.primary_id)
    ch, resp = challenge_and_response(ctx, admin, card)
    devices.activate_shipped(admin, card, ch, resp)
    devices.revoke(admin, card)
    return card


def test_closing_an_account_on_a_stale_screen(ctx, world, back_office, admin):
    """A was asked to close U1234567 with a DSC+ on its way back; B received the card meanwhile (so nothing would
    be charged for it): A's closing is refused naming B's receipt, and the account stays open."""
    from console.models.accounts import AccountService
    from console.models.entities import Account

    card = _return_on_its_way(ctx, world, admin)
    accounts = AccountService(ctx)
    shown = accounts.closing_preview(world.account_id)
    assert shown.number == "U1234567" and shown.in_transit == ["DSC+ DSC000000931"]
    ReturnsService(ctx).receive_return(admin_b(ctx), card)
    refused(ctx, lambda: accounts.close(back_office, world.account_id, force_reason="client moved abroad",
                                        expected_version=shown.version), "account U1234567")
    with ctx.db.read() as s:
        assert s.get(Account, world.account_id).closed_at is None


def test_closing_an_account_another_desk_closed_names_who(ctx, world, back_office):
    """B closed the account while A's question was open: A is told B closed it, not that it is unchanged."""
    from console.models.accounts import AccountService

    accounts = AccountService(ctx)
    shown = accounts.closing_preview(world.account_id)
    accounts.close(admin_b(ctx), world.account_id)
    refused(ctx, lambda: accounts.close(back_office, world.account_id, expected_version=shown.version),
            "account U1234567")


def test_closing_version_moves_with_a_user_of_the_account_and_not_with_others(ctx, world, back_office, agent):
    """The version covers the account's users and devices: enrolling its primary user moves it; an opt-in started
    for another account's user does not. Closing with the version shown after the change goes through."""
    from console.models.accounts import AccountService
    from console.models.enrollment import EnrollmentService

    accounts = AccountService(ctx)
    before = accounts.closing_preview(world.account_id).version
    EnrollmentService(ctx).start_ib_key(agent, world.org_holder_id)  # a user of another account
    assert accounts.closing_preview(world.account_id).version == before
    enroll_primary(ctx, world)
    after = accounts.closing_preview(world.account_id).version
    assert after != before
    result = accounts.close(back_office, world.account_id, expected_version=after)
    assert result.account_number == "U1234567"
