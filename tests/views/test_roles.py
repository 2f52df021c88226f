"""The main window follows the signed-in staff member's role: forbidden actions are hidden and disabled."""

import pytest
from PySide6.QtGui import QAction

from console.app import Services
from console.models.permissions import Permission
from console.views.main_window import MainWindow
from console.views.roles import ACTION_PERMISSIONS, action_allowed, apply_role, requires


def window_for(qtbot, ctx, actor):
    w = MainWindow(Services.build(ctx, actor))
    qtbot.addWidget(w)
    w.show()
    return w


def test_auditor_cannot_open_security_settings(qtbot, ctx, world, auditor):
    """The auditor only reads: 'Change security settings' is hidden and stays off when a user is selected."""
    w = window_for(qtbot, ctx, auditor)
    w.select_user(world.primary_id)
    action = w.findChild(QAction, "changeSecuritySettings")
    assert not action.isVisible() and not action.isEnabled()
    assert "Auditor" in action.statusTip()


@pytest.mark.parametrize("who", ["agent", "back_office", "admin"])
def test_staff_who_may_change_settings_keep_the_action(qtbot, ctx, world, who, request):
    """Help-desk, back-office and administrators keep the action, enabled once a user is selected."""
    w = window_for(qtbot, ctx, request.getfixturevalue(who))
    w.select_user(world.primary_id)
    action = w.findChild(QAction, "changeSecuritySettings")
    assert action.isVisible() and action.isEnabled()


def test_audit_trail_open_to_every_role(qtbot, ctx, world, agent):
    """Every role may look at the audit trail from the Tools menu."""
    w = window_for(qtbot, ctx, agent)
    w.findChild(QAction, "openAuditTrail").trigger()
    assert w.audit_view.isVisible()


@pytest.mark.parametrize("who,name,visible", [
    ("agent", "waiveCharge", False), ("agent", "receiveStock", False), ("agent", "issueTemporaryPasscode", True),
    ("agent", "optIn", True), ("back_office", "waiveCharge", True), ("back_office", "optIn", False),
    ("auditor", "unlockDevice", False), ("auditor", "verifyAudit", True), ("admin", "rotateKey", True),
])
def test_actions_of_other_screens_follow_the_table(qtbot, ctx, world, who, name, visible, request):
    """An action named in ACTION_PERMISSIONS (waive, receive stock, passcodes...) follows the role table."""
    w = window_for(qtbot, ctx, request.getfixturevalue(who))
    action = QAction(name, w)
    action.setObjectName(name)
    apply_role(w, w.services.actor)
    assert action.isVisible() is visible and action.isEnabled() is visible


def test_tagged_action_needs_its_permission(qtbot, agent, back_office):
    """requires() tags an action; any one listed permission allows it."""
    action = requires(QAction("Receive returns"), Permission.receive_returns)
    assert not action_allowed(agent, action) and action_allowed(back_office, action)
    assert action_allowed(agent, QAction("Untagged"))
    assert all(isinstance(p, Permission) for ps in ACTION_PERMISSIONS.values() for p in ps)


def test_auditor_double_click_opens_nothing(qtbot, ctx, world, auditor):
    """Double-clicking a user is the same action: for the auditor it does nothing."""
    w = window_for(qtbot, ctx, auditor)
    w.select_user(world.primary_id)
    w.table.doubleClicked.emit(w.table.currentIndex())
    assert w.security_dialog is None
