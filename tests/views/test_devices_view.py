"""The devices screen and the main window's Devices menu, driven as back office and help desk would."""

import pyotp
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from sqlalchemy import select

from console.models.devices import DeviceService
from console.models.entities import Charge, DeviceHolding, Reserve, SecurityDevice
from console.models.enums import DeviceKind, DeviceState
from console.models.verification import dsc_response
from console.views.devices_view import DevicesWindow
from console.views.main_window import MainWindow
from tests.factories import add_same_person_username
from tests.lifecycle import card_seed, challenge_and_response, enroll_primary, make_rich
from tests.views.desks import desk_for, settle, submit


@pytest.fixture
def desk(ctx, world, admin):
    make_rich(ctx, world.account_id)
    return desk_for(ctx, admin)


@pytest.fixture
def window(qtbot, desk):
    w = DevicesWindow(desk)
    qtbot.addWidget(w)
    w.show()
    settle(qtbot, w.desk)  # read off the GUI thread
    return w


def _state(ctx, device_id):
    with ctx.db.read() as s:
        return s.scalar(select(SecurityDevice.state).where(SecurityDevice.id == device_id))


def _id_of(ctx, serial):
    with ctx.db.read() as s:
        return s.scalar(select(SecurityDevice.id).where(SecurityDevice.serial == serial))


def _receive(window, qtbot, text):
    window.receive_stock_action.trigger()
    dialog = window.dialog
    assert dialog.objectName() == "receiveStock" and dialog.isVisible()
    for i, line in enumerate(text.split("\n")):  # typed line by line, Enter between lines
        if i:
            qtbot.keyClick(dialog.serials, Qt.Key.Key_Return)
        qtbot.keyClicks(dialog.serials, line)
    submit(qtbot, dialog)
    return dialog


def test_list_shows_devices_and_filters_by_kind_and_state(window, qtbot):
    """Every device is listed with kind, state and holders; kind and state filters narrow it."""
    assert window.model.rowCount() == 2  # the world's two IB Keys
    _receive(window, qtbot, "DSC000000001-DSC000000003")
    assert window.model.rowCount() == 5
    window.kind_combo.setCurrentIndex(window.kind_combo.findData(DeviceKind.ib_key))
    settle(qtbot, window.desk)  # read off the GUI thread
    assert window.model.rowCount() == 2
    assert {window.model.data(window.model.index(r, 3)) for r in range(2)} == {"jsmit123", "aarch001"}
    window.kind_combo.setCurrentIndex(0)
    settle(qtbot, window.desk)  # read off the GUI thread
    window.state_combo.setCurrentIndex(window.state_combo.findData(DeviceState.in_stock))
    settle(qtbot, window.desk)  # read off the GUI thread
    assert window.model.rowCount() == 3
    assert "DSC+ in stock: 3" in window.summary.text()


def test_receiving_a_batch_with_a_bad_serial_says_which_and_stays_open(window, qtbot, ctx):
    """A malformed serial is named in the message; nothing is received and the dialog stays open to fix it."""
    dialog = _receive(window, qtbot, "DSC000000001\nDSC0000X0002")
    assert dialog.isVisible() and "DSC0000X0002" in dialog.last_message.text()
    assert _id_of(ctx, "DSC000000001") is None
    dialog.serials.setPlainText("DSC000000001\nDSC000000002")
    submit(qtbot, dialog)
    assert not dialog.isVisible() and _id_of(ctx, "DSC000000002") is not None


def test_receive_ship_and_activate_from_the_gui(window, qtbot, ctx, world, admin):
    """Back office receives a card, ships it to jsmit001, and activates it with the card's response."""
    key = enroll_primary(ctx, world)
    _receive(window, qtbot, "DSC000000042")
    device_id = _id_of(ctx, "DSC000000042")
    assert window.select_device(device_id)
    assert window.ship_action.isEnabled() and not window.activate_action.isEnabled()
    window.ship_action.trigger()
    ship = window.dialog
    qtbot.keyClicks(ship.username, "jsmit001")
    qtbot.mouseClick(ship.ok_button, Qt.MouseButton.LeftButton)
    settle(qtbot, window.desk)
    question = ship.confirm_box.text()
    assert question.startswith("Account U1234567 has equity of ") and "eligible for a DSC+" in question
    ship.confirm_box.button(ship.confirm_box.StandardButton.Yes).click()
    settle(qtbot, window.desk)
    assert not ship.isVisible() and _state(ctx, device_id) is DeviceState.shipped
    with ctx.db.read() as s:
        assert s.scalar(select(Reserve.amount_cents).where(Reserve.device_id == device_id)) == 2000

    assert window.select_device(device_id) and window.activate_action.isEnabled()
    window.activate_action.trigger()
    activate = window.dialog
    settle(qtbot, window.desk)
    number = activate.challenge.number
    assert number in activate.prompt.text()
    qtbot.keyClicks(activate.answer, dsc_response(card_seed(ctx, device_id), number))
    submit(qtbot, activate)
    assert not activate.isVisible()
    assert _state(ctx, device_id) is DeviceState.active
    assert _state(ctx, key) is DeviceState.active  # M2FS: the IB Key stays


