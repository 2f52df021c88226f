"""Assisted opt-in (three paths) and opt-out, below the GUI: each path proven by a code computed independently."""

import datetime as dt

import pyotp
import pytest
from sqlalchemy import func, select

from console.models import audit
from console.models.enrollment import EnrollmentService
from console.models.entities import (
    AuditEntry,
    DeviceHolding,
    OptOutAcknowledgement,
    SecurityDevice,
    Setting,
    User,
)
from console.models.enums import OPT_OUT_RESTRICTIONS, DeviceKind, DeviceState, SlsState
from console.models.errors import (
    DeviceLocked,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RightsError,
    RuleViolation,
    VerificationFailed,
)
from console.models.opt_out_terms import STATEMENT
from console.models.verification import VerificationService, dsc_response
from tests.factories import add_device, add_same_person_username, user_snapshot


@pytest.fixture
def svc(ctx):
    return EnrollmentService(ctx)


snapshot = user_snapshot


def actions(ctx, **where):
    with ctx.db.read() as s:
        stmt = select(AuditEntry.action).order_by(AuditEntry.id)
        for k, v in where.items():
            stmt = stmt.where(getattr(AuditEntry, k) == v)
        return list(s.scalars(stmt))


def assert_enrolled(ctx, user_id, device_id):
    with ctx.db.read() as s:
        u = s.get(User, user_id)
        assert u.sls_state is SlsState.enrolled
        assert u.active_devices == 1
        assert s.get(SecurityDevice, device_id).state is DeviceState.active
        assert s.scalar(select(DeviceHolding.preferred).where(DeviceHolding.user_id == user_id,
                                                              DeviceHolding.device_id == device_id)) is True
        lifted = {r.restriction: r.lifted_at for r in u.restrictions}
        assert set(lifted) == set(OPT_OUT_RESTRICTIONS) and all(v == ctx.clock.now() for v in lifted.values())
        assert audit.verify(s).ok


def other_code(code):
    return "000000" if code != "000000" else "111111"


# --- IB Key ----------------------------------------------------------------------------------------
def test_ib_key_opt_in_enrolls_with_code_from_provisioning_uri(ctx, world, svc, agent):
    """The client's app, built from the provisioning URI, yields a code that activates the IB Key and enrolls."""
    start = svc.start_ib_key(agent, world.primary_id)
    assert start.provisioning_uri.startswith("otpauth://totp/") and "jsmit001" in start.provisioning_uri
    assert start.secret_grouped.replace(" ", "") == start.secret
    with ctx.db.read() as s:
        assert s.get(User, world.primary_id).sls_state is SlsState.pending
        device = s.get(SecurityDevice, start.device_id)
        assert device.state is DeviceState.pending and start.secret.encode() not in device.sealed_secret
    assert actions(ctx, user_id=world.primary_id) == ["device.issued", "user.pending"]
    app = pyotp.parse_uri(start.provisioning_uri)
    result = svc.confirm(agent, world.primary_id, start.device_id, app.at(ctx.clock.now()))
    assert result.lifted and not result.shared
    assert_enrolled(ctx, world.primary_id, start.device_id)
    assert actions(ctx, user_id=world.primary_id)[-2:] == ["device.activated", "user.enrolled"]


def test_wrong_ib_key_code_refused_and_user_stays_pending(ctx, world, svc, agent):
    """A wrong code is refused with a clear message; the user stays pending with restrictions in force."""
    start = svc.start_ib_key(agent, world.primary_id)
    before = snapshot(ctx, world.primary_id)
    good = pyotp.parse_uri(start.provisioning_uri).at(ctx.clock.now())
    with pytest.raises(VerificationFailed, match="not correct"):
        svc.confirm(agent, world.primary_id, start.device_id, other_code(good))
    assert snapshot(ctx, world.primary_id) == before
    assert actions(ctx, user_id=world.primary_id)[-1] == "device.code_refused"


