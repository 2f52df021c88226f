"""Dialogs of the device lifecycle: receiving stock, shipping, activating, sharing, reporting a loss,
temporary access, replacing, receiving a return and waiving a charge.

Each dialog calls one service on OK; a refusal is shown as written and the dialog stays open, so the agent can
correct the input. Dialogs are opened with open() (window-modal, not blocking) so tests can drive them.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
)

from console.models.charges import money
from console.models.devices import REPORT_LABELS
from console.models.enums import DeviceKind
from console.models.errors import ConsoleError, VerificationFailed
from console.views.formatting import when
from console.views.messages import message_box, show_error
from console.views.passcode_letter import LetterActions

CHALLENGE_KINDS = (DeviceKind.dsc_plus, DeviceKind.code_card, DeviceKind.online_code_card)


class ServiceDialog(QDialog):
    """OK runs `submit()`; a domain error is shown (kept in last_message) and the dialog stays open."""

    ok_text = "OK"

    def __init__(self, services, title: str, name: str, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setWindowTitle(title)
        self.services = services
        self.actor = services.actor
        self.last_message = None
        self.result_value = None
        self.form = QFormLayout()
        self.intro = QLabel()
        self.intro.setObjectName(f"{name}Intro")
        self.intro.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(self.ok_text)
        self.ok_button.setObjectName(f"{name}Ok")
        self.buttons.accepted.connect(self.try_submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(self.form)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(460)

    def _field(self, label: str, widget, name: str, accessible: str):
        widget.setObjectName(name)
        widget.setAccessibleName(accessible)
        self.form.addRow(label, widget)
        return widget

    def submit(self):
        raise NotImplementedError

    def try_submit(self) -> bool:
        try:
            self.result_value = self.submit()
        except ConsoleError as exc:
            self.last_message = show_error(self, exc)
            self.on_refused(exc)
            return False
        self.accept()
        return True

    def on_refused(self, exc: ConsoleError) -> None:
        """Hook: e.g. draw a new challenge after a wrong answer."""


class ReceiveStockDialog(ServiceDialog):
    ok_text = "Receive into stock"

    def __init__(self, services, parent=None) -> None:
        super().__init__(services, "Receive DSC+ cards into stock", "receiveStock", parent)
        self.intro.setText("Scan or type the serial numbers of the cards received: one per line, or separated by "
                           "commas, or a range such as DSC000000101-DSC000000150. The whole batch is received, "
                           "or none of it if a serial is wrong.")
        self.serials = self._field("&Serials:", QPlainTextEdit(), "receiveSerials", "Serial numbers received")
        self.serials.setPlaceholderText("DSC000012345")

    def submit(self):
        return self.services.devices.receive_stock(self.actor, self.serials.toPlainText())


class ShipDialog(ServiceDialog):
    ok_text = "Ship"

    def __init__(self, services, device_id: int, serial: str, parent=None) -> None:
        super().__init__(services, f"Ship DSC+ {serial}", "shipDevice", parent)
        self.device_id = device_id
        self.intro.setText(f"Ship DSC+ {serial} to a user. The client must activate it within the activation "
                           f"window; a reserve equal to the replacement fee is held on the account until the card "
                           f"comes back.")
        self.username = self._field("&Username:", QLineEdit(), "shipUsername", "Username receiving the card")
        self.username.setPlaceholderText("e.g. jsmit123")

    def submit(self):
        user_id = _user_id(self.services, self.username.text())
        return self.services.devices.ship(self.actor, self.device_id, user_id)


class ChallengeDialog(ServiceDialog):
    """A dialog that shows a fresh challenge for a device and takes the client's answer."""

    def __init__(self, services, device_id: int, kind: DeviceKind, title: str, name: str, parent=None) -> None:
        super().__init__(services, title, name, parent)
        self.device_id = device_id
        self.kind = kind
        self.challenge = None
        self.prompt = QLabel()
        self.prompt.setObjectName(f"{name}Prompt")
        self.prompt.setWordWrap(True)
        self.prompt.setStyleSheet("font-weight: 600;")
        self.form.addRow(self.prompt)
        self.answer = self._field("&Answer:", QLineEdit(), f"{name}Answer", "The code the client reads back")
        self.new_challenge_button = QPushButton("New &challenge")
        self.new_challenge_button.setObjectName(f"{name}NewChallenge")
        self.new_challenge_button.clicked.connect(self.draw_challenge)
        self.buttons.addButton(self.new_challenge_button, QDialogButtonBox.ButtonRole.ActionRole)

    def draw_challenge(self) -> None:
        if self.kind not in CHALLENGE_KINDS:
            self.challenge = None
            self.new_challenge_button.setVisible(False)
            self.prompt.setText(f"Ask the client for the current 6-digit code in the {self.kind.label} app.")
            return
        try:
            self.challenge = self.services.verification.issue_challenge(self.actor, self.device_id)
        except ConsoleError as exc:
            self.last_message = show_error(self, exc)
            return
        self.prompt.setText(self.challenge.prompt)
        self.answer.clear()

    @property
    def challenge_id(self) -> int | None:
        return self.challenge.id if self.challenge else None

    def on_refused(self, exc: ConsoleError) -> None:
        if isinstance(exc, VerificationFailed) and self.kind in CHALLENGE_KINDS:
            self.draw_challenge()  # a challenge is answered once, right or wrong