def test_wrong_activation_response_draws_a_new_challenge(window, qtbot, ctx, world, admin):
    """After a wrong response the message is shown and a fresh challenge replaces the used one."""
    devices = DeviceService(ctx)
    [device_id] = devices.receive_stock(admin, "DSC000000043")
    enroll_primary(ctx, world)  # jsmit001 holds the rights
    devices.ship(admin, device_id, world.primary_id)
    window.refresh()
    settle(qtbot, window.desk)  # read off the GUI thread
    window.select_device(device_id)
    window.activate_action.trigger()
    dialog = window.dialog
    settle(qtbot, window.desk)
    first = dialog.challenge.id
    right = dsc_response(card_seed(ctx, device_id), dialog.challenge.number)
    qtbot.keyClicks(dialog.answer, f"{(int(right) + 1) % 10**8:08d}")
    submit(qtbot, dialog)
    assert dialog.isVisible() and "not correct" in dialog.last_message.text()
    assert dialog.challenge.id != first
    assert _state(ctx, device_id) is DeviceState.shipped


def test_report_loss_with_passcode_then_replace_and_receive_return(window, qtbot, ctx, world, admin):
    """A damaged DSC+ is reported, replaced from stock (fee charged) and received back (reserve released)."""
    devices = DeviceService(ctx)
    [card] = devices.receive_stock(admin, "DSC000000050")
    enroll_primary(ctx, world)  # jsmit001 holds the rights
    devices.ship(admin, card, world.primary_id)
    ch, resp = challenge_and_response(ctx, admin, card)
    devices.activate_shipped(admin, card, ch, resp)
    devices.receive_stock(admin, "DSC000000051")
    window.refresh()
    settle(qtbot, window.desk)  # read off the GUI thread

    window.select_device(card)
    window.report_action.trigger()
    report = window.dialog
    settle(qtbot, window.desk)  # the dialog reads what it needs off the GUI thread
    report.reason.setCurrentIndex(report.reason.findData("damaged"))
    qtbot.keyClicks(report.note, "card snapped")
    submit(qtbot, report)
    assert not report.isVisible() and _state(ctx, card) is DeviceState.damaged

    window.select_device(card)
    assert window.replace_action.isEnabled()
    window.replace_action.trigger()
    replace = window.dialog
    settle(qtbot, window.desk)  # the dialog reads what it needs off the GUI thread
    assert "fee is charged to account U1234567: 20.00 USD" in replace.intro.text()
    qtbot.keyClicks(replace.serial, "DSC000000051")
    submit(qtbot, replace)
    assert "DSC000000051" in replace.report and "20.00 USD" in replace.report
    assert not replace.isVisible()
    assert _state(ctx, _id_of(ctx, "DSC000000051")) is DeviceState.shipped
    assert _state(ctx, card) is DeviceState.return_pending
    with ctx.db.read() as s:
        assert s.scalar(select(Charge.amount_cents).where(Charge.device_id == card)) == 2000

    window.select_device(card)
    window.receive_return_action.trigger()
    ret = window.dialog
    assert ret.serial.text() == "DSC000000050"
    submit(qtbot, ret)
    assert not ret.isVisible() and _state(ctx, card) is DeviceState.returned