def test_replayed_ib_key_code_refused(ctx, world, svc, agent):
    """A code already accepted once (e.g. checked by another desk) is refused as a replay; nothing enrolls."""
    start = svc.start_ib_key(agent, world.primary_id)
    code = pyotp.parse_uri(start.provisioning_uri).at(ctx.clock.now())
    VerificationService(ctx).verify(agent, start.device_id, code)
    before = snapshot(ctx, world.primary_id)
    with pytest.raises(VerificationFailed, match="already used"):
        svc.confirm(agent, world.primary_id, start.device_id, code)
    assert snapshot(ctx, world.primary_id) == before


def test_ib_key_code_one_step_old_accepted(ctx, world, svc, agent):
    """A code from the previous 30-second step still activates (±1 time step)."""
    start = svc.start_ib_key(agent, world.primary_id)
    code = pyotp.parse_uri(start.provisioning_uri).at(ctx.clock.now() - dt.timedelta(seconds=30))
    svc.confirm(agent, world.primary_id, start.device_id, code)
    assert_enrolled(ctx, world.primary_id, start.device_id)


def test_failures_lock_pending_device_until_staff_unlock(ctx, world, svc, agent, back_office):
    """Five wrong codes lock the new IB Key; a good code is then refused until staff unlock it."""
    start = svc.start_ib_key(agent, world.primary_id)
    app = pyotp.parse_uri(start.provisioning_uri)
    for _ in range(5):
        with pytest.raises(VerificationFailed):
            svc.confirm(agent, world.primary_id, start.device_id, other_code(app.at(ctx.clock.now())))
    with pytest.raises(DeviceLocked, match="locked"):
        svc.confirm(agent, world.primary_id, start.device_id, app.at(ctx.clock.now()))
    assert snapshot(ctx, world.primary_id)[0] is SlsState.pending
    VerificationService(ctx).unlock(back_office, start.device_id, "client identity checked")
    svc.confirm(agent, world.primary_id, start.device_id, app.at(ctx.clock.now()))
    assert_enrolled(ctx, world.primary_id, start.device_id)


# --- Online Security Code Card -------------------------------------------------------------------
def test_online_card_opt_in_enrolls_with_values_at_two_random_indexes(ctx, world, svc, agent):
    """The card's printed values at the two drawn index numbers, typed together, activate it and enroll."""
    card = svc.start_online_card(agent, world.primary_id)
    assert len(card.values) == 100 and all(len(v) == 3 for v in card.values.values())
    assert card.expires_at == ctx.clock.now() + dt.timedelta(days=21)
    ch = svc.new_challenge(agent, world.primary_id, card.device_id)
    a, b = ch.positions
    assert a != b
    svc.confirm(agent, world.primary_id, card.device_id, card.values[a] + card.values[b], challenge_id=ch.id)
    assert_enrolled(ctx, world.primary_id, card.device_id)


def test_online_card_values_stored_only_as_hashes(ctx, world, svc, agent):
    """No printed value appears in the stored card; only its keyed hashes are kept."""
    card = svc.start_online_card(agent, world.primary_id)
    with ctx.db.read() as s:
        d = s.get(SecurityDevice, card.device_id)
        assert d.sealed_secret is None
        assert all(v.encode() not in d.secret_hash for v in card.values.values())


def test_online_card_validity_is_a_setting(ctx, world, svc, agent):
    """The card expires after the configured number of days, not a literal."""
    with ctx.db.write() as s:
        s.add(Setting(key="online_card_validity_days", value="5", updated_at=ctx.clock.now(), updated_by="t"))
    card = svc.start_online_card(agent, world.primary_id)
    assert card.expires_at == ctx.clock.now() + dt.timedelta(days=5)


def test_expired_online_card_refused(ctx, world, svc, agent):
    """After its validity the card cannot be activated, even with the right values; the user stays pending."""
    card = svc.start_online_card(agent, world.primary_id)
    ctx.clock.advance(days=21, seconds=1)
    ch = svc.new_challenge(agent, world.primary_id, card.device_id)
    before = snapshot(ctx, world.primary_id)
    with pytest.raises(VerificationFailed, match="expired"):
        svc.confirm(agent, world.primary_id, card.device_id,
                    card.values[ch.positions[0]] + card.values[ch.positions[1]], challenge_id=ch.id)
    assert snapshot(ctx, world.primary_id) == before


