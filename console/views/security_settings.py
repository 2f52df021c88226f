"""A user's security settings: SLS state and devices, opened only for the holder of the security rights."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPushButton, QVBoxLayout

from console.models.enums import SlsState
from console.models.permissions import Permission
from console.views.change_bus import ChangeKind, Changes
from console.views.conventions import keyboard_conventions
from console.views.desk import Desk
from console.views.device_dialogs import unlock_dialog
from console.views.opt_in_wizard import OptInWizard
from console.views.opt_out_dialog import OptOutDialog
from console.views.user_detail import UserDetailPane


class SecuritySettingsDialog(QDialog):
    def __init__(self, desk: Desk, user_id: int, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("securitySettings")
        self.desk = desk
        self.services = desk.services
        self.user_id = user_id
        self.opt_in_wizard: OptInWizard | None = None
        self.opt_out_dialog: OptOutDialog | None = None
        # The user is read off the GUI thread: the dialog opens at once, says it is reading, and offers nothing to
        # act on until the user is there.
        self.pane = UserDetailPane(self.services.directory, self, desk.runner)
        self.setWindowTitle("Security settings — reading the user…")

        make = desk.actions.make
        self.opt_in_action = make(self, "Opt back &in…", "Ctrl+I", "Enroll this user in the Secure Login System "
                                  "again: IB Key, Online Security Code Card, or a device of another username of the "
                                  "same person", self.open_opt_in, "optIn", Permission.assist_enrollment)
        self.opt_out_action = make(self, "Opt &out…", "Ctrl+Shift+O", "Opt this user out of the Secure Login "
                                   "System after the client acknowledges the risks; restrictions then apply",
                                   self.open_opt_out, "optOut", Permission.assist_enrollment)
        self.unlock_action = make(self, "&Unlock selected device…", "Ctrl+U", "Unlock the device selected above, "
                                  "locked after too many wrong codes (verify the client's identity first)",
                                  self.unlock_device, "unlockUserDevice", Permission.unlock_device)
        self.addActions([self.opt_in_action, self.opt_out_action, self.unlock_action])
        self.unlock_dialog = None

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.opt_in_button = self._button(self.opt_in_action, "optInButton")
        self.opt_out_button = self._button(self.opt_out_action, "optOutButton")
        self.unlock_button = self._button(self.unlock_action, "unlockButton")
        self.pane.devices.itemSelectionChanged.connect(self._update_actions)
        self.pane.shown.connect(self._on_shown)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pane)
        layout.addWidget(self.buttons)
        self.resize(820, 620)
        self._update_actions()
        desk.bus.changed.connect(self.on_changes)
        keyboard_conventions(self)
        self.pane.show_user(user_id)

    def _on_shown(self) -> None:
        d = self.pane.details
        if d is not None:
            self.setWindowTitle(f"Security settings — {d.full_name} ({d.username})")
        self._update_actions()

    def _button(self, action, name: str) -> QPushButton:
        button = QPushButton(action.text())
        self.buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
        self.desk.actions.button(action, name, button)
        return button

    def _update_actions(self) -> None:
        d = self.pane.details
        opt_in = d is not None and d.sls_state in (SlsState.opted_out, SlsState.pending)
        opt_out = d is not None and d.sls_state is SlsState.enrolled
        for action, show in ((self.opt_in_action, opt_in), (self.opt_out_action, opt_out)):
            action.setVisible(show)  # a forbidden action stays hidden (permitted.py)
            action.setEnabled(show)
        device = self.pane.selected_device()
        self.unlock_action.setEnabled(device is not None and device.locked)

    def unlock_device(self) -> None:
        device = self.pane.selected_device()
        if device is None or not device.locked:
            return
        label = f"{device.kind_label} {device.serial or ''}".strip()
        holders = ", ".join((self.pane.details.username, *device.shared_with))
        self.unlock_dialog = unlock_dialog(self.desk, device.id, label, holders, self, version=device.version)
        self.unlock_dialog.open()

    def on_changes(self, changes: Changes) -> None:
        """The user or one of its devices changed (here, in another window, or at another desk): show it now."""
        if self.pane.shows_changed(changes) or changes.touches(ChangeKind.users, self.user_id):
            self.refresh()

    def open_opt_in(self) -> None:
        d = self.pane.details
        if d is None:
            return  # still reading the user
        self.opt_in_wizard = OptInWizard(self.desk, self.user_id, d.username, self, version=d.version)
        self.opt_in_wizard.open()

    def open_opt_out(self) -> None:
        d = self.pane.details
        if d is None:
            return
        self.opt_out_dialog = OptOutDialog(self.desk, self.user_id, d.username, d.full_name, self,
                                           version=d.version)
        self.opt_out_dialog.open()

    def refresh(self) -> None:
        self.pane.reload()  # the actions follow when the user's new state arrives (_on_shown)
