"""A user's security settings: SLS state and devices, opened only for the holder of the security rights."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QVBoxLayout

from console.views.user_detail import UserDetailPane


class SecuritySettingsDialog(QDialog):
    def __init__(self, services, user_id: int, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("securitySettings")
        self.services = services
        self.user_id = user_id
        self.pane = UserDetailPane(services.directory, self)
        self.pane.show_user(user_id)
        d = self.pane.details
        self.setWindowTitle(f"Security settings — {d.full_name} ({d.username})")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pane)
        layout.addWidget(self.buttons)
        self.resize(820, 620)

    def refresh(self) -> None:
        self.pane.show_user(self.user_id)