def test_wrong_card_values_refused(ctx, world, svc, agent):
    """Values from the wrong index numbers are refused and nothing enrolls."""
    card = svc.start_online_card(agent, world.primary_id)
    ch = svc.new_challenge(agent, world.primary_id, card.device_id)
    a, b = ch.positions
    wrong = next(p for p in card.values if p not in (a, b) and card.values[p] != card.values[a])
    before = snapshot(ctx, world.primary_id)
    with pytest.raises(VerificationFailed, match=f"index numbers {a} and {b}"):
        svc.confirm(agent, world.primary_id, card.device_id, card.values[wrong] + card.values[b], challenge_id=ch.id)
    assert snapshot(ctx, world.primary_id) == before


# --- Sharing a device from another username --------------------------------------------------------
def test_shared_ib_key_opt_in_enrolls_with_owners_code(ctx, world, svc, agent, immediate_sharing):
    """Jane's other username's IB Key, proven with its current code, becomes shared and Jane is enrolled."""
    twin = add_same_person_username(ctx, world.primary_id, "jsmit777", "U2222222")
    device_id, _, seed = twin["devices"][0]
    start = svc.start_shared(agent, world.primary_id, " JSMIT777 ")
    assert start.device_id == device_id and start.challenge is None and "jsmit777" in start.prompt
    assert snapshot(ctx, world.primary_id)[0] is SlsState.pending
    result = svc.confirm(agent, world.primary_id, device_id, pyotp.TOTP(seed).at(ctx.clock.now()))
    assert result.shared
    assert_enrolled(ctx, world.primary_id, device_id)
    with ctx.db.read() as s:
        assert s.get(User, twin["user_id"]).active_devices == 1  # the owner keeps it
    assert actions(ctx, user_id=world.primary_id)[-2:] == ["device.shared", "user.enrolled"]


def test_shared_dsc_plus_proven_by_response_to_challenge(ctx, world, svc, agent, immediate_sharing):
    """The most protective device (DSC+) is chosen; its 8-digit response to the 6-digit challenge proves it."""
    twin = add_same_person_username(ctx, world.primary_id, "jsmit777", "U2222222",
                                    (DeviceKind.ib_key, DeviceKind.dsc_plus))
    dsc_id, _, seed = twin["devices"][1]
    start = svc.start_shared(agent, world.primary_id, "jsmit777")
    assert start.device_id == dsc_id and start.challenge.number.isdigit() and len(start.challenge.number) == 6
    svc.confirm(agent, world.primary_id, dsc_id, dsc_response(seed, start.challenge.number),
                challenge_id=start.challenge.id)
    assert_enrolled(ctx, world.primary_id, dsc_id)


def test_shared_code_card_proven_by_its_values(ctx, world, svc, agent, immediate_sharing):
    """A shared Security Code Card is proven with the values at two drawn index numbers."""
    twin = add_same_person_username(ctx, world.primary_id, "jsmit777", "U2222222", (DeviceKind.code_card,))
    card_id, _, values = twin["devices"][0]
    start = svc.start_shared(agent, world.primary_id, "jsmit777")
    a, b = start.challenge.positions
    svc.confirm(agent, world.primary_id, card_id, values[a] + values[b], challenge_id=start.challenge.id)
    assert_enrolled(ctx, world.primary_id, card_id)


def test_share_refused_for_another_persons_username(ctx, world, svc, agent):
    """John's username cannot lend its device to Jane: refused in plain words, nothing changes."""
    before = snapshot(ctx, world.primary_id)
    with pytest.raises(RuleViolation, match="are not the same person"):
        svc.start_shared(agent, world.primary_id, "jsmit123")
    assert snapshot(ctx, world.primary_id) == before