class ActivateDialog(ChallengeDialog):
    ok_text = "Activate"

    def __init__(self, services, device_id: int, serial: str, parent=None) -> None:
        super().__init__(services, device_id, DeviceKind.dsc_plus, f"Activate DSC+ {serial}", "activateDevice",
                         parent)
        self.intro.setText(f"The client has received DSC+ {serial}. Activating it keeps their other devices "
                           f"active.")
        self.draw_challenge()

    def submit(self):
        return self.services.devices.activate_shipped(self.actor, self.device_id, self.challenge_id,
                                                      self.answer.text())


class ShareDialog(ChallengeDialog):
    ok_text = "Share"

    def __init__(self, services, device_id: int, kind: DeviceKind, label: str, parent=None) -> None:
        super().__init__(services, device_id, kind, f"Share {label}", "shareDevice", parent)
        self.intro.setText(f"Share {label} with a further username of the same person. The client proves it by "
                           f"reading a code from this device while calling about the other username.")
        self.username = QLineEdit()
        self.username.setObjectName("shareUsername")
        self.username.setAccessibleName("Username to share the device with")
        self.username.setPlaceholderText("e.g. jsmit777")
        self.form.insertRow(0, "&Username:", self.username)
        self.draw_challenge()

    def submit(self):
        user_id = _user_id(self.services, self.username.text())
        return self.services.devices.share(self.actor, self.device_id, user_id, self.answer.text(),
                                           self.challenge_id)


class ReportDialog(ServiceDialog):
    ok_text = "Report"

    def __init__(self, services, device_id: int, label: str, holders: list[tuple[int, str]],
                 user_id: int | None = None, parent=None) -> None:
        super().__init__(services, f"Report {label}", "reportDevice", parent)
        self.device_id = device_id
        self.passcode_dialog: PasscodeDialog | None = None
        self.intro.setText(f"Report what happened to {label}. It stops working at once. If it was the client's "
                           f"only device, issue a temporary passcode with the report so they keep access.")
        self.reason = self._field("&What happened:", QComboBox(), "reportReason", "What happened to the device")
        for key, text in REPORT_LABELS.items():
            self.reason.addItem(text, key)
        self.user = self._field("&Caller:", QComboBox(), "reportUser", "Username of the caller")
        for uid, username in holders:
            self.user.addItem(username, uid)
        if user_id is not None and self.user.findData(user_id) >= 0:
            self.user.setCurrentIndex(self.user.findData(user_id))
        self.issue_passcode = self._field("", QCheckBox("Issue a &temporary passcode to the caller"),
                                          "reportIssuePasscode", "Issue a temporary passcode with the report")
        self.identity = self._field("", QCheckBox("Caller's &identity verified with the security question"),
                                    "reportIdentityVerified", "Caller's identity verified")
        self.note = self._field("&Note:", QLineEdit(), "reportNote", "Note for the audit trail")

    def submit(self):
        return self.services.devices.report(
            self.actor, self.device_id, self.reason.currentData(), user_id=self.user.currentData(),
            issue_temporary_passcode=self.issue_passcode.isChecked(), identity_verified=self.identity.isChecked(),
            note=self.note.text())

    def accept(self) -> None:
        super().accept()
        issued = self.result_value.temporary_passcode if self.result_value else None
        if issued is not None:
            self.passcode_dialog = PasscodeDialog(self.services, issued, self.parentWidget())
            self.passcode_dialog.open()