def test_overdue_run_from_the_gui_reports_what_it_charged(window, qtbot, ctx, world, admin):
    """Charging overdue returns says how many were charged; running it again charges none."""
    devices = DeviceService(ctx)
    [card] = devices.receive_stock(admin, "DSC000000060")
    enroll_primary(ctx, world)  # jsmit001 holds the rights
    devices.ship(admin, card, world.primary_id)
    ch, resp = challenge_and_response(ctx, admin, card)
    devices.activate_shipped(admin, card, ch, resp)
    devices.revoke(admin, card)
    ctx.clock.advance(days=31)
    window.overdue_check.setChecked(True)
    settle(qtbot, window.desk)  # read off the GUI thread
    assert window.model.rowCount() == 1
    window.overdue_action.trigger()
    settle(qtbot, window.desk)
    assert window.confirm_box.text().startswith(
        "Charge the fee for 1 device(s) past their return date (a DSC+: 20.00 USD)?")
    window.confirm_box.button(QMessageBox.StandardButton.Yes).click()
    settle(qtbot, window.desk)
    assert window.last_message.text().startswith("1 device(s) charged 20.00 USD")
    window.overdue_action.trigger()
    settle(qtbot, window.desk)
    window.confirm_box.button(QMessageBox.StandardButton.Yes).click()
    settle(qtbot, window.desk)
    assert window.last_message.text().startswith("0 device(s) charged")


def test_help_desk_cannot_receive_or_ship_stock(qtbot, ctx, world, agent):
    """Stock actions are disabled for a help-desk agent; reporting stays available."""
    w = DevicesWindow(desk_for(ctx, agent))
    qtbot.addWidget(w)
    settle(qtbot, w.desk)  # read off the GUI thread
    assert not w.receive_stock_action.isEnabled()
    w.select_device(world.secondary_device_id)
    assert not w.ship_action.isEnabled() and w.report_action.isEnabled()


# --- the main window's Devices menu, on the selected user ---------------------------------------------
@pytest.fixture
def main(qtbot, desk):
    w = MainWindow(desk)
    qtbot.addWidget(w)
    w.show()
    settle(qtbot, w.desk)  # the list is read off the GUI thread
    return w


def test_user_detail_report_loss_with_temporary_passcode(main, qtbot, ctx, world, tmp_path):
    """jsmit123's only device is reported lost with a temporary passcode, shown once; the card is offered next."""
    main.select_user(world.secondary_id)
    settle(qtbot, main.desk)  # the detail pane reads the user off the GUI thread
    acts = main.device_actions
    assert acts.select_device(world.secondary_device_id)
    assert acts.report.isEnabled()
    acts.report.trigger()
    report = acts.dialog
    settle(qtbot, acts.desk)  # the dialog reads what it needs off the GUI thread
    assert report.user.currentText() == "jsmit123"
    submit(qtbot, report)
    assert "without an active security device" in report.last_message.text()
    report.issue_passcode.setChecked(True)
    report.identity.setChecked(True)
    submit(qtbot, report)
    assert not report.isVisible()
    shown = report.passcode_dialog
    assert shown.isVisible() and len(shown.code_label.text().replace(" ", "")) == 8
    assert _state(ctx, world.secondary_device_id) is DeviceState.lost
    assert main.detail.devices.rowCount() == 2  # the lost IB Key and the passcode
    qtbot.mouseClick(shown.offer_card, Qt.MouseButton.LeftButton)
    card = shown.card_dialog
    assert card.isVisible() and card.objectName() == "onlineCard"
    submit(qtbot, card)
    pdf = card.save_pdf(str(tmp_path / "card.pdf"))
    assert open(pdf, "rb").read(5) == b"%PDF-"
    a, b = card.challenge.positions
    qtbot.keyClicks(card.answer, card.card.values[a] + card.card.values[b])
    submit(qtbot, card)
    assert not card.isVisible() and _state(ctx, card.card.device_id) is DeviceState.active


def test_user_detail_issue_temporary_passcode_needs_identity_check(main, qtbot, ctx, world):
    """The passcode is refused until the identity box is ticked, then shown once."""
    main.select_user(world.secondary_id)
    settle(qtbot, main.desk)  # the detail pane reads the user off the GUI thread
    acts = main.device_actions
    assert acts.temporary.isEnabled()
    acts.temporary.trigger()
    dialog = acts.dialog
    settle(qtbot, main.desk)  # the dialog reads the user off the GUI thread
    submit(qtbot, dialog)
    assert "identity" in dialog.last_message.text()
    dialog.identity.setChecked(True)
    qtbot.keyClicks(dialog.reason, "phone at home")
    submit(qtbot, dialog)
    assert dialog.passcode_dialog.isVisible()
    with ctx.db.read() as s:
        assert s.scalar(select(SecurityDevice.state).where(SecurityDevice.kind == DeviceKind.temporary_passcode)) \
            is DeviceState.active