def test_share_refused_for_less_secure_device_choice(ctx, world, svc, agent):
    """Choosing the owner's IB Key when it also has a DSC+ fails with "less secure device"."""
    twin = add_same_person_username(ctx, world.primary_id, "jsmit777", "U2222222",
                                    (DeviceKind.ib_key, DeviceKind.dsc_plus))
    listed = svc.shareable_devices(agent, world.primary_id, "jsmit777")
    assert [d.kind for d in listed] == [DeviceKind.dsc_plus, DeviceKind.ib_key] and listed[0].most_protective
    before = snapshot(ctx, world.primary_id)
    with pytest.raises(RuleViolation, match="Less secure device"):
        svc.start_shared(agent, world.primary_id, "jsmit777", device_id=twin["devices"][0][0])
    assert snapshot(ctx, world.primary_id) == before


def test_share_refused_when_owner_has_temporary_device(ctx, world, svc, agent):
    """An owner with a temporary passcode cannot share its device."""
    twin = add_same_person_username(ctx, world.primary_id, "jsmit777", "U2222222")
    with ctx.db.write() as s:
        add_device(s, ctx, s.get(User, twin["user_id"]), DeviceKind.temporary_passcode, preferred=False)
    with pytest.raises(RuleViolation, match="jsmit777 has a temporary device"):
        svc.start_shared(agent, world.primary_id, "jsmit777")
    assert snapshot(ctx, world.primary_id)[0] is SlsState.opted_out


def test_share_refused_for_unknown_or_malformed_username(ctx, world, svc, agent):
    """A username that does not exist, or is not a username at all, is refused clearly."""
    with pytest.raises(NotFound, match="no username nobod999"):
        svc.start_shared(agent, world.primary_id, "nobod999")
    with pytest.raises(InvalidInput, match="not a username"):
        svc.start_shared(agent, world.primary_id, "jsmit'; drop")
    with pytest.raises(InvalidInput, match="being enrolled"):
        svc.start_shared(agent, world.primary_id, "jsmit001")


def test_wrong_owner_code_refused_for_share(ctx, world, svc, agent):
    """A wrong code from the owner's device neither shares nor enrolls."""
    twin = add_same_person_username(ctx, world.primary_id, "jsmit777", "U2222222")
    device_id, _, seed = twin["devices"][0]
    svc.start_shared(agent, world.primary_id, "jsmit777")
    before = snapshot(ctx, world.primary_id)
    with pytest.raises(VerificationFailed):
        svc.confirm(agent, world.primary_id, device_id, other_code(pyotp.TOTP(seed).at(ctx.clock.now())))
    assert snapshot(ctx, world.primary_id) == before


# --- Cancelling ------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["ib_key", "online_card", "shared"])
def test_cancel_restores_opted_out_exactly(ctx, world, svc, agent, path):
    """Cancelling after any start leaves state, holdings, restrictions and counts as they were before."""
    twin = add_same_person_username(ctx, world.primary_id, "jsmit777", "U2222222")
    before = snapshot(ctx, world.primary_id)
    owner_before = snapshot(ctx, twin["user_id"])
    start = {"ib_key": lambda: svc.start_ib_key(agent, world.primary_id),
             "online_card": lambda: svc.start_online_card(agent, world.primary_id),
             "shared": lambda: svc.start_shared(agent, world.primary_id, "jsmit777")}[path]()
    assert svc.cancel(agent, world.primary_id, start.device_id) is True
    assert snapshot(ctx, world.primary_id) == before
    assert snapshot(ctx, twin["user_id"]) == owner_before
    assert actions(ctx, user_id=world.primary_id)[-1] == "optin.cancelled"
    if path != "shared":
        with ctx.db.read() as s:
            d = s.get(SecurityDevice, start.device_id)
            assert d.state is DeviceState.revoked and d.sealed_secret is None and d.secret_hash is None