class TemporaryPasscodeDialog(ServiceDialog):
    ok_text = "Issue passcode"

    def __init__(self, services, user_id: int, username: str, parent=None) -> None:
        super().__init__(services, f"Temporary passcode for {username}", "temporaryPasscode", parent)
        self.user_id = user_id
        self.version = services.directory.details(user_id, audit_limit=0).version  # as the agent sees it now
        self.passcode_dialog: PasscodeDialog | None = None
        refusal = services.temporary_access.can_issue(user_id)
        self.intro.setText("Issued by phone only, after the caller's identity has been verified. Full access for a "
                           "short period, then portal only (to print an Online Security Code Card), then it "
                           "expires. Two are never issued in a row for one account."
                           + (f"\n\nThis will be refused: {refusal}" if refusal else ""))
        self.identity = self._field("", QCheckBox("Caller's &identity verified with the security question"),
                                    "temporaryIdentityVerified", "Caller's identity verified")
        self.reason = self._field("&Reason:", QLineEdit(), "temporaryReason", "Why the passcode is needed")
        self.reason.setPlaceholderText("e.g. phone left at home")

    def submit(self):
        return self.services.temporary_access.issue_temporary_passcode(
            self.actor, self.user_id, identity_verified=self.identity.isChecked(), reason=self.reason.text(),
            expected_version=self.version)

    def accept(self) -> None:
        super().accept()
        self.passcode_dialog = PasscodeDialog(self.services, self.result_value, self.parentWidget())
        self.passcode_dialog.open()


