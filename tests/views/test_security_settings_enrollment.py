"""From the main window: Change security settings… → Opt back in… / Opt out…, as an agent does on a call."""

import pyotp
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QLabel, QLineEdit, QPushButton, QRadioButton, QWizard

from console.models.enums import SlsState
from console.views.main_window import MainWindow
from tests.factories import user_snapshot
from tests.views.desks import desk_for, settle


@pytest.fixture
def window(qtbot, ctx, world, agent):
    w = MainWindow(desk_for(ctx, agent))
    qtbot.addWidget(w)
    w.show()
    settle(qtbot, w.desk)  # the list is read off the GUI thread
    return w


def click(qtbot, button):
    """Press a button, then wait for what it asked of the services (they run off the GUI thread)."""
    assert button.isVisible() and button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    settle(qtbot, button.window().desk)


def open_settings(qtbot, window, user_id):
    assert window.select_user(user_id)
    settle(qtbot, window.desk)  # the detail pane reads the user off the GUI thread
    window.change_security_action.trigger()
    settle(qtbot, window.desk)
    assert window.security_dialog is not None and window.security_dialog.isVisible()
    return window.security_dialog


def test_opt_back_in_then_opt_out_from_security_settings(qtbot, ctx, world, window):
    """Jane: Opt back in… (IB Key) enrolls her and the dialog then offers Opt out…, which opts her out again."""
    dialog = open_settings(qtbot, window, world.primary_id)
    assert not dialog.findChild(QPushButton, "optOutButton").isVisible()
    click(qtbot, dialog.findChild(QPushButton, "optInButton"))
    wizard = dialog.opt_in_wizard
    assert wizard.isVisible()
    click(qtbot, wizard.findChild(QRadioButton, "option_ib_key"))
    click(qtbot, wizard.button(QWizard.WizardButton.NextButton))
    key = wizard.findChild(QLabel, "manualKey").text().replace(" ", "")
    click(qtbot, wizard.button(QWizard.WizardButton.NextButton))
    qtbot.keyClicks(wizard.findChild(QLineEdit, "answer"), pyotp.TOTP(key).at(ctx.clock.now()))
    click(qtbot, wizard.button(QWizard.WizardButton.NextButton))
    click(qtbot, wizard.button(QWizard.WizardButton.FinishButton))
    assert dialog.pane.fields["state"].text() == "Enrolled"
    assert dialog.pane.devices.rowCount() == 1 and dialog.pane.devices.item(0, 1).text().startswith("Active")
    assert not dialog.findChild(QPushButton, "optInButton").isVisible()

    ctx.clock.advance(minutes=2)
    click(qtbot, dialog.findChild(QPushButton, "optOutButton"))
    opt_out = dialog.opt_out_dialog
    click(qtbot, opt_out.findChild(QCheckBox, "acknowledged"))
    click(qtbot, opt_out.findChild(QPushButton, "optOutButton"))
    settle(qtbot, window.desk)
    assert dialog.pane.fields["state"].text() == "Opted out"
    assert window.detail.fields["state"].text() == "Opted out"  # the main window heard it too
    assert "No Pink Sheet" in dialog.pane.fields["restrictions"].text()
    assert user_snapshot(ctx, world.primary_id)[0] is SlsState.opted_out


def test_cancelled_wizard_leaves_settings_as_they_were(qtbot, ctx, world, window):
    """Cancelling the wizard from the security settings dialog shows the user opted out, as before."""
    before = user_snapshot(ctx, world.primary_id)
    dialog = open_settings(qtbot, window, world.primary_id)
    click(qtbot, dialog.findChild(QPushButton, "optInButton"))
    wizard = dialog.opt_in_wizard
    click(qtbot, wizard.findChild(QRadioButton, "option_card"))
    click(qtbot, wizard.button(QWizard.WizardButton.NextButton))
    click(qtbot, wizard.button(QWizard.WizardButton.CancelButton))
    assert dialog.pane.fields["state"].text() == "Opted out"
    assert user_snapshot(ctx, world.primary_id) == before


def test_opt_buttons_hidden_for_role_without_permission(qtbot, ctx, world, back_office):
    """Back-office staff (devices, not enrollment) see the state but are not offered an opt-in."""
    w = MainWindow(desk_for(ctx, back_office))
    qtbot.addWidget(w)
    w.show()
    settle(qtbot, w.desk)  # the list is read off the GUI thread
    dialog = open_settings(qtbot, w, world.primary_id)
    button = dialog.findChild(QPushButton, "optInButton")
    assert not button.isVisible() and not dialog.opt_in_action.isEnabled()
    dialog.opt_in_action.setVisible(True)  # the state says "offer it"; the role still hides it
    assert not button.isVisible() and not dialog.opt_in_action.isVisible()


def test_auditor_cannot_open_security_settings(qtbot, ctx, world, auditor):
    """An auditor only reads: the action is hidden and off, and no settings dialog opens."""
    w = MainWindow(desk_for(ctx, auditor))
    qtbot.addWidget(w)
    w.show()
    settle(qtbot, w.desk)  # the list is read off the GUI thread
    assert w.select_user(world.primary_id)
    settle(qtbot, w.desk)  # the detail pane reads the user off the GUI thread
    assert not w.change_security_action.isEnabled() and not w.change_security_action.isVisible()
    w.change_security_settings()
    assert w.security_dialog is None


def test_locked_device_is_unlocked_from_security_settings_with_a_confirmation(qtbot, ctx, world, agent):
    """Selecting a locked device offers Unlock; the confirmation names it; afterwards it is usable and audited."""
    from sqlalchemy import select

    from console.models.entities import AuditEntry, SecurityDevice
    from console.views.security_settings import SecuritySettingsDialog
    from tests.views.desks import desk_for, settle, submit

    with ctx.db.write() as s:
        s.get(SecurityDevice, world.secondary_device_id).locked = True
    desk = desk_for(ctx, agent)
    dialog = SecuritySettingsDialog(desk, world.secondary_id)
    qtbot.addWidget(dialog)
    dialog.show()
    settle(qtbot, desk)  # the user is read off the GUI thread
    assert not dialog.unlock_action.isEnabled()
    dialog.pane.devices.setCurrentCell(0, 0)
    assert dialog.unlock_action.isEnabled() and dialog.unlock_button.isVisible()
    dialog.unlock_action.trigger()
    confirm = dialog.unlock_dialog
    assert "Unlock IB Key (held by jsmit123)?" in confirm.intro.text()
    submit(qtbot, confirm)
    with ctx.db.read() as s:
        assert not s.get(SecurityDevice, world.secondary_device_id).locked
        assert s.scalar(select(AuditEntry.actor).where(AuditEntry.action == "device.unlocked")) == agent.username
    qtbot.waitUntil(lambda: "(locked)" not in dialog.pane.devices.item(0, 1).text())
