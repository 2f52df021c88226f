"""Training on demo data: the client's devices answer for the client on a demo database, never elsewhere."""

import pyotp
import pytest

from console.models.demo_staff import create_demo_staff
from console.models.devices import DeviceService
from console.models.enrollment import EnrollmentService
from console.models.enums import StaffRole
from console.models.errors import PermissionDenied
from console.models.training import NOT_A_DEMO, TrainingService
from console.models.verification import VerificationService
from tests.factories import add_same_person_username
from tests.lifecycle import make_rich
from tests.sessions import signed_in


@pytest.fixture
def demo_desk(ctx, staff_service):
    if not ctx.db.is_sqlite:
        pytest.skip("training reads seeds, which no desk can on PostgreSQL (test_no_training_on_a_shared_database)")
    create_demo_staff(staff_service)
    return TrainingService(ctx)


def test_no_training_on_a_shared_database(ctx, world, staff_service):
    """On PostgreSQL even a demo database offers no training window: the seeds are beyond every desk's reach."""
    if ctx.db.is_sqlite:
        pytest.skip("PostgreSQL only")
    create_demo_staff(staff_service)
    agent = signed_in(ctx, "helpdesk", "Harriet Desk", StaffRole.help_desk)
    training = TrainingService(ctx)
    assert not training.available()
    with pytest.raises(PermissionDenied, match="no desk can read"):
        training.ib_key_code(agent, world.secondary_device_id)


# On a demo database the staff at work are the demo staff, signed in.
@pytest.fixture
def agent(ctx, demo_desk):
    return signed_in(ctx, "helpdesk", "Harriet Desk", StaffRole.help_desk)


@pytest.fixture
def back_office(ctx, demo_desk):
    return signed_in(ctx, "backoffice", "Bob Office", StaffRole.back_office)


def test_ib_key_code_shown_for_training_completes_the_opt_in(ctx, world, demo_desk, agent):
    """The code the window shows for a new IB Key is the app's code: it enrolls the user."""
    start = EnrollmentService(ctx).start_ib_key(agent, world.primary_id)
    devices = demo_desk.devices_of(agent, world.primary_id)
    assert [(d.id, d.label, d.usernames) for d in devices] == [(start.device_id, "IB Key", ("jsmit001",))]
    code, seconds_left = demo_desk.ib_key_code(agent, start.device_id)
    assert code == pyotp.parse_uri(start.provisioning_uri).at(ctx.clock.now()) and 1 <= seconds_left <= 30
    EnrollmentService(ctx).confirm(agent, world.primary_id, start.device_id, code)


def test_card_values_and_dsc_response_answer_their_challenges(ctx, world, demo_desk, agent, back_office):
    """An Online Security Code Card issued on the demo shows its values; a shipped DSC+ answers a challenge."""
    start = EnrollmentService(ctx).start_online_card(agent, world.primary_id)
    assert demo_desk.card_values(agent, start.device_id) == start.values
    devices = DeviceService(ctx)
    make_rich(ctx, world.account_id)
    card_id = devices.receive_stock(back_office, "DSC000000901")[0]
    devices.ship(back_office, card_id, world.primary_id)  # jsmit001 holds the rights
    challenge = VerificationService(ctx).issue_challenge(back_office, card_id)
    response = demo_desk.dsc_response(back_office, card_id, challenge.number)
    devices.activate_shipped(back_office, card_id, challenge.id, response)


def test_devices_of_the_same_person_under_other_usernames_are_listed(ctx, world, demo_desk, agent):
    """For the sharing path: the device the same person holds under another username is listed with it."""
    other = add_same_person_username(ctx, world.primary_id, "jsmit777", "U2222222")
    listed = {d.id: d.usernames for d in demo_desk.devices_of(agent, world.primary_id)}
    assert listed == {other["devices"][0][0]: ("jsmit777",)}


def test_never_without_the_demo_marker(ctx, world):
    """A database that was not made as a demo shows nothing, to anyone."""
    training = TrainingService(ctx)
    assert not training.available()
    with pytest.raises(PermissionDenied, match="only on a demo database"):
        training.devices_of(signed_in(ctx, "hdesk01", "Harriet Desk", StaffRole.help_desk), world.secondary_id)


def test_never_on_a_database_with_real_staff(ctx, world, staff_service, demo_desk, agent):
    """Once a real staff member exists beside the demo staff, nothing is shown."""
    training = TrainingService(ctx)
    assert training.available()
    admin = signed_in(ctx, "admin", "Alex Admin", StaffRole.administrator)
    staff_service.add(admin, "rreal001", "Rita Real", StaffRole.help_desk, "a-real-password-2026")
    assert not training.available()
    for call in (lambda: training.ib_key_code(agent, world.secondary_device_id),
                 lambda: training.devices_of(agent, world.secondary_id)):
        with pytest.raises(PermissionDenied) as refused:
            call()
        assert str(refused.value) == NOT_A_DEMO


def test_card_values_are_not_kept_outside_a_demo(ctx, world):
    """On a real database a new card keeps only its hashes: nothing sealed for training."""
    from console.models.entities import SecurityDevice

    agent = signed_in(ctx, "hdesk01", "Harriet Desk", StaffRole.help_desk)

    start = EnrollmentService(ctx).start_online_card(agent, world.primary_id)
    with ctx.db.read() as s:
        assert s.get(SecurityDevice, start.device_id).sealed_secret is None
