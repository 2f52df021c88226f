"""Staff administration for administrators: list, add (with the authenticator QR code), unlock, reset, deactivate."""

from __future__ import annotations

import io
from collections.abc import Callable

import segno
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
)

from console.models.enums import StaffRole
from console.models.errors import ConcurrentChange, InvalidInput
from console.models.permissions import Permission
from console.models.staff import StaffEnrollment, StaffRow
from console.views.change_bus import ChangeKind, Changes, Origin
from console.views.conventions import keyboard_conventions
from console.views.desk import Desk
from console.views.messages import report_done, show_error
from console.views.tables import item_table

COLUMNS = ("Username", "Full name", "Role", "Active", "Sign-in")


class StaffDialog(QDialog):
    submit_requested = Signal()  # the add form was submitted

    def __init__(self, desk: Desk, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("staffDialog")
        self.setWindowTitle("Staff — SLS Console")
        self.desk = desk
        self.staff, self.actor = desk.services.staff, desk.actor
        self.last_message = None
        self.confirm_box: QMessageBox | None = None
        self.enrollment_username: str | None = None
        self.shown: dict[str, StaffRow] = {}  # each member as the table shows it, sent back with a decision
        self._asked = 0  # the newest read of the staff asked for

        self.table = item_table(COLUMNS, "staffTable", "Staff members")
        self.table.itemSelectionChanged.connect(self._update_actions)
        self.table.setMinimumHeight(self.table.fontMetrics().height() * 12)

        self.unlock_action = self._action("&Unlock sign-in", "Ctrl+U", "Lift the selected staff member's sign-in lock",
                                          self.unlock_selected, "unlockStaff")
        self.reset_action = self._action("&Reset second factor", "Ctrl+R",
                                         "Give the selected staff member a new authenticator secret (old codes stop "
                                         "working)", self.reset_selected, "resetStaffSecondFactor")
        self.deactivate_action = self._action("&Deactivate", "Ctrl+D", "Stop the selected staff member signing in",
                                              self.deactivate_selected, "deactivateStaff")
        row_buttons = QHBoxLayout()
        for action in (self.unlock_action, self.reset_action, self.deactivate_action):
            button = QToolButton()
            button.setDefaultAction(action)
            row_buttons.addWidget(button)
        row_buttons.addStretch(1)

        self._build_add_form()
        self.enrollment = QGroupBox("Authenticator for the new secret — shown once")
        self.enrollment.setObjectName("staffEnrollment")
        self.enrollment_qr = QLabel()
        self.enrollment_qr.setObjectName("staffEnrollmentQr")
        self.enrollment_text = QLabel()
        self.enrollment_text.setObjectName("staffEnrollmentText")
        self.enrollment_text.setWordWrap(True)
        self.enrollment_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box = QHBoxLayout(self.enrollment)
        box.addWidget(self.enrollment_qr)
        box.addWidget(self.enrollment_text, 1)
        self.enrollment.hide()

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(row_buttons)
        layout.addWidget(self.add_box)
        layout.addWidget(self.enrollment)
        layout.addWidget(buttons)
        self.refresh()
        desk.bus.changed.connect(self.on_changes)  # another window or desk changed staff: show it now
        self.add_button.setDefault(True)  # Enter in the form adds the staff member
        keyboard_conventions(self, self.add_staff)
        self.resize(760, 760)

    def _action(self, text: str, shortcut: str, tip: str, slot, name: str) -> QAction:
        action = self.desk.actions.make(self, text, shortcut, tip, slot, name, Permission.manage_staff)
        self.addAction(action)
        return action

    def _build_add_form(self) -> None:
        self.add_box = QGroupBox("Add a staff member")
        self.new_username = QLineEdit()
        self.new_username.setObjectName("newStaffUsername")
        self.new_username.setAccessibleName("New staff username")
        self.new_name = QLineEdit()
        self.new_name.setObjectName("newStaffName")
        self.new_name.setAccessibleName("New staff full name")
        self.new_role = QComboBox()
        self.new_role.setObjectName("newStaffRole")
        self.new_role.setAccessibleName("New staff role")
        for role in StaffRole:
            self.new_role.addItem(role.label, role)
        self.new_password = QLineEdit()
        self.new_password.setObjectName("newStaffPassword")
        self.new_password.setAccessibleName("New staff password")
        self.new_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.new_password_again = QLineEdit()
        self.new_password_again.setObjectName("newStaffPasswordAgain")
        self.new_password_again.setAccessibleName("New staff password, again")
        self.new_password_again.setEchoMode(QLineEdit.EchoMode.Password)
        self.add_button = QPushButton("&Add staff member")
        self.add_button.setObjectName("addStaffButton")
        self.add_action = self._action("&Add staff member", "Ctrl+N", "Add the staff member described in the form",
                                       self.add_staff, "addStaff")
        self.add_button.clicked.connect(self.add_action.trigger)
        form = QFormLayout(self.add_box)
        form.addRow("&Username:", self.new_username)
        form.addRow("Full &name:", self.new_name)
        form.addRow("R&ole:", self.new_role)
        form.addRow("&Password:", self.new_password)
        form.addRow("Password a&gain:", self.new_password_again)
        form.addRow("", self.add_button)

    # --- behaviour -------------------------------------------------------------------------------
    def on_changes(self, changes: Changes) -> None:
        if changes.touches(ChangeKind.staff) and changes.origin is Origin.other_desk:
            self.refresh()  # this window's own writes refresh when they report

    def refresh(self, then: Callable[[], object] | None = None) -> None:
        """Read the staff off the GUI thread; the table changes in place when the answer comes (selection and scroll
        kept), and `then` runs once it shows. An answer older than the newest asked for is dropped."""
        self._asked += 1
        asked, staff, actor = self._asked, self.staff, self.actor

        def arrived(members: list[StaffRow]) -> None:
            if asked == self._asked:
                self._show_members(members)
                if then is not None:
                    then()

        def refused(exc: Exception) -> None:
            if asked == self._asked:
                self.last_message = show_error(self, exc)

        self.desk.runner.query(self, lambda: staff.members(actor), success=arrived, failure=refused)

    def _show_members(self, members: list[StaffRow]) -> None:
        selected = self.selected_username()
        scroll = self.table.verticalScrollBar().value()
        self.shown = {m.username: m for m in members}
        self.table.setRowCount(len(members))
        for r, m in enumerate(members):
            lock = f"locked until {m.locked_until:%Y-%m-%d %H:%M} UTC" if m.locked else (
                f"{m.failed_signins} failed in a row" if m.failed_signins else "ok")
            for c, text in enumerate((m.username, m.full_name, m.role.label, "yes" if m.active else "no", lock)):
                self.table.setItem(r, c, QTableWidgetItem(text))
            if m.username == selected:
                self.table.selectRow(r)
        self.table.verticalScrollBar().setValue(scroll)
        self._update_actions()

    def selected_username(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.table.item(rows[0].row(), 0).text() if rows else None

    def select(self, username: str) -> bool:
        for r in range(self.table.rowCount()):
            if self.table.item(r, 0).text() == username:
                self.table.selectRow(r)
                return True
        return False

    def _update_actions(self) -> None:
        has = self.selected_username() is not None
        for action in (self.unlock_action, self.reset_action, self.deactivate_action):
            action.setEnabled(has)

    def _run(self, work, then=None) -> None:
        """Run a staff change through the runner; a refusal is shown once, in one box."""
        def done(result) -> None:
            self.refresh(None if then is None else lambda: then(result))  # e.g. select the member once listed

        def refused(exc: Exception) -> None:
            if isinstance(exc, ConcurrentChange):
                self.refresh()  # decide again on what is true now
            self.last_message = show_error(self, exc)

        self.desk.runner.write(self, work, changes=Changes.of(kinds=[ChangeKind.staff]), success=done,
                               failure=refused)

    def add_staff(self) -> None:
        self.submit_requested.emit()
        username, name, role = self.new_username.text(), self.new_name.text(), self.new_role.currentData()
        password, again = self.new_password.text(), self.new_password_again.text()

        def work():
            if password != again:
                raise InvalidInput("The two passwords differ; type the same password twice.")
            return self.staff.add(self.actor, username, name, role, password)

        def added(enrollment: StaffEnrollment) -> None:
            self.show_enrollment(enrollment)
            for field in (self.new_username, self.new_name, self.new_password, self.new_password_again):
                field.clear()
            self.select(enrollment.username)
            report_done(self, f"{enrollment.username} added as {enrollment.role.label}.")

        self._run(work, added)

    def unlock_selected(self) -> None:
        name = self.selected_username()
        if name:
            shown = self.shown.get(name)
            self._run(lambda: self.staff.unlock(self.actor, name, shown=shown))

    def reset_selected(self) -> None:
        name = self.selected_username()
        if name:
            shown = self.shown.get(name)
            self._run(lambda: self.staff.reset_second_factor(self.actor, name, shown=shown), self.show_enrollment)

    def deactivate_selected(self) -> None:
        name = self.selected_username()
        if not name:
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Deactivate staff member",
                          f"Stop {name} signing in to SLS Console? Their open session ends its access too.",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.setObjectName("confirmBox")
        box.button(QMessageBox.StandardButton.Yes).setText(f"Deactivate {name}")
        box.setDefaultButton(QMessageBox.StandardButton.No)
        shown = self.shown.get(name)
        box.accepted.connect(lambda: self._run(lambda: self.staff.deactivate(self.actor, name, shown=shown),
                                               lambda _: report_done(self, f"{name} can no longer sign in.")))
        self.confirm_box = box
        box.open()

    def show_enrollment(self, e: StaffEnrollment) -> None:
        """The otpauth URI as a QR code and as text, for the staff member's authenticator app."""
        png = io.BytesIO()
        segno.make(e.otpauth_uri, error="m").save(png, kind="png", scale=4, border=2)
        pixmap = QPixmap()
        pixmap.loadFromData(png.getvalue(), "PNG")
        self.enrollment_qr.setPixmap(pixmap)
        self.enrollment_text.setText(
            f"{e.full_name} ({e.username}), {e.role.label}: scan this code with the authenticator app, or type the "
            f"secret {e.totp_secret}. It is not shown again; reset the second factor if it is lost.")
        self.enrollment_username = e.username
        self.enrollment.show()
