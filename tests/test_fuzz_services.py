"""Random usernames, codes, serials and malformed text fed to the services: only domain errors, invariants hold."""

import pyotp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.models import settings as figures
from console.models.directory import UserDirectory, UserQuery
from console.models.enums import StaffRole
from console.models.errors import ConsoleError, InvalidInput, NotFound, RuleViolation
from tests.invariants import assert_invariants

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
PASSWORD = "correct horse battery"

# Text an agent could type or paste, and text no one should: control characters, NUL, lone surrogates,
# right-to-left marks, full-width digits, very long strings.
nasty_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=200),
    st.sampled_from(["", " ", "\x00", "jsmit001\x00", "JSMIT001", "jsmit001 ", "\u202ejsmit001", "１２３４５６",
                     "' OR 1=1 --", "%", "_", "\\", "a" * 5000, "\ud800", "U1234567", "0" * 64]),
)
codes = st.one_of(st.text(alphabet="0123456789", min_size=0, max_size=9), nasty_text,
                  st.sampled_from(["１２３４５６", "000000", "999999", " 123456", "123456\n"]))


@pytest.fixture
def staffed(ctx, world, staff_service):
    return staff_service.add_first_administrator("alex", "Alex Admin", PASSWORD)


@FUZZ
@given(username=nasty_text, password=nasty_text, code=codes)
def test_sign_in_with_random_input(ctx, clock, staff_service, staffed, username, password, code):
    """Any username, password and code: refused with a domain error (or signed in), never a crash."""
    try:
        staff_service.sign_in(username, password, code)
    except ConsoleError:
        pass
    clock.advance(minutes=20)  # past any lock, so later examples exercise the password and code paths
    assert_invariants(ctx)


@FUZZ
@given(username=nasty_text, full_name=nasty_text, password=nasty_text, role=st.sampled_from(list(StaffRole)))
def test_add_staff_with_random_input(ctx, staff_service, staffed, admin, username, full_name, password, role):
    """Adding staff with any input either works or says what is wrong; nothing half-written."""
    try:
        staff_service.add(admin, username, full_name, role, password)
    except (InvalidInput, RuleViolation):
        pass
    assert_invariants(ctx)


@FUZZ
@given(text=nasty_text, username=nasty_text, user_id=st.integers(min_value=-2**63, max_value=2**63 - 1))
def test_directory_with_random_input(ctx, world, text, username, user_id):
    """Searching and looking up users with any text or id: results or NotFound, never a crash."""
    directory = UserDirectory(ctx)
    directory.window(UserQuery(text=text), 0, 50)
    directory.count(UserQuery(text=text))
    directory.find_by_username(username)
    try:
        directory.details(user_id)
    except NotFound:
        pass
    assert_invariants(ctx)


@FUZZ
@given(key=st.one_of(st.sampled_from([s.key for s in figures.SPECS]), nasty_text), raw=nasty_text)
def test_setting_validation_with_random_input(key, raw):
    """A setting value is a whole number in range, or InvalidInput says why."""
    try:
        value = figures.validate(key, raw)
    except InvalidInput:
        return
    spec = figures.SPEC_BY_KEY[key]
    assert spec.minimum <= value <= spec.maximum


def test_good_sign_in_still_works_after_fuzzing(ctx, clock, staff_service, staffed):
    """Sanity: the fuzzed service is the real one (a right password and code do sign in)."""
    assert staff_service.sign_in("alex", PASSWORD, pyotp.TOTP(staffed.totp_secret).at(clock.now())).username == "alex"


@pytest.fixture
def devices(ctx, world):
    """One device of each kind that answers codes: the world's IB Key, a DSC+, a code card, a passcode."""
    from console.models import cards
    from console.models.entities import User
    from console.models.enums import DeviceKind
    from tests.factories import add_device

    with ctx.db.write() as s:
        john = s.get(User, world.secondary_id)
        dsc, _ = add_device(s, ctx, john, DeviceKind.dsc_plus, serial="DSC-00000042", preferred=False)
        card, _ = add_device(s, ctx, john, DeviceKind.code_card, serial="SCC-00000042", preferred=False)
        card.secret_salt = ctx.box.new_salt()
        card.secret_hash = cards.card_hashes(ctx.box, card.secret_salt, cards.new_card_values(20))
        passcode, _ = add_device(s, ctx, john, DeviceKind.temporary_passcode, preferred=False)
        passcode.secret_salt = ctx.box.new_salt()
        passcode.secret_hash = ctx.box.lookup_hash(passcode.secret_salt, "K7Q2M9XP")
        return [world.secondary_device_id, dsc.id, card.id, passcode.id]


@FUZZ
@given(which=st.integers(min_value=0, max_value=3), answer=codes, stray_id=st.integers(min_value=-2**63,
                                                                                       max_value=2**63 - 1),
       use_stray=st.booleans(), challenge=st.one_of(st.none(), st.integers(min_value=-2**63, max_value=2**63 - 1)))
def test_verification_with_random_codes_and_ids(ctx, clock, devices, agent, which, answer, stray_id, use_stray,
                                                challenge):
    """Random codes, serial-like text and ids of devices and challenges: only domain errors; afterwards the
    chain verifies and no user is enrolled without an active device."""
    from console.models.verification import VerificationService

    service = VerificationService(ctx)
    device_id = stray_id if use_stray else devices[which]
    try:
        if challenge is None and which in (1, 2) and not use_stray:
            challenge = service.issue_challenge(agent, device_id).id
        service.verify(agent, device_id, answer, challenge_id=challenge)
    except ConsoleError:
        pass
    for device_id in devices:  # keep the devices usable for the next example
        try:
            service.unlock(agent, device_id)
        except ConsoleError:
            pass
    clock.advance(seconds=31)
    assert_invariants(ctx)