def test_code_for_cancelled_device_refused(ctx, world, svc, agent):
    """After a cancel, the abandoned IB Key's code can no longer enroll anyone."""
    start = svc.start_ib_key(agent, world.primary_id)
    svc.cancel(agent, world.primary_id, start.device_id)
    with pytest.raises(RuleViolation):
        svc.confirm(agent, world.primary_id, start.device_id,
                    pyotp.parse_uri(start.provisioning_uri).at(ctx.clock.now()))
    assert snapshot(ctx, world.primary_id)[0] is SlsState.opted_out


def test_restart_replaces_unfinished_opt_in(ctx, world, svc, agent):
    """Starting again (a wizard closed half-way) revokes the earlier pending device; one opt-in at a time."""
    first = svc.start_ib_key(agent, world.primary_id)
    second = svc.start_online_card(agent, world.primary_id)
    with ctx.db.read() as s:
        assert s.get(SecurityDevice, first.device_id).state is DeviceState.revoked
        held = list(s.scalars(select(DeviceHolding.device_id).where(DeviceHolding.user_id == world.primary_id)))
    assert held == [second.device_id]


# --- Gates -----------------------------------------------------------------------------------------
def test_opt_in_refused_for_user_without_rights_naming_holder(ctx, world, svc, agent):
    """The org's primary user does not hold the rights: the notice names Bob Baker; nothing changes."""
    before = snapshot(ctx, world.org_primary_id)
    with pytest.raises(RightsError, match=r"Ask Bob Baker \(bbake001\)"):
        svc.start_ib_key(agent, world.org_primary_id)
    assert snapshot(ctx, world.org_primary_id) == before


def test_opt_in_refused_for_role_without_permission(ctx, world, svc, auditor):
    """An auditor may not run an opt-in."""
    with pytest.raises(PermissionDenied, match="run assisted opt-in"):
        svc.start_online_card(auditor, world.primary_id)
    assert snapshot(ctx, world.primary_id)[0] is SlsState.opted_out


def test_opt_in_refused_for_enrolled_user(ctx, world, svc, agent):
    """An enrolled user (here the org's rights holder after enrolling) has nothing to opt back into."""
    start = svc.start_ib_key(agent, world.org_holder_id)
    code = pyotp.parse_uri(start.provisioning_uri).at(ctx.clock.now())
    svc.confirm(agent, world.org_holder_id, start.device_id, code)
    with pytest.raises(RuleViolation, match="already enrolled"):
        svc.start_ib_key(agent, world.org_holder_id)


# --- Opting out ------------------------------------------------------------------------------------
def _enroll_jane(ctx, svc, agent, world):
    start = svc.start_ib_key(agent, world.primary_id)
    svc.confirm(agent, world.primary_id, start.device_id, pyotp.parse_uri(start.provisioning_uri).at(ctx.clock.now()))
    ctx.clock.advance(minutes=5)
    return start.device_id


def test_opt_out_requires_explicit_acknowledgement(ctx, world, svc, agent):
    """Without the client's acknowledgement nothing changes."""
    _enroll_jane(ctx, svc, agent, world)
    before = snapshot(ctx, world.primary_id)
    with pytest.raises(InvalidInput, match="not acknowledged"):
        svc.opt_out(agent, world.primary_id, STATEMENT, acknowledged=False)
    with pytest.raises(InvalidInput, match="empty"):
        svc.opt_out(agent, world.primary_id, "   ", acknowledged=True)
    assert snapshot(ctx, world.primary_id) == before
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(OptOutAcknowledgement)) == 0


def test_opt_out_records_acknowledgement_applies_restrictions_and_revokes_device(ctx, world, svc, agent):
    """Opt-out: acknowledgement with staff member and time, restrictions imposed, IB Key revoked, audited."""
    device_id = _enroll_jane(ctx, svc, agent, world)
    result = svc.opt_out(agent, world.primary_id, STATEMENT, acknowledged=True)
    assert set(result.imposed) == set(OPT_OUT_RESTRICTIONS)
    assert result.devices[0].outcome == "revoked"
    state, holdings, restrictions, count = snapshot(ctx, world.primary_id)
    assert state is SlsState.opted_out and holdings == [] and count == 0
    assert restrictions == sorted(r.name for r in OPT_OUT_RESTRICTIONS)
    with ctx.db.read() as s:
        ack = s.scalars(select(OptOutAcknowledgement)).one()
        assert (ack.recorded_by, ack.acknowledged_at, ack.statement) == ("hdesk01", ctx.clock.now(), STATEMENT)
        d = s.get(SecurityDevice, device_id)
        assert d.state is DeviceState.revoked and d.sealed_secret is None
        assert audit.verify(s).ok
    assert actions(ctx, user_id=world.primary_id)[-2:] == ["device.revoked", "user.opted_out"]


