"""Every real action of every window, for every role, against the permission table.

The windows are the ones staff use (main window, devices, charges, audit trail, staff, service figures,
security settings, sharing queue); the actions are the ones those windows made, found in them, not a list kept here.
Rule (console/views/permitted.py): what a role may not do is hidden and off, and stays so.
"""

import pytest
from PySide6.QtGui import QAction

from console.models.enums import StaffRole
from console.models.permissions import ROLE_PERMISSIONS, Permission
from console.views.audit_view import AuditView
from console.views.charges_view import ChargesWindow
from console.views.devices_view import DevicesWindow
from console.views.main_window import MainWindow
from console.views.opt_in_wizard import OptInWizard
from console.views.permitted import PermittedAction, permitted_actions
from console.views.security_settings import SecuritySettingsDialog
from console.views.settings_dialog import SettingsDialog
from console.views.sharing_queue import SharingQueueWindow
from console.views.staff_dialog import StaffDialog
from tests.sessions import signed_in
from tests.views.desks import desk_for, settle

# Permissions no window offers as an action, each with the reason. Every other permission is some real window's
# action (unlocking a device: security settings and the Devices window; challenges: the opt-in wizard's New
# challenge).
NOT_IN_WINDOWS = {
    Permission.rotate_key: "a command-line job (sls-console key rotate): it re-seals every secret with a new "
                           "master key, run by an administrator at the server, never from a desk",
    Permission.add_demo_data: "a command-line job (sls-console demo --as ADMIN): demo data on a database with staff "
                              "of its own is an administrator's deliberate act, never a desk's",
}


def every_window(qtbot, ctx, world, actor):
    desk = desk_for(ctx, actor)
    main = MainWindow(desk)
    qtbot.addWidget(main)
    main.show()
    settle(qtbot, main.desk)  # the list is read off the GUI thread
    main.select_user(world.primary_id)
    settle(qtbot, main.desk)  # the detail pane reads the user off the GUI thread
    windows = {"main": main, "devices": DevicesWindow(desk, main), "charges": ChargesWindow(desk, "U1234567", main),
               "audit": AuditView(desk, main), "staff": StaffDialog(desk, main), "settings": SettingsDialog(desk, main),
               "security settings": SecuritySettingsDialog(desk, world.primary_id, main),
               "sharing queue": SharingQueueWindow(desk, main),
               "opt-in wizard": OptInWizard(desk, world.primary_id, "jsmit001", main)}
    return desk, windows


def _named_actions(window):
    return [a for a in window.findChildren(QAction) if a.objectName() and not a.objectName().startswith("_q_")]


@pytest.mark.parametrize("role", list(StaffRole))
def test_every_real_action_follows_the_permission_table(qtbot, ctx, world, role):
    """In each window, an action is offered exactly when the role's permissions allow it; forbidden ones stay
    hidden and off even when the screen's own rules would switch them on."""
    actor = signed_in(ctx, "someone", "Some One", role)
    _desk, windows = every_window(qtbot, ctx, world, actor)
    table = ROLE_PERMISSIONS[role]
    seen = set()
    for name, window in windows.items():
        named = _named_actions(window)
        ungated = [a.objectName() for a in named if not isinstance(a, PermittedAction)]
        assert not ungated, f"{name}: actions made outside the factory: {ungated}"
        for action in permitted_actions(window):
            seen.update(action.permissions)
            allowed = any(p in table for p in action.permissions)
            assert action.permitted is allowed, (name, action.objectName())
            if not allowed:
                action.setEnabled(True)
                action.setVisible(True)
                assert not action.isVisible() and not action.isEnabled(), (name, action.objectName())
    assert seen | set(NOT_IN_WINDOWS) == set(Permission), f"not offered anywhere: {set(Permission) - seen}"
    assert not seen & set(NOT_IN_WINDOWS), f"offered in a window after all: {seen & set(NOT_IN_WINDOWS)}"


@pytest.mark.parametrize("role", list(StaffRole))
def test_no_menu_is_left_empty(qtbot, ctx, world, role):
    """A menu whose every action is forbidden is hidden (help desk saw an empty Export menu)."""
    _desk, windows = every_window(qtbot, ctx, world, signed_in(ctx, "someone", "Some One", role))
    for name in ("main", "devices", "charges", "audit"):
        bar = windows[name].menuBar()
        stack = list(bar.actions())
        while stack:
            entry = stack.pop()
            if entry.menu() is not None:
                offered = [a for a in entry.menu().actions() if a.isVisible() and not a.isSeparator()]
                assert entry.isVisible() == bool(offered), (name, entry.text())
                stack += entry.menu().actions()


def test_auditor_double_click_opens_nothing(qtbot, ctx, world, auditor):
    """Double-clicking a user is the same action: for the auditor it does nothing."""
    w = MainWindow(desk_for(ctx, auditor))
    qtbot.addWidget(w)
    w.show()
    settle(qtbot, w.desk)  # the list is read off the GUI thread
    w.select_user(world.primary_id)
    settle(qtbot, w.desk)  # the detail pane reads the user off the GUI thread
    w.table.doubleClicked.emit(w.table.currentIndex())
    settle(qtbot, w.desk)
    assert w.security_dialog is None


def test_audit_trail_open_to_every_role(qtbot, ctx, world, agent):
    """Every role may look at the audit trail from the Tools menu."""
    w = MainWindow(desk_for(ctx, agent))
    qtbot.addWidget(w)
    w.findChild(QAction, "openAuditTrail").trigger()
    assert w.audit_view.isVisible()
