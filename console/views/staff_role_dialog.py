"""Choosing a staff member's new role: the member and their role now, the roles to choose from, OK and Cancel.

The staff window asks for confirmation (naming the member, the old and the new role) and runs the change.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QVBoxLayout, QWidget

from console.models.enums import StaffRole
from console.models.staff import StaffRow
from console.views.conventions import keyboard_conventions
from console.views.device_dialogs import REFUSAL_STYLE


class StaffRoleDialog(QDialog):
    """The role list starts at the member's role now; OK with that role still chosen says to choose another."""

    submit_requested = Signal()  # OK, Enter or Ctrl+Enter

    def __init__(self, member: StaffRow, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("staffRoleDialog")
        self.setWindowTitle(f"Change the role of {member.username}")
        self.member = member
        intro = QLabel(f"{member.full_name} ({member.username}) is {member.role.label} now. Their open desks are "
                       f"asked to sign in again; the menus then follow the new role.")
        intro.setObjectName("staffRoleIntro")
        intro.setWordWrap(True)
        self.role = QComboBox()
        self.role.setObjectName("staffRoleChoice")
        self.role.setAccessibleName(f"New role of {member.username}")
        for role in StaffRole:
            self.role.addItem(role.label, role)
        self.role.setCurrentIndex(self.role.findData(member.role))
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Change role…")
        self.ok_button.setObjectName("staffRoleOk")
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        self.note = QLabel()
        self.note.setObjectName("staffRoleNote")
        self.note.setWordWrap(True)
        self.note.setStyleSheet(REFUSAL_STYLE)
        self.note.hide()
        form = QFormLayout()
        form.addRow("New &role:", self.role)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(self.buttons)
        self.role.currentIndexChanged.connect(self.note.hide)
        keyboard_conventions(self, self._submit)
        self.setMinimumWidth(420)

    def chosen(self) -> StaffRole:
        role = self.role.currentData()
        assert isinstance(role, StaffRole)
        return role

    def _submit(self) -> None:
        self.submit_requested.emit()
        if self.chosen() is self.member.role:
            self.note.setText(f"{self.member.username} is {self.member.role.label} already: choose another role "
                              f"with the arrow keys, or Cancel.")
            self.note.show()
            return
        self.accept()