def test_opt_out_leaves_shared_device_with_its_other_holder(ctx, world, svc, agent, immediate_sharing):
    """A shared device stays active for the username that still uses it; only the opting-out user lets go."""
    twin = add_same_person_username(ctx, world.primary_id, "jsmit777", "U2222222")
    device_id, _, seed = twin["devices"][0]
    svc.start_shared(agent, world.primary_id, "jsmit777")
    svc.confirm(agent, world.primary_id, device_id, pyotp.TOTP(seed).at(ctx.clock.now()))
    result = svc.opt_out(agent, world.primary_id, STATEMENT, acknowledged=True)
    assert result.devices[0].outcome == "stays active for jsmit777"
    with ctx.db.read() as s:
        assert s.get(SecurityDevice, device_id).state is DeviceState.active
        assert s.get(User, twin["user_id"]).active_devices == 1


def test_opt_out_asks_for_return_of_dsc_plus(ctx, world, svc, agent):
    """A DSC+ nobody uses any more is marked for return by the configured due date."""
    _enroll_jane(ctx, svc, agent, world)
    with ctx.db.write() as s:
        dsc, _ = add_device(s, ctx, s.get(User, world.primary_id), DeviceKind.dsc_plus, serial="DSC9", preferred=False)
        dsc_id = dsc.id
    svc.opt_out(agent, world.primary_id, STATEMENT, acknowledged=True)
    with ctx.db.read() as s:
        d = s.get(SecurityDevice, dsc_id)
        assert d.state is DeviceState.return_pending
        assert d.return_due_at == ctx.clock.now() + dt.timedelta(days=30)


def test_opt_out_refused_for_opted_out_or_rightless_user(ctx, world, svc, agent):
    """Opting out an opted-out user, or one without the rights, is refused and changes nothing."""
    with pytest.raises(RuleViolation, match="already opted out"):
        svc.opt_out(agent, world.primary_id, STATEMENT, acknowledged=True)
    before = snapshot(ctx, world.secondary_id)
    with pytest.raises(RightsError, match=r"Ask Jane Smith \(jsmit001\)"):
        svc.opt_out(agent, world.secondary_id, STATEMENT, acknowledged=True)
    assert snapshot(ctx, world.secondary_id) == before


def test_opted_out_user_can_opt_back_in(ctx, world, svc, agent):
    """After an opt-out, a new opt-in lifts the restrictions imposed by it."""
    _enroll_jane(ctx, svc, agent, world)
    svc.opt_out(agent, world.primary_id, STATEMENT, acknowledged=True)
    card = svc.start_online_card(agent, world.primary_id)
    ch = svc.new_challenge(agent, world.primary_id, card.device_id)
    svc.confirm(agent, world.primary_id, card.device_id, card.values[ch.positions[0]] + card.values[ch.positions[1]],
                challenge_id=ch.id)
    assert snapshot(ctx, world.primary_id)[2] == []