class PasscodeDialog(QDialog):
    """Shows a new temporary passcode once, with its windows, and offers the Online Security Code Card next."""

    def __init__(self, services, issued, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("passcodeShown")
        self.setWindowTitle(f"Temporary passcode for {issued.username}")
        self.services = services
        self.issued = issued
        self.card_dialog: OnlineCardDialog | None = None
        code = QLabel(issued.grouped)
        code.setObjectName("passcodeValue")
        code.setAccessibleName("Temporary passcode")
        code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = QFont("monospace")
        font.setPointSize(22)
        font.setBold(True)
        code.setFont(font)
        code.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.code_label = code
        info = QLabel(f"Read it to the client now: it is shown only once and is not stored.\n\n"
                      f"Full access until {when(issued.full_access_until)}; portal only (to print an Online "
                      f"Security Code Card) until {when(issued.expires_at)}; then it expires.")
        info.setWordWrap(True)
        self.offer_card = QPushButton("Issue Online Security Code Card &next…")
        self.offer_card.setObjectName("offerOnlineCard")
        self.offer_card.setToolTip("The next step after a loss: a card the client can print, valid for weeks")
        self.offer_card.clicked.connect(self.open_online_card)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        close.addButton(self.offer_card, QDialogButtonBox.ButtonRole.ActionRole)
        self.letter = LetterActions(services, issued, self)
        for button in self.letter.buttons():
            close.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
        layout = QVBoxLayout(self)
        layout.addWidget(code)
        layout.addWidget(info)
        layout.addWidget(close)
        self.setMinimumWidth(460)

    def open_online_card(self) -> None:
        self.card_dialog = OnlineCardDialog(self.services, self.issued.user_id, self.issued.username,
                                            self.parentWidget())
        self.card_dialog.open()
        self.accept()


class OnlineCardDialog(ServiceDialog):
    """Issue an Online Security Code Card to an enrolled user after a loss, show its values, activate it."""

    ok_text = "Issue card"

    def __init__(self, services, user_id: int, username: str, parent=None) -> None:
        super().__init__(services, f"Online Security Code Card for {username}", "onlineCard", parent)
        self.user_id = user_id
        self.card = None
        self.intro.setText("Issue an Online Security Code Card: the client prints or saves it, then reads back the "
                           "values at two index numbers to activate it.")
        self.values = self._field("Card values:", QPlainTextEdit(), "onlineCardValues", "Card values")
        self.values.setReadOnly(True)
        self.values.setFont(QFont("monospace"))
        self.values.setPlaceholderText("Shown here once the card is issued.")
        self.prompt = QLabel()
        self.prompt.setObjectName("onlineCardPrompt")
        self.prompt.setWordWrap(True)
        self.form.addRow(self.prompt)
        self.answer = self._field("&Answer:", QLineEdit(), "onlineCardAnswer", "The two card values read back")
        self.answer.setEnabled(False)
        self.save_button = QPushButton("Save as &PDF…")
        self.save_button.setObjectName("onlineCardSavePdf")
        self.save_button.setToolTip("Save the card as a PDF to send or print for the client")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(lambda: self.save_pdf())
        self.buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.challenge = None
        self.setMinimumWidth(620)

    def save_pdf(self, path: str | None = None) -> str | None:
        """Save the issued card as a PDF (asks where unless `path` is given); the printable layout of the opt-in."""
        from console.models.enrollment import CardStart
        from console.views.printing import save_card_pdf

        if self.card is None:
            return None
        if path is None:
            from PySide6.QtWidgets import QFileDialog

            path, _ = QFileDialog.getSaveFileName(self, "Save the card as PDF", f"{self.card.serial}.pdf",
                                                  "PDF (*.pdf)")
            if not path:
                return None
        c = self.card
        save_card_pdf(CardStart(c.device_id, c.username, c.full_name, c.account_number, c.serial, c.values,
                                c.issued_at, c.expires_at), path)
        return path

    def submit(self):
        if self.card is None:
            self.card = self.services.temporary_access.issue_online_card(self.actor, self.user_id)
            self.values.setPlainText(_card_text(self.card.values))
            self._draw()
            self.answer.setEnabled(True)
            self.save_button.setEnabled(True)
            self.ok_button.setText("Activate card")
            raise _StayOpen()
        self.services.temporary_access.activate_online_card(self.actor, self.card.device_id, self.challenge.id,
                                                            self.answer.text())
        return self.card

    def _draw(self) -> None:
        self.challenge = self.services.verification.issue_challenge(self.actor, self.card.device_id)
        self.prompt.setText(self.challenge.prompt)
        self.answer.clear()

    def try_submit(self) -> bool:
        try:
            return super().try_submit()
        except _StayOpen:
            return False

    def on_refused(self, exc: ConsoleError) -> None:
        if isinstance(exc, VerificationFailed) and self.card is not None:
            self._draw()


class _StayOpen(Exception):
    """Not an error: the first OK issued the card; the second activates it."""


class ReplacementDialog(ServiceDialog):
    ok_text = "Order replacement"

    def __init__(self, services, device_id: int, serial: str, holders: list[tuple[int, str]], fee_note: str,
                 parent=None) -> None:
        super().__init__(services, f"Replace DSC+ {serial}", "orderReplacement", parent)
        self.device_id = device_id
        self.intro.setText(f"Ship a DSC+ from stock to replace {serial}. {fee_note}")
        self.user = self._field("&Ship to:", QComboBox(), "replacementUser", "Username receiving the replacement")
        for uid, username in holders:
            self.user.addItem(username, uid)
        self.serial = self._field("Card from &stock:", QLineEdit(), "replacementSerial",
                                  "Serial of the card to ship (blank: the oldest in stock)")
        self.serial.setPlaceholderText("blank: the oldest card in stock")

    def submit(self):
        return self.services.devices.order_replacement(self.actor, self.device_id, user_id=self.user.currentData(),
                                                       serial=self.serial.text().strip() or None)


class ReceiveReturnDialog(ServiceDialog):
    ok_text = "Receive return"

    def __init__(self, services, serial: str = "", parent=None) -> None:
        super().__init__(services, "Receive a returned DSC+", "receiveReturn", parent)
        self.intro.setText("Scan or type the serial of the card that came back. Receiving it closes the return and "
                           "releases the reserve held on the account.")
        self.serial = self._field("&Serial:", QLineEdit(serial), "returnSerial", "Serial of the returned card")

    def submit(self):
        device_id = self.services.devices.find_by_serial(self.serial.text())
        return self.services.returns.receive_return(self.actor, device_id)


class ConfirmDialog(ServiceDialog):
    """A yes/no question whose yes runs `action()`."""

    def __init__(self, services, title: str, question: str, action, name: str, ok_text: str, parent=None) -> None:
        super().__init__(services, title, name, parent)
        self.ok_button.setText(ok_text)
        self.intro.setText(question)
        self._action = action

    def submit(self):
        return self._action()


class WaiveDialog(ServiceDialog):
    ok_text = "Waive charge"

    def __init__(self, services, charge, parent=None) -> None:
        super().__init__(services, "Waive a charge", "waiveCharge", parent)
        self.charge_id = charge.id
        self.intro.setText(f"Waive {money(charge.amount_cents, charge.currency)} on {charge.account_number}: "
                           f"{charge.description}. The reason is kept with the charge and in the audit trail.")
        self.reason = self._field("&Reason:", QPlainTextEdit(), "waiveReason", "Reason for waiving the charge")
        self.reason.setPlaceholderText("e.g. card lost by our courier")

    def submit(self):
        return self.services.charges.waive(self.actor, self.charge_id, self.reason.toPlainText())


def _user_id(services, username: str) -> int:
    from console.models.errors import NotFound

    name = (username or "").strip().lower()
    user_id = services.directory.find_by_username(name) if name else None
    if user_id is None:
        raise NotFound(f"There is no username {name or '(blank)'}. Check the spelling with the client.")
    return user_id


def _card_text(values: dict[int, str]) -> str:
    """Card values in rows of five, as printed: "  1 ABC    2 DEF ..."."""
    cells = [f"{p:>3} {v}" for p, v in sorted(values.items())]
    return "\n".join("    ".join(cells[i:i + 5]) for i in range(0, len(cells), 5))


def info(parent, title: str, text: str, name: str):
    from PySide6.QtWidgets import QMessageBox

    return message_box(parent, title, text, QMessageBox.Icon.Information, name)
