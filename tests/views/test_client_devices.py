"""The training window: the client's devices read out as the client would, on a demo database only."""

import pyotp
from PySide6.QtCore import Qt

from console.models.demo_staff import create_demo_staff
from console.models.enrollment import EnrollmentService
from console.models.enums import StaffRole
from console.models.verification import VerificationService
from console.views.client_devices import ClientDevicesWindow
from tests.sessions import signed_in
from tests.views.desks import desk_for, settle


def _demo_agent(ctx, staff_service):
    """On a demo database the staff at work are the demo staff, signed in."""
    create_demo_staff(staff_service)
    return signed_in(ctx, "helpdesk", "Harriet Desk", StaffRole.help_desk)


def _window(qtbot, ctx, actor, username):
    w = ClientDevicesWindow(desk_for(ctx, actor), username)
    qtbot.addWidget(w)
    w.show()
    settle(qtbot, w.desk)  # the devices and what they show are read off the GUI thread
    return w


def test_ib_key_code_is_read_from_the_window_and_enrolls(qtbot, ctx, world, staff_service):
    """A new IB Key's code, read from the window, is the code the app computes, and it completes the opt-in."""
    agent = _demo_agent(ctx, staff_service)
    start = EnrollmentService(ctx).start_ib_key(agent, world.primary_id)
    w = _window(qtbot, ctx, agent, "jsmit001")
    expected = pyotp.parse_uri(start.provisioning_uri).at(ctx.clock.now())
    assert f"IB Key app shows: {expected}" in w.reading.text()
    code = w.reading.text().split(": ")[1][:6]
    EnrollmentService(ctx).confirm(agent, world.primary_id, start.device_id, code)


def test_card_values_for_the_index_numbers_typed(qtbot, ctx, world, staff_service):
    """Typing the two index numbers the console shows gives the card's values, typed together as the client reads."""
    agent = _demo_agent(ctx, staff_service)
    start = EnrollmentService(ctx).start_online_card(agent, world.primary_id)
    challenge = VerificationService(ctx).issue_challenge(agent, start.device_id)
    w = _window(qtbot, ctx, agent, "jsmit001")
    a, b = challenge.positions
    qtbot.keyClicks(w.challenge, f"{a}, {b}")
    settle(qtbot, w.desk)
    assert w.reading.text().endswith(f"(typed together: {start.values[a]}{start.values[b]})")


def test_refused_on_a_database_with_real_staff(qtbot, ctx, world, agent):
    """Without the demo marker the window lists nothing and says why."""
    w = _window(qtbot, ctx, agent, "jsmit123")
    assert w.table.rowCount() == 0 and "only on a demo database" in w.message.text()


def test_esc_closes_the_window(qtbot, ctx, world, staff_service):
    """Esc closes it, as every window."""
    agent = _demo_agent(ctx, staff_service)
    w = _window(qtbot, ctx, agent, "jsmit123")
    qtbot.keyClick(w.username, Qt.Key.Key_Escape)
    assert not w.isVisible()




def test_a_change_on_the_desk_lists_the_devices_again_keeping_the_one_selected(qtbot, ctx, world, staff_service):
    """A device activated elsewhere on the desk shows its new state without Show, and stays the one chosen."""
    from console.views.change_bus import Changes

    agent = _demo_agent(ctx, staff_service)
    start = EnrollmentService(ctx).start_ib_key(agent, world.primary_id)
    w = _window(qtbot, ctx, agent, "jsmit001")
    assert w.table.item(0, 1).text() != "Active" and w.selected().id == start.device_id
    EnrollmentService(ctx).confirm(agent, world.primary_id, start.device_id,
                                   pyotp.parse_uri(start.provisioning_uri).at(ctx.clock.now()))
    w.desk.bus.changed.connect(w.on_changes)
    w.desk.bus.publish(Changes.of(devices=[start.device_id]))
    settle(qtbot, w.desk)
    assert w.table.item(0, 1).text() == "Active" and w.selected().id == start.device_id
