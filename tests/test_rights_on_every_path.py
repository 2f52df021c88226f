"""The security-rights rule on every path that changes a user's SLS state or devices.

Every public method of every service class in console.models is listed below exactly once: as a read, as a
path that must refuse a user without the account's security rights (with a driver that tries it), or as a
documented exception (docs/rules.md names each one and why). A new service method fails
test_every_service_method_is_classified until someone decides which it is."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import console.models
from console.models.accounts import AccountService
from console.models.devices import DeviceService
from console.models.enrollment import EnrollmentService
from console.models.entities import DeviceHolding, SecurityDevice, User
from console.models.enums import DeviceKind, DeviceState, SlsState, StaffRole, UserRole
from console.models.errors import RightsError
from console.models.printed_cards import PrintedCardService
from tests.factories import add_device, add_person, add_user, user_snapshot
from tests.invariants import assert_invariants
from tests.lifecycle import audit_count, challenge_and_response, make_rich

DOCS = Path(__file__).resolve().parent.parent / "docs" / "rules.md"

READS = {
    "AccountService.closing_preview", "ChargeService.account_id_for", "ChargeService.count",
    "ChargeService.for_account", "ChargeService.totals", "ChargeService.window", "DeviceService.count",
    "DeviceService.find_by_serial", "DeviceService.get", "DeviceService.holders", "DeviceService.in_stock_count",
    "DeviceService.offset_of",
    "DeviceService.window", "ReturnsService.overdue", "ReturnsService.pending", "RightsService.check",
    "TemporaryAccessService.can_issue", "ExportService.export", "DeviceService.dsc_eligibility",
    "DeviceService.oldest_in_stock", "DeviceService.replacement_fee", "EnrollmentService.other_usernames",
    # Training on demo data: computes what a demo client's device would answer; changes nothing.
    "TrainingService.available", "TrainingService.card_values", "TrainingService.devices_of",
    "TrainingService.dsc_response", "TrainingService.ib_key_code",
    "EnrollmentService.opt_out_statement", "EnrollmentService.opt_out_explanations",
    "SharingReviewService.queue", "SharingReviewService.pending_count",
}
# Services that never touch a client user's SLS state or devices (staff accounts, the firm's figures, the
# supervisors' figures, reports and work list, which only read).
NOT_ABOUT_CLIENT_USERS = {"StaffService", "SettingsService", "InsightService", "ReportService", "WorkListService"}
# Exceptions to the rule; docs/rules.md explains each (the test checks it is named there).
EXCEPTIONS = {
    "DeviceService.report", "DeviceService.order_replacement", "TemporaryAccessService.issue_temporary_passcode",
    "TemporaryAccessService.issue_online_card", "TemporaryAccessService.activate_online_card",
    "TemporaryAccessService.expire_due", "DeviceService.require_late_activations", "DeviceService.receive_stock",
    "ReturnsService.receive_return", "ReturnsService.charge_overdue", "ChargeService.waive",
    "ChargeService.mark_billed", "AccountService.close", "VerificationService.verify",
    "VerificationService.issue_challenge", "VerificationService.unlock", "ImportService.apply",
    "ImportService.preview",
    "SmsService.issue", "SmsService.send_code", "SmsService.end", "SharingReviewService.reject",
}


def _service_methods() -> set[str]:
    found = set()
    for info in pkgutil.iter_modules(console.models.__path__):
        module = importlib.import_module(f"console.models.{info.name}")
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and name.endswith("Service") and name != "ServiceContext":
                if name in NOT_ABOUT_CLIENT_USERS:
                    continue
                found |= {f"{name}.{m}" for m, _ in inspect.getmembers(cls, inspect.isfunction)
                          if not m.startswith("_")}
    return found


# --- drivers: each tries its method for jsmit123 (secondary of U1234567, no rights) ------------------------
def _john_device(ctx, world):
    return world.secondary_device_id


def _waiting_user_with_shipped_card(ctx, world, back_office) -> tuple[int, int]:
    """jsmit777, a secondary of U1234567 (no rights), opted out, holding a DSC+ shipped before the rule held."""
    make_rich(ctx, world.account_id)
    [card] = DeviceService(ctx).receive_stock(back_office, "DSC000000777")
    with ctx.db.write() as s:
        acct = s.get(User, world.primary_id).account
        u = add_user(s, ctx, acct, add_person(s, "Jim Smith"), "jsmit777", UserRole.secondary, SlsState.opted_out)
        device = s.get(SecurityDevice, card)
        device.state, device.account_id, device.shipped_at = DeviceState.shipped, acct.id, ctx.clock.now()
        s.add(DeviceHolding(user=u, device=device, preferred=False, since=ctx.clock.now()))
        return u.id, card


def _ship(ctx, world, agent, back_office):
    make_rich(ctx, world.account_id)
    [card] = DeviceService(ctx).receive_stock(back_office, "DSC000000701")
    DeviceService(ctx).ship(back_office, card, world.secondary_id)


def _activate(ctx, world, agent, back_office):
    user_id, card = _waiting_user_with_shipped_card(ctx, world, back_office)
    ch, resp = challenge_and_response(ctx, back_office, card)
    try:
        DeviceService(ctx).activate_shipped(back_office, card, ch, resp)
    finally:
        with ctx.db.read() as s:
            assert s.get(SecurityDevice, card).state is DeviceState.shipped
            assert s.get(User, user_id).sls_state is SlsState.opted_out


def _share(ctx, world, agent, back_office):
    with ctx.db.write() as s:
        org_primary = s.get(User, world.org_primary_id)
        device_id = next(h.device_id for h in org_primary.holdings)
    DeviceService(ctx).share(agent, device_id, world.secondary_id, "123456")


def _mailed_card_of_john(ctx, world) -> tuple[int, dict[int, str]]:
    """A printed Security Code Card mailed to jsmit123 (no rights) before the rule held, waiting for activation."""
    from console.models.cards import new_card_values, store_card

    values = new_card_values(100)
    with ctx.db.write() as s:
        card, _ = add_device(s, ctx, s.get(User, world.secondary_id), DeviceKind.code_card, DeviceState.shipped,
                             serial="SCC-00000777", preferred=False)
        card.shipped_at = ctx.clock.now()
        store_card(s, ctx.box, card, values)
        return card.id, values


def _activate_printed_card(ctx, world, agent, back_office):
    from console.models.verification import VerificationService

    card, values = _mailed_card_of_john(ctx, world)
    ch = VerificationService(ctx).issue_challenge(back_office, card)
    try:
        PrintedCardService(ctx).activate(back_office, card, ch.id, "".join(values[p] for p in ch.positions))
    finally:
        with ctx.db.read() as s:
            assert s.get(SecurityDevice, card).state is DeviceState.shipped


def _approve_sharing(ctx, world, agent, back_office):
    """A request of jsmit123 (no rights) to share the IB Key of its twin in another account, opened before the
    rights moved (written directly: the opt-in refuses such a user), approved by compliance."""
    from console.models.enums import SharingRequestState
    from console.models.sharing_review import ACROSS_ENTITIES, SharingReviewService, open_request
    from tests.factories import add_same_person_username
    from tests.sessions import signed_in

    twin = add_same_person_username(ctx, world.secondary_id, "jsmit778", "U2222778")
    with ctx.db.write() as s:
        john, device = s.get(User, world.secondary_id), s.get(SecurityDevice, twin["devices"][0][0])
        request_id = open_request(s, "hdesk01", device, john, ACROSS_ENTITIES, ctx.clock.now()).id
    compliance = signed_in(ctx, "comp01", "Carla Compliance", StaffRole.compliance)
    try:
        SharingReviewService(ctx).approve(compliance, request_id, "Passport and date of birth match")
    finally:
        with ctx.db.read() as s:
            from console.models.entities import SharingRequest

            assert s.get(SharingRequest, request_id).state is SharingRequestState.pending
            assert [h.user_id for h in s.get(SecurityDevice, twin["devices"][0][0]).holdings] == [twin["user_id"]]


DRIVERS = {
    "EnrollmentService.start_ib_key": lambda ctx, w, a, b: EnrollmentService(ctx).start_ib_key(a, w.secondary_id),
    "EnrollmentService.start_online_card":
        lambda ctx, w, a, b: EnrollmentService(ctx).start_online_card(a, w.secondary_id),
    "EnrollmentService.start_shared":
        lambda ctx, w, a, b: EnrollmentService(ctx).start_shared(a, w.secondary_id, "jsmit001"),
    "EnrollmentService.shareable_devices":
        lambda ctx, w, a, b: EnrollmentService(ctx).shareable_devices(a, w.secondary_id, "aarch001"),
    "EnrollmentService.new_challenge":
        lambda ctx, w, a, b: EnrollmentService(ctx).new_challenge(a, w.secondary_id, w.secondary_device_id),
    "EnrollmentService.confirm":
        lambda ctx, w, a, b: EnrollmentService(ctx).confirm(a, w.secondary_id, w.secondary_device_id, "123456"),
    "EnrollmentService.cancel": lambda ctx, w, a, b: EnrollmentService(ctx).cancel(a, w.secondary_id),
    "EnrollmentService.opt_out":
        lambda ctx, w, a, b: EnrollmentService(ctx).opt_out(a, w.secondary_id, "I accept the risks.", True),
    "DeviceService.ship": _ship,
    "DeviceService.activate_shipped": _activate,
    "DeviceService.set_preferred":
        lambda ctx, w, a, b: DeviceService(ctx).set_preferred(a, w.secondary_id, w.secondary_device_id),
    "DeviceService.share": _share,
    "DeviceService.unshare":
        lambda ctx, w, a, b: DeviceService(ctx).unshare(a, w.secondary_device_id, w.secondary_id),
    "DeviceService.revoke": lambda ctx, w, a, b: DeviceService(ctx).revoke(b, w.secondary_device_id),
    "PrintedCardService.issue": lambda ctx, w, a, b: PrintedCardService(ctx).issue(a, w.secondary_id),
    "PrintedCardService.activate": _activate_printed_card,
    "SharingReviewService.approve": _approve_sharing,
}
# Drivers that first set up what they act on (stock, a card, a request), which writes its own audit entries.
SETS_UP_FIRST = {"DeviceService.ship", "DeviceService.activate_shipped", "PrintedCardService.activate",
                 "SharingReviewService.approve"}


def test_every_service_method_is_classified():
    """A service method is a read, guarded by the rights rule (with a driver below), or a named exception."""
    found = _service_methods()
    classified = READS | EXCEPTIONS | set(DRIVERS)
    assert not found - classified, f"classify these service methods: {sorted(found - classified)}"
    assert not classified - found, f"these no longer exist: {sorted(classified - found)}"
    assert not (READS & EXCEPTIONS) and not (set(DRIVERS) & (READS | EXCEPTIONS))


def test_every_exception_is_explained_in_the_docs():
    """docs/rules.md names each exception to the rights rule, so the reason is written down."""
    text = DOCS.read_text(encoding="utf-8")
    missing = [name for name in sorted(EXCEPTIONS) if f"`{name}`" not in text]
    assert not missing, f"docs/rules.md does not explain: {missing}"


@pytest.mark.parametrize("method", sorted(DRIVERS))
def test_path_refuses_a_user_without_the_rights(ctx, world, agent, back_office, method):
    """Each state-changing path stops for jsmit123, naming Jane Smith (jsmit001); nothing changes."""
    before_user, before_audit = user_snapshot(ctx, world.secondary_id), audit_count(ctx)
    actor = agent if not method.startswith("DeviceService.ship") else back_office
    with pytest.raises(RightsError, match=r"Ask Jane Smith \(jsmit001\)"):
        DRIVERS[method](ctx, world, actor, back_office)
    after_user = user_snapshot(ctx, world.secondary_id)
    if method in SETS_UP_FIRST:  # the set-up may add a holding of its own; state, restrictions, count unchanged
        assert (after_user[0], after_user[2:]) == (before_user[0], before_user[2:])
    else:
        assert after_user == before_user
        assert audit_count(ctx) == before_audit


def test_shipping_and_activating_a_dsc_plus_enrolls_only_with_the_rights(ctx, world, back_office):
    """The path the rule used to miss: a DSC+ activated for the rights holder enrolls it and lifts its
    restrictions; for a user without the rights the activation is refused and the user stays opted out."""
    make_rich(ctx, world.account_id)
    devices = DeviceService(ctx)
    [card] = devices.receive_stock(back_office, "DSC000000702")
    devices.ship(back_office, card, world.primary_id)
    ch, resp = challenge_and_response(ctx, back_office, card)
    devices.activate_shipped(back_office, card, ch, resp)
    with ctx.db.read() as s:
        jane = s.get(User, world.primary_id)
        assert jane.sls_state is SlsState.enrolled and not [r for r in jane.restrictions if r.lifted_at is None]


def test_closing_refuses_nothing_by_rights_but_needs_its_permission(ctx, world, agent):
    """Closing acts on the account, not on one user's settings: the rights rule does not apply, the
    close-accounts permission does (help desk may not)."""
    from console.models.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        AccountService(ctx).close(agent, world.account_id)


def test_devices_with_legacy_kinds_ship_never(ctx, world, back_office):
    """Gold and Platinum are only held, never shipped new: ship refuses them."""
    from console.models.errors import RuleViolation

    make_rich(ctx, world.account_id)
    with ctx.db.write() as s:
        gold, _ = add_device(s, ctx, None, DeviceKind.gold, state=DeviceState.in_stock, serial="GOLD-1")
        gold_id = gold.id
    with pytest.raises(RuleViolation, match="only a DSC\\+ in stock"):
        DeviceService(ctx).ship(back_office, gold_id, world.primary_id)


def test_rejecting_a_request_of_a_user_without_rights_returns_it_to_opted_out(ctx, world, back_office, compliance):
    """The documented exception: compliance can still reject a request whose requester lost the rights since;
    the requester only goes back to where it was (opted out, restrictions in force)."""
    from console.models.sharing_review import ACROSS_ENTITIES, SharingReviewService, open_request
    from tests.factories import add_same_person_username

    twin = add_same_person_username(ctx, world.secondary_id, "jsmit778", "U2222778")
    with ctx.db.write() as s:
        jim = add_user(s, ctx, s.get(User, world.primary_id).account, add_person(s, "Jim Smith"), "jsmit779",
                       UserRole.secondary, SlsState.opted_out)
        jim.sls_state = SlsState.pending  # opting in by sharing: restrictions still in force
        request_id = open_request(s, "hdesk01", s.get(SecurityDevice, twin["devices"][0][0]), jim,
                                  ACROSS_ENTITIES, ctx.clock.now()).id
        jim_id = jim.id
    SharingReviewService(ctx).reject(compliance, request_id, "Identification does not match")
    state, held, restrictions, active = user_snapshot(ctx, jim_id)
    assert (state, held, active) == (SlsState.opted_out, [], 0) and restrictions
    assert_invariants(ctx)
