"""Staff administration in the window: administrators add, unlock, reset and deactivate; others never see it."""

import pyotp
import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox

from console.models.enums import StaffRole
from console.models.errors import VerificationFailed
from console.views.main_window import MainWindow
from console.views.staff_dialog import StaffDialog
from tests.sessions import signed_in
from tests.views.desks import desk_for, settle

PASSWORD = "correct horse battery"


@pytest.fixture
def admin(ctx, staff_service):
    """The database's first administrator, signed in."""
    staff_service.add_first_administrator("admin01", "Alex Admin", PASSWORD)
    return signed_in(ctx, "admin01", "Alex Admin", StaffRole.administrator)


@pytest.fixture
def dialog(qtbot, staff_service, admin):
    desk = desk_for(staff_service.ctx, admin)
    desk.services.staff = staff_service  # the fast password hasher
    d = StaffDialog(desk)
    qtbot.addWidget(d)
    d.show()
    settle(qtbot, desk)  # the staff are read off the GUI thread
    return d


def test_add_staff_shows_qr_once_and_the_new_member_can_sign_in(qtbot, dialog, staff_service, clock):
    """Filling the form adds the member, shows the authenticator QR code and secret; that secret signs in."""
    qtbot.keyClicks(dialog.new_username, "harriet")
    qtbot.keyClicks(dialog.new_name, "Harriet Desk")
    dialog.new_role.setCurrentIndex(dialog.new_role.findData(StaffRole.help_desk))
    qtbot.keyClicks(dialog.new_password, "desk passphrase 42")
    qtbot.keyClicks(dialog.new_password_again, "desk passphrase 42")
    dialog.add_button.click()
    settle(qtbot, dialog.desk)
    assert dialog.enrollment.isVisible() and not dialog.enrollment_qr.pixmap().isNull()
    secret = dialog.enrollment_text.text().split("secret ")[1].split(".")[0]
    assert dialog.selected_username() == "harriet" and dialog.new_username.text() == ""
    actor = staff_service.sign_in("harriet", "desk passphrase 42", pyotp.TOTP(secret).at(clock.now()))
    assert actor.role is StaffRole.help_desk


def test_mismatched_passwords_refused(qtbot, dialog, staff_service, admin):
    """Two different passwords: a message, and nobody added."""
    qtbot.keyClicks(dialog.new_username, "harriet")
    qtbot.keyClicks(dialog.new_name, "Harriet Desk")
    qtbot.keyClicks(dialog.new_password, "desk passphrase 42")
    qtbot.keyClicks(dialog.new_password_again, "desk passphrase 43")
    dialog.add_button.click()
    settle(qtbot, dialog.desk)
    assert "passwords differ" in dialog.last_message.text()
    assert [m.username for m in staff_service.members(admin)] == ["admin01"]


def test_unlock_and_deactivate_selected(qtbot, dialog, staff_service, admin, clock):
    """Unlock lifts a lock; deactivate stops sign-in; the last administrator cannot be deactivated."""
    staff_service.add(admin, "harriet", "Harriet Desk", StaffRole.help_desk, "desk passphrase 42")
    for _ in range(5):
        with pytest.raises(VerificationFailed):
            staff_service.sign_in("harriet", "wrong", "000000")
        clock.advance(seconds=60)
    dialog.refresh()
    settle(qtbot, dialog.desk)
    dialog.select("harriet")
    assert "locked" in dialog.table.item(dialog.table.currentRow(), 4).text()
    dialog.unlock_action.trigger()
    settle(qtbot, dialog.desk)
    assert dialog.table.item(dialog.table.currentRow(), 4).text() == "ok"
    dialog.deactivate_action.trigger()
    assert "Stop harriet signing in" in dialog.confirm_box.text()  # asks first, naming who
    dialog.confirm_box.button(QMessageBox.StandardButton.Yes).click()
    settle(qtbot, dialog.desk)
    assert dialog.table.item(dialog.table.currentRow(), 3).text() == "no"
    dialog.select("admin01")
    dialog.deactivate_action.trigger()
    dialog.confirm_box.button(QMessageBox.StandardButton.Yes).click()
    settle(qtbot, dialog.desk)
    assert "last active administrator" in dialog.last_message.text()


@pytest.mark.parametrize("who", ["agent", "back_office", "auditor"])
def test_staff_menu_hidden_from_other_roles(qtbot, ctx, world, who, request):
    """Only administrators see Tools → Staff."""
    w = MainWindow(desk_for(ctx, request.getfixturevalue(who)))
    qtbot.addWidget(w)
    action = w.findChild(QAction, "manageStaff")
    assert not action.isVisible() and not action.isEnabled()


def test_administrator_opens_staff_from_tools(qtbot, ctx, world, admin):
    """The administrator's Tools → Staff opens the staff dialog."""
    w = MainWindow(desk_for(ctx, admin))
    qtbot.addWidget(w)
    w.findChild(QAction, "manageStaff").trigger()
    assert w.staff_dialog.isVisible()