def test_user_detail_share_then_stop_sharing(main, qtbot, ctx, world, immediate_sharing):
    """jsmit123's IB Key is shared with jsmit777 (same person) by a good code, then unshared from jsmit777."""
    twin = add_same_person_username(ctx, world.secondary_id, "jsmit777", "U2222222", (DeviceKind.code_card,))
    main.refresh()
    main.select_user(world.secondary_id)
    settle(qtbot, main.desk)  # the detail pane reads the user off the GUI thread
    acts = main.device_actions
    acts.select_device(world.secondary_device_id)
    acts.share.trigger()
    dialog = acts.dialog
    settle(qtbot, main.desk)
    assert "6-digit code" in dialog.prompt.text()
    qtbot.keyClicks(dialog.username, "jsmit777")
    qtbot.keyClicks(dialog.answer, pyotp.TOTP(world.secondary_seed).at(ctx.clock.now()))
    submit(qtbot, dialog)
    assert not dialog.isVisible()
    with ctx.db.read() as s:
        holders = set(s.scalars(select(DeviceHolding.user_id)
                                .where(DeviceHolding.device_id == world.secondary_device_id)))
    assert holders == {world.secondary_id, twin["user_id"]}
    assert "Shared with jsmit777" in main.detail.devices.item(0, 1).text()  # who shares which device

    main.filter_edit.setText("jsmit777")
    main.apply_filter()
    qtbot.waitUntil(lambda: not main.model.loading)  # the search runs in the background
    main.select_user(twin["user_id"])
    settle(qtbot, main.desk)  # the detail pane reads the user off the GUI thread
    assert acts.select_device(world.secondary_device_id) and acts.unshare.isEnabled()
    acts.unshare.trigger()
    submit(qtbot, acts.dialog)
    with ctx.db.read() as s:
        holders = set(s.scalars(select(DeviceHolding.user_id)
                                .where(DeviceHolding.device_id == world.secondary_device_id)))
    assert holders == {world.secondary_id}


def test_devices_menu_opens_devices_and_charges_screens(qtbot, main, world):
    """The Devices menu opens the devices list and the selected account's charges."""
    main.select_user(world.secondary_id)
    settle(qtbot, main.desk)  # the detail pane reads the user off the GUI thread
    main.device_actions.open_devices.trigger()
    assert main.device_actions.devices_window.isVisible()
    main.device_actions.open_charges.trigger()
    charges = main.device_actions.charges_window
    assert charges.isVisible() and charges.account_edit.text() == "U1234567"
    main.device_actions.devices_window.close()
    charges.close()


def test_passed_due_date_is_flagged(window, qtbot, ctx, world, admin):
    """A shipped card not activated by its date shows the date in red with a tooltip saying so."""
    from PySide6.QtGui import QColor

    devices = DeviceService(ctx)
    [card] = devices.receive_stock(admin, "DSC000000070")
    enroll_primary(ctx, world)  # jsmit001 holds the rights
    devices.ship(admin, card, world.primary_id)
    ctx.clock.advance(days=15)
    window.refresh()
    settle(qtbot, window.desk)  # read off the GUI thread
    window.select_device(card)
    index = window.model.index(window.table.currentIndex().row(), 8)
    assert window.model.data(index, Qt.ItemDataRole.ForegroundRole) == QColor("#b3261e")
    assert window.model.data(index, Qt.ItemDataRole.ToolTipRole) == "Activation due — date passed"