# --- One transaction, and the TOTP vectors -----------------------------------------------------------
def test_enrollment_and_its_audit_entry_commit_together(ctx, world, svc, agent, monkeypatch):
    """If the audit entry cannot be written, the enrollment is rolled back with it: no unaudited change."""
    start = svc.start_ib_key(agent, world.primary_id)
    before = snapshot(ctx, world.primary_id)
    with ctx.db.read() as s:
        entries_before = s.scalar(select(func.count()).select_from(AuditEntry))
    real_record = audit.record

    def failing_record(session, **kw):
        if kw["action"] == "user.enrolled":
            raise RuntimeError("disk full")
        return real_record(session, **kw)

    monkeypatch.setattr(audit, "record", failing_record)
    with pytest.raises(RuntimeError):
        svc.confirm(agent, world.primary_id, start.device_id,
                    pyotp.parse_uri(start.provisioning_uri).at(ctx.clock.now()))
    assert snapshot(ctx, world.primary_id) == before
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == entries_before
        assert s.get(SecurityDevice, start.device_id).last_time_step is None


def test_shareable_devices_refuses_another_persons_username_early(ctx, world, svc, agent):
    """Looking up John's username for Jane already explains the refusal, before anything starts."""
    with pytest.raises(RuleViolation, match="not the same person"):
        svc.shareable_devices(agent, world.primary_id, "jsmit123")


RFC_SEEDS = {"sha256": b"12345678901234567890123456789012", "sha512": b"1234567890" * 6 + b"1234"}
RFC_VECTORS = [(59, "46119246", "90693936"), (1111111109, "68084774", "25091201"),
               (1111111111, "67062674", "99943326"), (1234567890, "91819424", "93441116"),
               (2000000000, "90698825", "38618901"), (20000000000, "77737706", "47863826")]


@pytest.mark.parametrize("unix, sha256_code, sha512_code", RFC_VECTORS)
def test_totp_passes_rfc6238_sha256_and_sha512_vectors(unix, sha256_code, sha512_code):
    """The shared TOTP check also accepts RFC 6238 appendix B codes for SHA-256 and SHA-512 (SHA-1: core tests)."""
    import base64
    import hashlib

    from console.models.verification import totp_match, totp_step

    at = dt.datetime.fromtimestamp(unix, dt.UTC)
    for name, code in (("sha256", sha256_code), ("sha512", sha512_code)):
        seed = base64.b32encode(RFC_SEEDS[name]).decode()
        assert totp_match(seed, code, at, window=0, digits=8, digest=getattr(hashlib, name)) == totp_step(at)


def test_share_after_starting_a_card_replaces_the_unfinished_card(ctx, world, svc, agent, immediate_sharing):
    """A card issued first does not count as a temporary device against the share that replaces it."""
    twin = add_same_person_username(ctx, world.primary_id, "jsmit777", "U2222222")
    card = svc.start_online_card(agent, world.primary_id)
    assert [d.kind for d in svc.shareable_devices(agent, world.primary_id, "jsmit777")] == [DeviceKind.ib_key]
    start = svc.start_shared(agent, world.primary_id, "jsmit777")
    device_id, _, seed = twin["devices"][0]
    svc.confirm(agent, world.primary_id, start.device_id, pyotp.TOTP(seed).at(ctx.clock.now()))
    assert_enrolled(ctx, world.primary_id, device_id)
    with ctx.db.read() as s:
        assert s.get(SecurityDevice, card.device_id).state is DeviceState.revoked


def test_challenge_only_for_a_user_waiting_for_a_code(ctx, world, svc, agent):
    """No challenge is drawn for a user who has no opt-in waiting."""
    with pytest.raises(RuleViolation, match="not waiting for a code"):
        svc.new_challenge(agent, world.primary_id, world.secondary_device_id)


def test_code_read_out_in_groups_is_accepted_but_other_characters_are_not(ctx, world, svc, agent):
    """A code read out in groups ("123 456") is accepted; full-width digits are still refused as malformed."""
    start = svc.start_ib_key(agent, world.primary_id)
    code = pyotp.parse_uri(start.provisioning_uri).at(ctx.clock.now())
    wide = "".join(chr(ord(c) - ord("0") + 0xFF10) for c in code)
    with pytest.raises(InvalidInput, match="6 digits"):
        svc.confirm(agent, world.primary_id, start.device_id, wide)
    svc.confirm(agent, world.primary_id, start.device_id, f"{code[:3]} {code[3:]}")
    assert_enrolled(ctx, world.primary_id, start.device_id)
