"""The sign-in dialog the console opens on: staff username, password and authenticator code."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QRegularExpression, Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QRegularExpressionValidator, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from console.models.context import Actor
from console.models.errors import ConsoleError
from console.models.faults import explain
from console.models.staff import StaffService
from console.views.conventions import keyboard_conventions


class SignInDialog(QDialog):
    """Accepted only with a signed-in Actor in `self.actor`; a refusal is shown inline, as the service wrote it."""

    submit_requested = Signal()

    def __init__(self, staff: StaffService, database_name: str = "", hint: str = "", parent: QWidget | None = None,
                 live_hint: Callable[[], str] | None = None, notice: str = "", resume: Actor | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("signInDialog")
        self.setWindowTitle("Sign in — SLS Console")
        self.staff = staff
        self.actor: Actor | None = None
        self.resume = resume  # the desk's ended session: the same member signing in gets it back

        intro = QLabel("Sign in with your staff account. The code is the 6-digit number your authenticator "
                       "app shows for SLS Console.")
        intro.setWordWrap(True)
        if notice:
            self.setWindowTitle("Session ended: sign in again — SLS Console")
            self.notice = QLabel(notice)
            self.notice.setObjectName("signInNotice")
            self.notice.setWordWrap(True)
            self.notice.setAccessibleName("Why sign-in is needed")
            self.notice.setStyleSheet("font-weight: bold;")
        self.username = QLineEdit()
        self.username.setObjectName("signInUsername")
        self.username.setAccessibleName("Staff username")
        self.username.setMaxLength(32)
        self.password = QLineEdit()
        self.password.setObjectName("signInPassword")
        self.password.setAccessibleName("Password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.code = QLineEdit()
        self.code.setObjectName("signInCode")
        self.code.setAccessibleName("Authenticator code")
        self.code.setPlaceholderText("6 digits")
        self.code.setMaxLength(6)
        self.code.setValidator(QRegularExpressionValidator(QRegularExpression("[0-9]{0,6}"), self))
        form = QFormLayout()
        form.addRow("&Username:", self.username)
        form.addRow("&Password:", self.password)
        form.addRow("Authenticator &code:", self.code)

        self.error = QLabel()
        self.error.setObjectName("signInError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020;")
        self.error.setAccessibleName("Sign-in problem")
        self.error.hide()

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.sign_in_button = self.buttons.addButton("&Sign in", QDialogButtonBox.ButtonRole.AcceptRole)
        self.sign_in_button.setObjectName("signInButton")
        self.buttons.accepted.connect(self.try_sign_in)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        if notice:
            layout.addWidget(self.notice)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.error)
        if hint:
            self.hint = QLabel(hint)
            self.hint.setObjectName("signInHint")
            self.hint.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
            self.hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.hint.setStyleSheet("color: #555;")
            layout.addWidget(self.hint)
        if database_name:
            db = QLabel(f"Database: {database_name}")
            db.setObjectName("signInDatabase")
            db.setStyleSheet("color: #555;")
            layout.addWidget(db)
        layout.addWidget(self.buttons)
        self.sign_in_button.setDefault(True)  # after it is in the dialog: Enter in any field signs in
        if live_hint is not None and hint:
            # A hint that changes (a demo database's current codes): read again every few seconds.
            self._hint_timer = QTimer(self)
            self._hint_timer.setInterval(3000)
            self._hint_timer.timeout.connect(lambda: self.hint.setText(live_hint() or self.hint.text()))
            self._hint_timer.start()
        margins = layout.contentsMargins()
        hint_width = self.hint.sizeHint().width() if hint else 0
        self.setMinimumWidth(max(420, hint_width + margins.left() + margins.right()))
        keyboard_conventions(self, self.try_sign_in)
        if resume is not None:  # most often the same member comes back: their name is there, the password next
            self.username.setText(resume.username)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self.resume is not None:  # after the first-input focus the conventions give
            QTimer.singleShot(0, self.password.setFocus)

    def try_sign_in(self) -> None:
        # Before a desk exists there is no runner: one Argon2 check (~50 ms) runs here, behind a modal dialog.
        self.submit_requested.emit()
        try:
            self.actor = self.staff.sign_in(self.username.text(), self.password.text(), self.code.text(),
                                            resume=self.resume)
        except Exception as exc:  # a refusal, or a fault of the database (read-only, full disk): one sentence
            if not isinstance(exc, ConsoleError):
                logging.getLogger("sls_console").exception("sign-in failed")
            self.error.setText(explain(exc))
            self.error.show()
            self.adjustSize()  # room for the message
            self.password.clear()
            self.code.clear()
            (self.password if self.username.text() else self.username).setFocus()
            return
        self.accept()
