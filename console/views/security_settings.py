"""A user's security settings: SLS state and devices, opened only for the holder of the security rights."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPushButton, QVBoxLayout

from console.models.enums import SlsState
from console.models.permissions import Permission, allowed
from console.views.opt_in_wizard import OptInWizard
from console.views.opt_out_dialog import OptOutDialog
from console.views.user_detail import UserDetailPane


class SecuritySettingsDialog(QDialog):
    def __init__(self, services, user_id: int, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("securitySettings")
        self.services = services
        self.user_id = user_id
        self.opt_in_wizard: OptInWizard | None = None
        self.opt_out_dialog: OptOutDialog | None = None
        self.pane = UserDetailPane(services.directory, self)
        self.pane.show_user(user_id)
        d = self.pane.details
        self.setWindowTitle(f"Security settings — {d.full_name} ({d.username})")

        self.opt_in_action = QAction("Opt back &in…", self)
        self.opt_in_action.setShortcut(QKeySequence("Ctrl+I"))
        self.opt_in_action.setStatusTip("Enroll this user in the Secure Login System again: IB Key, Online Security "
                                        "Code Card, or a device of another username of the same person")
        self.opt_in_action.triggered.connect(self.open_opt_in)
        self.opt_out_action = QAction("Opt &out…", self)
        self.opt_out_action.setShortcut(QKeySequence("Ctrl+Shift+O"))
        self.opt_out_action.setStatusTip("Opt this user out of the Secure Login System after the client "
                                         "acknowledges the risks; restrictions then apply")
        self.opt_out_action.triggered.connect(self.open_opt_out)
        self.addActions([self.opt_in_action, self.opt_out_action])

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.opt_in_button = self._button(self.opt_in_action, "optInButton")
        self.opt_out_button = self._button(self.opt_out_action, "optOutButton")
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pane)
        layout.addWidget(self.buttons)
        self.resize(820, 620)
        self._update_actions()

    def _button(self, action: QAction, name: str) -> QPushButton:
        button = self.buttons.addButton(action.text(), QDialogButtonBox.ButtonRole.ActionRole)
        button.setObjectName(name)
        button.setToolTip(action.statusTip())
        button.clicked.connect(action.trigger)
        return button

    def _update_actions(self) -> None:
        d = self.pane.details
        may = allowed(self.services.actor, Permission.assist_enrollment)
        opt_in = d is not None and d.sls_state in (SlsState.opted_out, SlsState.pending)
        opt_out = d is not None and d.sls_state is SlsState.enrolled
        for action, button, show in ((self.opt_in_action, self.opt_in_button, opt_in),
                                     (self.opt_out_action, self.opt_out_button, opt_out)):
            action.setEnabled(show and may)
            button.setVisible(show)
            button.setEnabled(show and may)
            if show and not may:
                button.setToolTip(f"Your role ({self.services.actor.role.label}) may not run opt-in or opt-out.")

    def open_opt_in(self) -> None:
        d = self.pane.details
        self.opt_in_wizard = OptInWizard(self.services.enrollment, self.services.actor, self.user_id, d.username,
                                         self, version=d.version)
        self.opt_in_wizard.finished.connect(lambda _: self.refresh())
        self.opt_in_wizard.open()

    def open_opt_out(self) -> None:
        d = self.pane.details
        self.opt_out_dialog = OptOutDialog(self.services.enrollment, self.services.actor, self.user_id, d.username,
                                           d.full_name, self, version=d.version)
        self.opt_out_dialog.finished.connect(lambda _: self.refresh())
        self.opt_out_dialog.open()

    def refresh(self) -> None:
        self.pane.show_user(self.user_id)
        self._update_actions()
