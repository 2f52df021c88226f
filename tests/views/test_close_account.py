"""Closing an account from the main window, and the new SLS states in the list and the detail."""

import pytest
from sqlalchemy import select

from console.app import run_startup_tasks
from console.models.devices import DeviceService
from console.models.entities import Account, User
from console.models.enums import SlsState
from console.views.main_window import MainWindow
from tests.lifecycle import challenge_and_response, enroll_primary, make_rich
from tests.views.desks import desk_for, settle, submit


def _main(qtbot, ctx, actor):
    w = MainWindow(desk_for(ctx, actor))
    qtbot.addWidget(w)
    w.show()
    settle(qtbot, w.desk)  # the list is read off the GUI thread
    return w


@pytest.fixture
def card_on_its_way_back(ctx, world, admin):
    """jsmit001's DSC+ revoked as no longer needed: a return on its way for U1234567."""
    make_rich(ctx, world.account_id)
    enroll_primary(ctx, world)
    devices = DeviceService(ctx)
    [card] = devices.receive_stock(admin, "DSC000000801")
    devices.ship(admin, card, world.primary_id)
    ch, resp = challenge_and_response(ctx, admin, card)
    devices.activate_shipped(admin, card, ch, resp)
    devices.revoke(admin, card)
    return card


def test_close_account_is_hidden_from_the_help_desk(qtbot, ctx, world, agent):
    """Only roles that may close accounts see the action."""
    w = _main(qtbot, ctx, agent)
    assert not w.back_office.close_account_action.isVisible()


def test_close_account_refused_while_a_return_is_on_its_way_then_forced(qtbot, ctx, world, back_office,
                                                                         card_on_its_way_back):
    """The dialog names the account and the card on its way; without a reason the model refuses (shown once,
    inline); with one the account closes, the list shows "Account closed" and the status bar says what was
    charged."""
    w = _main(qtbot, ctx, back_office)
    w.select_user(world.primary_id)
    settle(qtbot, w.desk)
    action = w.back_office.close_account_action
    assert action.isVisible() and action in w.user_menu.actions()
    action.trigger()
    dialog = w.back_office.close_account_dialog
    assert dialog.number.text() == "U1234567"
    qtbot.mouseClick(dialog.ok_button, __import__("PySide6.QtCore").QtCore.Qt.MouseButton.LeftButton)
    settle(qtbot, w.desk)
    assert "DSC000000801" in dialog.confirm_box.text() and "Give a reason" in dialog.confirm_box.text()
    dialog.confirm_box.button(dialog.confirm_box.StandardButton.Yes).click()
    settle(qtbot, w.desk)
    assert dialog.isVisible() and "on its way" in dialog.last_message.text()
    qtbot.keyClicks(dialog.reason, "client moved abroad")
    submit(qtbot, dialog)
    assert not dialog.isVisible()
    assert "U1234567 closed: 2 user(s)" in w.property("lastReport") and "20.00 USD" in w.property("lastReport")
    with ctx.db.read() as s:
        assert s.scalar(select(Account.closed_at).where(Account.id == world.account_id)) is not None
        assert s.get(User, world.primary_id).sls_state is SlsState.closed
    w.select_user(world.primary_id)
    settle(qtbot, w.desk)
    assert w.detail.fields["state"].text() == "Account closed"


def test_no_active_device_shown_and_filtered(qtbot, ctx, world, admin):
    """A user whose temporary passcode expired shows "No active device" in the detail, and the state filter
    lists exactly those users (the work list)."""
    key = enroll_primary(ctx, world)
    DeviceService(ctx).report(admin, key, "lost", user_id=world.primary_id, issue_temporary_passcode=True,
                              identity_verified=True)
    ctx.clock.advance(days=13)
    run_startup_tasks(ctx)
    w = _main(qtbot, ctx, admin)
    combo = w.state_combo
    combo.setCurrentIndex(combo.findData(SlsState.no_device))
    settle(qtbot, w.desk)
    qtbot.waitUntil(lambda: w.model.rowCount() == 1, timeout=5000)
    assert w.model.data(w.model.index(0, 0)) == "jsmit001"
    assert "No active device: 1" in w.counts_label.text()
    w.select_user(world.primary_id)
    settle(qtbot, w.desk)
    assert w.detail.fields["state"].text() == "No active device"
    w.grab().save("/tmp/sls-inv-no-device.png")
