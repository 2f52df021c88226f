"""One change bus for the whole desk: a write in one window shows in every other open window, no Refresh."""

import threading

import pytest
from PySide6.QtWidgets import QApplication

from console.models.devices import DeviceService
from console.models.enums import DeviceState
from console.models.temporary_access import TemporaryAccessService
from console.views.change_bus import ChangeBus, ChangeKind, Changes, Origin
from console.views.charges_view import ChargesWindow
from console.views.devices_view import DevicesWindow
from console.views.main_window import MainWindow
from console.views.security_settings import SecuritySettingsDialog
from tests.lifecycle import challenge_and_response, enroll_primary, make_rich
from tests.views.desks import desk_for, settle, submit


def test_changes_say_what_they_touch():
    """A change names kinds and ids; no ids means any record of that kind."""
    changes = Changes.of(users=[3], devices=[7, 8], kinds=[ChangeKind.stock])
    assert changes.touches(ChangeKind.users, 3) and not changes.touches(ChangeKind.users, 4)
    assert changes.touches(ChangeKind.devices) and changes.touches(ChangeKind.stock, 99)
    assert not changes.touches(ChangeKind.charges)
    assert changes.ids(ChangeKind.devices) == {7, 8}
    assert Changes.everything().touches(ChangeKind.staff, 1)
    assert not Changes.of()


def test_another_thread_can_publish_and_windows_hear_it_on_the_gui_thread(qtbot):
    """A watcher of other consoles publishes from its own thread; listeners run on the GUI thread."""
    bus = ChangeBus()
    heard = []
    bus.changed.connect(lambda c: heard.append((c, threading.current_thread() is threading.main_thread())))
    sender = threading.Thread(target=lambda: bus.publish(Changes.of(users=[5], origin=Origin.other_desk)))
    sender.start()
    sender.join()
    qtbot.waitUntil(lambda: bool(heard))
    (changes, on_gui_thread), = heard
    assert on_gui_thread and changes.origin is Origin.other_desk and changes.touches(ChangeKind.users, 5)


@pytest.fixture
def shared_card(ctx, world, admin):
    """A DSC+ active on jsmit001 (who holds the rights), beside her IB Key."""
    make_rich(ctx, world.account_id)
    enroll_primary(ctx, world)
    devices = DeviceService(ctx)
    [card] = devices.receive_stock(admin, "DSC000000077")
    devices.ship(admin, card, world.primary_id)
    challenge, response = challenge_and_response(ctx, admin, card)
    devices.activate_shipped(admin, card, challenge, response)
    return card


def _row_of(pane, serial):
    return next(r for r in range(pane.devices.rowCount()) if pane.devices.item(r, 0).text().endswith(serial))


def test_revoking_in_the_devices_window_shows_everywhere_without_refresh(qtbot, ctx, world, admin, shared_card):
    """Revoke a card in the Devices window: the main window's detail pane and list, the security settings
    dialog and the charges window show it at once; the main window keeps its selected user."""
    desk = desk_for(ctx, admin)
    main = MainWindow(desk)
    qtbot.addWidget(main)
    main.show()
    settle(qtbot, main.desk)  # the list is read off the GUI thread
    assert main.select_user(world.primary_id)
    settle(qtbot, main.desk)  # the detail pane reads the user off the GUI thread
    row = _row_of(main.detail, "DSC000000077")
    assert main.detail.devices.item(row, 1).text().startswith("Active")
    settings = SecuritySettingsDialog(desk, world.primary_id, main)
    settings.show()
    settle(qtbot, desk)  # the dialog reads its user off the GUI thread
    charges = ChargesWindow(desk, "U1234567", main)
    charges.show()
    devices = DevicesWindow(desk, main)
    devices.show()
    refreshed = []
    main.model.query_changed.connect(lambda: refreshed.append(True))

    assert devices.select_device(shared_card)
    devices.revoke_action.trigger()
    confirm = devices.dialog
    assert "DSC000000077" in confirm.intro.text() and "jsmit001" in confirm.intro.text()
    submit(qtbot, confirm)
    assert confirm.report.startswith("DSC+ DSC000000077 revoked; jsmit001 can no longer use it."), \
        confirm.refusal.text()

    pending = DeviceState.return_pending.label
    assert main.detail.devices.item(_row_of(main.detail, "DSC000000077"), 1).text().startswith(pending)
    assert settings.pane.devices.item(_row_of(settings.pane, "DSC000000077"), 1).text().startswith(pending)
    assert main.current_user_id() == world.primary_id and refreshed
    assert devices.current_row().state is DeviceState.return_pending
    assert "Return pending" in devices.selected_label.text()
    assert main.audit_view is None  # nothing was opened for it
    QApplication.processEvents()


def test_an_announcement_from_another_desk_refreshes_the_open_windows(qtbot, ctx, world, admin, agent):
    """What another console committed, published on the bus, shows in this desk's windows."""
    desk = desk_for(ctx, agent)
    main = MainWindow(desk)
    qtbot.addWidget(main)
    main.show()
    settle(qtbot, main.desk)  # the list is read off the GUI thread
    main.select_user(world.secondary_id)
    settle(qtbot, main.desk)  # the detail pane reads the user off the GUI thread
    issued = TemporaryAccessService(ctx).issue_temporary_passcode(admin, world.secondary_id,
                                                                  identity_verified=True)  # the other desk
    assert main.detail.devices.rowCount() == 1  # not yet told
    desk.bus.publish(Changes.of(users=[world.secondary_id], devices=[issued.device_id], origin=Origin.other_desk))
    settle(qtbot, desk)
    qtbot.waitUntil(lambda: main.detail.devices.rowCount() == 2)
    assert main.current_user_id() == world.secondary_id


def test_a_write_runs_off_the_gui_thread(qtbot, ctx, world, admin):
    """The runner calls the service on its worker thread and reports on the GUI thread."""
    desk = desk_for(ctx, admin)
    threads = {}

    def work():
        threads["work"] = threading.current_thread()
        return DeviceService(ctx).receive_stock(admin, "DSC000000088")

    def done(ids):
        threads["done"] = threading.current_thread()

    heard = []
    desk.bus.changed.connect(heard.append)
    desk.runner.write(None, work, changes=lambda ids: Changes.of(devices=ids, kinds=[ChangeKind.stock]),
                      success=done)
    settle(qtbot, desk)
    assert threads["work"] is not threading.main_thread() and threads["done"] is threading.main_thread()
    assert heard and heard[0].touches(ChangeKind.stock) and heard[0].touches(ChangeKind.audit)