def test_devices_model_reads_windows_not_the_whole_table(window, qtbot, ctx, admin):
    """With more devices than one window, only the windows looked at are read from SQL."""
    from console.views.windowed_model import WINDOW

    DeviceService(ctx).receive_stock(admin, "DSC000001000-DSC000001449")
    window.refresh()
    settle(qtbot, window.desk)  # read off the GUI thread
    window.model._windows.clear()
    assert window.model.rowCount() == 452
    assert window.model.data(window.model.index(0, 0)) == "…"  # its window is asked for, off the GUI thread
    settle(qtbot, window.desk)
    assert window.model.data(window.model.index(0, 1)) == "DSC000001449"
    assert list(window.model._windows) == [0]
    window.model.data(window.model.index(451, 3))
    settle(qtbot, window.desk)
    assert window.model.data(window.model.index(451, 3)) in ("jsmit123", "aarch001")
    assert sorted(window.model._windows) == [0, 451 // WINDOW]


def test_ship_refused_before_asking_when_the_account_is_not_eligible(qtbot, ctx, world, admin):
    """An account below the DSC+ equity minimum is told so (equity named) before any question; nothing ships."""
    desk = desk_for(ctx, admin)  # not made rich: 100,000.00 USD
    window = DevicesWindow(desk)
    qtbot.addWidget(window)
    [card] = DeviceService(ctx).receive_stock(admin, "DSC000000043")
    window.refresh()
    settle(qtbot, window.desk)  # read off the GUI thread
    window.select_device(card)
    window.ship_action.trigger()
    ship = window.dialog
    qtbot.keyClicks(ship.username, "jsmit123")
    qtbot.mouseClick(ship.ok_button, Qt.MouseButton.LeftButton)
    settle(qtbot, desk)
    assert ship.confirm_box is None
    assert "equity of 100,000.00 USD, below the 500,000.00 USD" in ship.refusal.text()
    assert _state(ctx, card) is DeviceState.in_stock


def test_locked_device_is_unlocked_from_the_devices_window(window, qtbot, ctx, world):
    """Unlock is offered for a locked device only; after the confirmation the device is unlocked."""
    with ctx.db.write() as s:
        s.get(SecurityDevice, world.secondary_device_id).locked = True
    window.refresh()
    settle(qtbot, window.desk)  # read off the GUI thread
    assert window.select_device(world.secondary_device_id) and window.unlock_action.isEnabled()
    window.unlock_action.trigger()
    submit(qtbot, window.dialog)
    with ctx.db.read() as s:
        assert not s.get(SecurityDevice, world.secondary_device_id).locked
    assert "unlocked" in window.dialog.report
    window.select_device(world.secondary_device_id)
    assert not window.unlock_action.isEnabled()


def test_card_past_its_window_shows_required_at_login_and_is_filtered(window, qtbot, ctx, world, admin):
    """After the start-up run, a card mailed 15 days ago reads "Shipped · required at login" and the
    Required-at-login filter lists it alone."""
    from console.app import run_startup_tasks

    devices = DeviceService(ctx)
    enroll_primary(ctx, world)
    [card] = devices.receive_stock(admin, "DSC000000071")
    devices.ship(admin, card, world.primary_id)
    ctx.clock.advance(days=15)
    run_startup_tasks(ctx)
    window.required_check.setChecked(True)
    settle(qtbot, window.desk)
    assert window.model.rowCount() == 1
    assert window.model.data(window.model.index(0, 2)) == "Shipped · required at login"
    window.grab().save("/tmp/sls-inv-required.png")


def test_select_device_asks_the_database_for_its_row_instead_of_reading_every_row(qtbot, ctx, admin, monkeypatch):
    """With small windows (so the list spans many), selecting the oldest device reads one count and the window it
    is shown in, never the windows before it: the same holds at a million devices."""
    from console.models import demo
    from console.models.devices import DeviceQuery
    from console.models.settings import Figures
    from console.views import windowed_model

    demo.generate(ctx, Figures(), 200, seed=5, actor=admin)  # the database has staff: an administrator adds it
    monkeypatch.setattr(windowed_model, "WINDOW", 10)
    w = DevicesWindow(desk_for(ctx, admin))
    qtbot.addWidget(w)
    w.show()
    settle(qtbot, w.desk)  # read off the GUI thread
    total = w.model.rowCount()
    assert total > 10 * windowed_model.CACHED_WINDOWS * 2
    oldest = DeviceService(ctx).window(DeviceQuery(), total - 1, 1)[0].id
    devices = w.services.devices
    reads = []
    original = devices.window
    monkeypatch.setattr(devices, "window",
                        lambda query, offset, limit: reads.append(offset) or original(query, offset, limit))
    assert not w.select_device(oldest)  # not among the rows read: its row is asked off the GUI thread
    settle(qtbot, w.desk)
    qtbot.wait(10)  # the table paints the rows around the selection: their window is read
    settle(qtbot, w.desk)
    assert w.current_row().id == oldest and w.table.currentIndex().row() == total - 1
    assert len(reads) <= 3 and min(reads) >= total - 3 * 10, reads
    found = []
    w.select_device(10**9, found.append)
    settle(qtbot, w.desk)
    assert found == [False]  # not listed: no row
