"""Dialogs of the device lifecycle: receiving stock, shipping, activating, sharing, reporting a loss,
temporary access, replacing, receiving a return and waiving a charge.

Each dialog's OK runs one service call through the desk's operation runner (off the GUI thread). An action
that ships, charges, waives, revokes or ends access first asks, naming exactly what it acts on; afterwards
the window that opened the dialog says what was done. A refusal is shown once, inline in red, and the
dialog stays open so the agent can correct the input. Dialogs are opened with open() (window-modal, not
blocking) so tests can drive them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.models.devices import REPORT_LABELS, DeviceRow
from console.models.enums import DeviceKind, DeviceState, ReturnReason
from console.models.errors import ConsoleError, RuleViolation, VerificationFailed
from console.models.faults import explain
from console.views.change_bus import ChangeKind, Changes
from console.views.conventions import first_input, keyboard_conventions
from console.views.desk import Desk
from console.views.documents import in_documents
from console.views.formatting import money, when
from console.views.messages import message_box, report_done
from console.views.passcode_letter import LetterActions

CHALLENGE_KINDS = (DeviceKind.dsc_plus, DeviceKind.code_card, DeviceKind.online_code_card)
REFUSAL_STYLE = "color: #b3261e; font-weight: 600;"


@dataclass
class Submission:
    """What OK does: `work` runs off the GUI thread; `changes` are announced; `done(result)` says what was done.

    `question`, when given, runs first (off the GUI thread too) and returns the confirmation to ask, naming
    exactly what is acted on; the work runs only after the agent says yes.
    """

    work: Callable[[], Any]
    changes: Changes | Callable[[Any], Changes]
    done: Callable[[Any], str] | None = None
    question: Callable[[], str] | None = None
    confirm_text: str = "Yes"


class ServiceDialog(QDialog):
    """OK runs `submission()`; a refusal is shown inline (kept in `refusal`) and the dialog stays open."""

    ok_text = "OK"
    submit_requested = Signal()  # OK, Enter or Ctrl+Enter: the agent asked to submit the form

    def __init__(self, desk: Desk, title: str, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setWindowTitle(title)
        self.desk = desk
        self.services = desk.services
        self.actor = desk.actor
        self.result_value = None
        self.report = ""  # what was done, as reported
        self.confirm_box: QMessageBox | None = None
        self.form = QFormLayout()
        self.intro = QLabel()
        self.intro.setObjectName(f"{name}Intro")
        self.intro.setWordWrap(True)
        self.refusal = QLabel()
        self.refusal.setObjectName(f"{name}Refusal")
        self.refusal.setWordWrap(True)
        self.refusal.setStyleSheet(REFUSAL_STYLE)
        self.refusal.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.refusal.setVisible(False)
        self.reading = QLabel("Reading…")
        self.reading.setObjectName(f"{name}Reading")
        self.reading.setVisible(False)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(self.ok_text)
        self.ok_button.setObjectName(f"{name}Ok")
        self.buttons.accepted.connect(self.try_submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.reading)
        layout.addLayout(self.form)
        layout.addWidget(self.refusal)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(460)
        keyboard_conventions(self, self.try_submit)

    @property
    def last_message(self) -> QLabel | None:
        """The refusal shown, if any (the one place a refusal appears)."""
        return self.refusal if self.refusal.isVisible() or self.refusal.text() else None

    def _field(self, label: str, widget, name: str, accessible: str):
        widget.setObjectName(name)
        widget.setAccessibleName(accessible)
        self.form.addRow(label, widget)
        return widget

    def submission(self) -> Submission:
        raise NotImplementedError

    def read_first(self, work: Callable[[], Any], arrived: Callable[[Any], None]) -> None:
        """What the form needs before OK (holders, a fee, the version the agent acts on) is read off the GUI thread:
        the dialog opens at once saying "Reading…", its fields and OK disabled; when the answer lands they are
        enabled and the keyboard goes to the first input. A refusal is shown inline and OK stays disabled."""
        fields = [item.widget() for i in range(self.form.count())
                  if (item := self.form.itemAt(i)) is not None and item.widget() is not None
                  and not isinstance(item.widget(), QLabel) and item.widget().isEnabled()]
        title = self.windowTitle()
        self.setWindowTitle(f"{title} — reading…")  # the title says when the form is there, as for the agent
        self.reading.setVisible(True)
        self.ok_button.setEnabled(False)
        for field in fields:
            field.setEnabled(False)

        def landed(result: Any) -> None:
            self.setWindowTitle(title)
            self.reading.setVisible(False)
            for field in fields:
                field.setEnabled(True)
            arrived(result)
            self.ok_button.setEnabled(True)
            first = first_input(self)
            if first is not None:
                first.setFocus(Qt.FocusReason.OtherFocusReason)

        def failed(exc: Exception) -> None:
            self.setWindowTitle(title)
            self.reading.setVisible(False)
            self.refuse(exc)
            self.ok_button.setEnabled(False)  # nothing to act on

        self.desk.runner.query(self, work, success=landed, failure=failed)

    def busy(self) -> bool:
        return not self.ok_button.isEnabled()

    def try_submit(self) -> None:
        """OK: ask first where the action needs it, then run the service call; the outcome arrives later."""
        self.submit_requested.emit()
        if self.busy():
            return
        try:
            sub = self.submission()
        except ConsoleError as exc:  # the form itself is incomplete
            self.refuse(exc)
            return
        self.ok_button.setEnabled(False)
        if sub.question is None:
            self._run(sub)
            return
        self.desk.runner.query(self, sub.question, success=lambda text: self._ask(sub, text), failure=self.refuse)

    def _ask(self, sub: Submission, question: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Question, self.windowTitle(), question,
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.setObjectName("confirmBox")
        # A mnemonic (Alt+first letter) so the keyboard can say yes; Enter alone says no.
        text = sub.confirm_text if "&" in sub.confirm_text else "&" + sub.confirm_text
        box.button(QMessageBox.StandardButton.Yes).setText(text)
        box.setDefaultButton(QMessageBox.StandardButton.No)  # Enter twice does not act by accident
        box.finished.connect(lambda answer: self._answered(sub, answer))
        self.confirm_box = box
        box.open()

    def _answered(self, sub: Submission, answer: int) -> None:
        if answer == QMessageBox.StandardButton.Yes:
            self._run(sub)
        else:
            self.ok_button.setEnabled(True)

    def _run(self, sub: Submission) -> None:
        self.refusal.clear()
        self.refusal.setVisible(False)
        self.desk.runner.write(self, sub.work, changes=sub.changes, success=lambda r: self._succeeded(sub, r),
                               failure=self.refuse)

    def _succeeded(self, sub: Submission, result) -> None:
        self.ok_button.setEnabled(True)
        self.result_value = result
        if self.keep_open(result):
            return
        parent = self.parentWidget()
        self.accept()
        if sub.done is not None:
            self.report = report_done(parent or self, sub.done(result))

    def keep_open(self, result) -> bool:
        """Hook: a dialog with a second step (issue a card, then activate it) stays open after the first."""
        return False

    def refuse(self, exc: Exception) -> None:
        """Show the refusal once, inline, and let the agent correct the form."""
        self.ok_button.setEnabled(True)
        if isinstance(exc, ConsoleError):
            text = str(exc)
        else:
            import logging

            logging.getLogger("sls_console").error("unexpected error", exc_info=exc)
            text = explain(exc)
        self.refusal.setText(text)
        self.refusal.setVisible(True)
        self.adjustSize()  # room for the whole message
        if isinstance(exc, ConsoleError):
            self.on_refused(exc)

    def on_refused(self, exc: ConsoleError) -> None:
        """Hook: e.g. draw a new challenge after a wrong answer."""


class ReceiveStockDialog(ServiceDialog):
    ok_text = "Receive into stock"

    def __init__(self, desk: Desk, parent=None) -> None:
        super().__init__(desk, "Receive DSC+ cards into stock", "receiveStock", parent)
        self.intro.setText("Scan or type the serial numbers of the cards received: one per line, or separated by "
                           "commas, or a range such as DSC000000101-DSC000000150. The whole batch is received, "
                           "or none of it if a serial is wrong. Ctrl+Enter receives them.")
        self.serials = self._field("&Serials:", QPlainTextEdit(), "receiveSerials", "Serial numbers received")
        self.serials.setPlaceholderText("DSC000012345")

    def submission(self) -> Submission:
        text = self.serials.toPlainText()
        return Submission(lambda: self.services.devices.receive_stock(self.actor, text),
                          lambda ids: Changes.of(devices=ids, kinds=[ChangeKind.stock]),
                          lambda ids: f"{len(ids)} DSC+ card(s) received into stock.")


class ShipDialog(ServiceDialog):
    ok_text = "Ship"

    def __init__(self, desk: Desk, device_id: int, serial: str, parent=None, *, version: int | None = None) -> None:
        super().__init__(desk, f"Ship DSC+ {serial}", "shipDevice", parent)
        self.device_id = device_id
        self.version = version  # the card as the row showed it: shipped or revoked at another desk since is refused
        self.serial = serial
        self.intro.setText(f"Ship DSC+ {serial} to a user. The client must activate it within the activation "
                           f"window; a reserve equal to the replacement fee is held on the account until the card "
                           f"comes back.")
        self.username = self._field("&Username:", QLineEdit(), "shipUsername", "Username receiving the card")
        self.username.setPlaceholderText("e.g. jsmit123")

    def submission(self) -> Submission:
        name = self.username.text()
        seen: dict[str, Any] = {}

        def question() -> str:
            user = self.services.directory.details(_known(name, self.services.directory.find_by_username(
                _plain(name))))
            fee = money(self.services.settings.figures().dsc_plus_fee_cents)
            e = self.services.devices.dsc_eligibility(user.id)
            equity = f"Account {e.account_number} has equity of {money(e.equity_cents)}"
            if not e.eligible:
                raise RuleViolation(f"{equity}, below the {money(e.minimum_cents)} a DSC+ needs: not eligible. "
                                    f"Offer the IB Key app instead; nothing was shipped.")
            seen.update(user=user, fee=fee)
            return (f"{equity}: eligible for a DSC+ (minimum {money(e.minimum_cents)}).\n\n"
                    f"Ship DSC+ {self.serial} to {user.username} ({user.full_name}, account "
                    f"{user.account_number})?\n\nA reserve of {fee}, the replacement fee, is held on "
                    f"{user.account_number} until the card comes back.")

        def work():
            return self.services.devices.ship(self.actor, self.device_id, seen["user"].id,
                                              expected_version=self.version, user_version=seen["user"].version)

        return Submission(work, lambda _: Changes.of(devices=[self.device_id], users=[seen["user"].id]),
                          lambda _: f"{self.serial} shipped to {seen['user'].username}; {seen['fee']} reserve held "
                                    f"on {seen['user'].account_number}.",
                          question, "Ship")


class ChallengeDialog(ServiceDialog):
    """A dialog that shows a fresh challenge for a device and takes the client's answer."""

    def __init__(self, desk: Desk, device_id: int, kind: DeviceKind, title: str, name: str, parent=None) -> None:
        super().__init__(desk, title, name, parent)
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
        self.new_challenge_button.setAutoDefault(False)
        self.new_challenge_button.clicked.connect(self.draw_challenge)
        self.buttons.addButton(self.new_challenge_button, QDialogButtonBox.ButtonRole.ActionRole)

    def draw_challenge(self) -> None:
        if self.kind not in CHALLENGE_KINDS:
            self.challenge = None
            self.new_challenge_button.setVisible(False)
            self.prompt.setText(f"Ask the client for the current 6-digit code in the {self.kind.label} app.")
            return
        # A challenge is a row written for this device; it is drawn through the runner like any write.
        self.desk.runner.write(self, lambda: self.services.verification.issue_challenge(self.actor, self.device_id),
                               changes=Changes.of(devices=[self.device_id]), success=self._show_challenge,
                               failure=self.refuse)

    def _show_challenge(self, challenge) -> None:
        self.challenge = challenge
        self.prompt.setText(challenge.prompt)
        self.answer.clear()

    @property
    def challenge_id(self) -> int | None:
        return self.challenge.id if self.challenge else None

    def on_refused(self, exc: ConsoleError) -> None:
        if isinstance(exc, VerificationFailed) and self.kind in CHALLENGE_KINDS:
            self.draw_challenge()  # a challenge is answered once, right or wrong


class ActivateDialog(ChallengeDialog):
    ok_text = "Activate"

    def __init__(self, desk: Desk, device_id: int, serial: str, parent=None) -> None:
        super().__init__(desk, device_id, DeviceKind.dsc_plus, f"Activate DSC+ {serial}", "activateDevice",
                         parent)
        self.serial = serial
        self.intro.setText(f"The client has received DSC+ {serial}. Activating it keeps their other devices "
                           f"active.")
        self.draw_challenge()

    def submission(self) -> Submission:
        challenge_id, answer = self.challenge_id, self.answer.text()
        return Submission(
            lambda: self.services.devices.activate_shipped(self.actor, self.device_id, challenge_id, answer),
            lambda row: Changes.of(devices=[self.device_id], kinds=[ChangeKind.users]),
            lambda row: f"DSC+ {self.serial} activated for {', '.join(row.holders) or 'its holder'}.")


class ShareDialog(ChallengeDialog):
    ok_text = "Share"

    def __init__(self, desk: Desk, device_id: int, kind: DeviceKind, label: str, parent=None) -> None:
        super().__init__(desk, device_id, kind, f"Share {label}", "shareDevice", parent)
        self.label = label
        self.intro.setText(f"Share {label} with a further username of the same person. The client proves it by "
                           f"reading a code from this device while calling about the other username.")
        self.username = QLineEdit()
        self.username.setObjectName("shareUsername")
        self.username.setAccessibleName("Username to share the device with")
        self.username.setPlaceholderText("e.g. jsmit777")
        self.form.insertRow(0, "&Username:", self.username)
        self.draw_challenge()

    def submission(self) -> Submission:
        name, answer, challenge_id = self.username.text(), self.answer.text(), self.challenge_id
        seen: dict[str, int] = {}

        def work():
            seen["user"] = _known(name, self.services.directory.find_by_username(_plain(name)))
            return self.services.devices.share(self.actor, self.device_id, seen["user"], answer, challenge_id)

        def done(request_id) -> str:
            who = name.strip().lower()
            if request_id is not None:  # different entities: the share waits for a compliance reviewer
                return (f"The code was correct; sharing {self.label} with {who} waits for compliance approval "
                        f"(Tools → Sharing requests awaiting approval).")
            return f"{self.label} is now shared with {who}."

        return Submission(work, lambda _: Changes.of(devices=[self.device_id], users=[seen["user"]]), done)


class ReportDialog(ServiceDialog):
    ok_text = "Report"

    def __init__(self, desk: Desk, device_id: int, label: str, user_id: int | None = None, parent=None) -> None:
        super().__init__(desk, f"Report {label}", "reportDevice", parent)
        self.device_id = device_id
        self.version: int | None = None  # the device as the agent sees it when the dialog opens
        self.label = label
        self.holder_ids: list[int] = []
        self.passcode_dialog: PasscodeDialog | None = None
        self.intro.setText(f"Report what happened to {label}. It stops working at once. If it was the client's "
                           f"only device, issue a temporary passcode with the report so they keep access.")
        self.reason = self._field("&What happened:", QComboBox(), "reportReason", "What happened to the device")
        for key, text in REPORT_LABELS.items():
            self.reason.addItem(text, key.value)
        self.user = self._field("&Caller:", QComboBox(), "reportUser", "Username of the caller")
        self.issue_passcode = self._field("", QCheckBox("Issue a &temporary passcode to the caller"),
                                          "reportIssuePasscode", "Issue a temporary passcode with the report")
        self.identity = self._field("", QCheckBox("Caller's &identity verified with the security question"),
                                    "reportIdentityVerified", "Caller's identity verified")
        self.note = self._field("&Note:", QLineEdit(), "reportNote", "Note for the audit trail")
        devices = self.services.devices
        self.read_first(lambda: (devices.get(device_id).version, devices.holders(device_id)),
                        lambda read: self._holders_read(*read, user_id))

    def _holders_read(self, version: int, holders: list[tuple[int, str]], user_id: int | None) -> None:
        self.version = version
        self.holder_ids = [uid for uid, _ in holders]
        for uid, username in holders:
            self.user.addItem(username, uid)
        if user_id is not None and self.user.findData(user_id) >= 0:
            self.user.setCurrentIndex(self.user.findData(user_id))

    def submission(self) -> Submission:
        reason, reason_text = self.reason.currentData(), self.reason.currentText().lower()
        user_id, caller = self.user.currentData(), self.user.currentText()
        issue, identity, note = self.issue_passcode.isChecked(), self.identity.isChecked(), self.note.text()
        version = self.version
        question = (f"Report {self.label} {reason_text} for {caller}? It stops working at once"
                    + (", and a temporary passcode is issued to " + caller if issue else "") + ".")

        def done(result) -> str:
            text = f"{self.label} reported {reason_text}; it no longer works."
            return text + (f" Temporary passcode issued to {caller}." if result.temporary_passcode else "")

        return Submission(
            lambda: self.services.devices.report(self.actor, self.device_id, reason, user_id=user_id,
                                                 issue_temporary_passcode=issue, identity_verified=identity,
                                                 note=note, expected_version=version),
            lambda result: Changes.of(devices=[self.device_id, *(
                [result.temporary_passcode.device_id] if result.temporary_passcode else [])],
                users=self.holder_ids), done, lambda: question, "Report")

    def accept(self) -> None:
        super().accept()
        issued = self.result_value.temporary_passcode if self.result_value else None
        if issued is not None:
            self.passcode_dialog = PasscodeDialog(self.desk, issued, self.parentWidget())
            self.passcode_dialog.open()


class TemporaryPasscodeDialog(ServiceDialog):
    ok_text = "Issue passcode"

    def __init__(self, desk: Desk, user_id: int, username: str, parent=None) -> None:
        super().__init__(desk, f"Temporary passcode for {username}", "temporaryPasscode", parent)
        self.user_id = user_id
        self.username = username
        self.version: int | None = None  # the user as the agent sees it when the dialog opens
        self.passcode_dialog: PasscodeDialog | None = None
        self.intro.setText(self.ABOUT)
        self.identity = self._field("", QCheckBox("Caller's &identity verified with the security question"),
                                    "temporaryIdentityVerified", "Caller's identity verified")
        self.reason = self._field("&Reason:", QLineEdit(), "temporaryReason", "Why the passcode is needed")
        self.reason.setPlaceholderText("e.g. phone left at home")
        directory, access = self.services.directory, self.services.temporary_access
        self.read_first(lambda: (directory.details(user_id, audit_limit=0).version, access.can_issue(user_id)),
                        lambda read: self._user_read(*read))

    ABOUT = ("Issued by phone only, after the caller's identity has been verified. Full access for a short period, "
             "then portal only (to print an Online Security Code Card), then it expires. Two are never issued in a "
             "row for one account.")

    def _user_read(self, version: int, refusal: str | None) -> None:
        self.version = version
        if refusal:
            self.intro.setText(f"{self.ABOUT}\n\nThis will be refused: {refusal}")

    def submission(self) -> Submission:
        identity, reason, version = self.identity.isChecked(), self.reason.text(), self.version
        return Submission(
            lambda: self.services.temporary_access.issue_temporary_passcode(
                self.actor, self.user_id, identity_verified=identity, reason=reason, expected_version=version),
            lambda issued: Changes.of(users=[self.user_id], devices=[issued.device_id]),
            lambda issued: f"Temporary passcode issued to {self.username}; full access until "
                           f"{when(issued.full_access_until)}.")

    def accept(self) -> None:
        super().accept()
        self.passcode_dialog = PasscodeDialog(self.desk, self.result_value, self.parentWidget())
        self.passcode_dialog.open()


class PasscodeDialog(QDialog):
    """Shows a new temporary passcode once, with its windows, and offers the Online Security Code Card next."""

    def __init__(self, desk: Desk, issued, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("passcodeShown")
        self.setWindowTitle(f"Temporary passcode for {issued.username}")
        self.desk = desk
        self.services = desk.services
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
        self.letter = LetterActions(desk, issued, self)
        for button in self.letter.buttons():
            close.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
        layout = QVBoxLayout(self)
        layout.addWidget(code)
        layout.addWidget(info)
        layout.addWidget(close)
        self.setMinimumWidth(460)
        keyboard_conventions(self)

    def open_online_card(self) -> None:
        self.card_dialog = OnlineCardDialog(self.desk, self.issued.user_id, self.issued.username,
                                            self.parentWidget())
        self.card_dialog.open()
        self.accept()


class OnlineCardDialog(ServiceDialog):
    """Issue an Online Security Code Card to an enrolled user after a loss, show its values, activate it."""

    ok_text = "Issue card"

    def __init__(self, desk: Desk, user_id: int, username: str, parent=None) -> None:
        super().__init__(desk, f"Online Security Code Card for {username}", "onlineCard", parent)
        self.user_id = user_id
        self.username = username
        self.card = None
        self.intro.setText("Issue an Online Security Code Card: the client prints or saves it, then reads back the "
                           "values at two index numbers to activate it.")
        self.values = self._field("Card values:", QPlainTextEdit(), "onlineCardValues", "Card values")
        self.values.setReadOnly(True)
        self.values.setFocusPolicy(Qt.FocusPolicy.NoFocus)
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
        self.save_button.setAutoDefault(False)
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

            path, _ = QFileDialog.getSaveFileName(self, "Save the card as PDF", in_documents(f"{self.card.serial}.pdf"),
                                                  "PDF (*.pdf)")
            if not path:
                return None
        c = self.card
        save_card_pdf(CardStart(c.device_id, c.username, c.full_name, c.account_number, c.serial, c.values,
                                c.issued_at, c.expires_at), path)
        return path

    def submission(self) -> Submission:
        if self.card is None:
            def issue():
                card = self.services.temporary_access.issue_online_card(self.actor, self.user_id)
                return card, self.services.verification.issue_challenge(self.actor, card.device_id)

            return Submission(issue, lambda r: Changes.of(users=[self.user_id], devices=[r[0].device_id]))
        card, challenge_id, answer = self.card, self.challenge.id, self.answer.text()
        return Submission(
            lambda: self.services.temporary_access.activate_online_card(self.actor, card.device_id, challenge_id,
                                                                        answer),
            Changes.of(users=[self.user_id], devices=[card.device_id]),
            lambda _: f"Online Security Code Card {card.serial} activated for {self.username}.")

    def keep_open(self, result) -> bool:
        if self.card is not None:
            return False
        self.card, challenge = result
        self.values.setPlainText(_card_text(self.card.values))
        self._show_challenge(challenge)
        self.answer.setEnabled(True)
        self.answer.setFocus()
        self.save_button.setEnabled(True)
        self.ok_button.setText("Activate card")
        return True

    def _show_challenge(self, challenge) -> None:
        self.challenge = challenge
        self.prompt.setText(challenge.prompt)
        self.answer.clear()

    def on_refused(self, exc: ConsoleError) -> None:
        if isinstance(exc, VerificationFailed) and self.card is not None:
            device_id = self.card.device_id
            self.desk.runner.write(self, lambda: self.services.verification.issue_challenge(self.actor, device_id),
                                   changes=Changes.of(devices=[device_id]), success=self._show_challenge,
                                   failure=self.refuse)


class ReplacementDialog(ServiceDialog):
    ok_text = "Order replacement"

    def __init__(self, desk: Desk, device_id: int, serial: str, parent=None) -> None:
        super().__init__(desk, f"Replace DSC+ {serial}", "orderReplacement", parent)
        self.device_id = device_id
        self.old_serial = serial
        self.fee_note = ""  # what the replacement charges, once read
        self.intro.setText(f"Ship a DSC+ from stock to replace {serial}.")
        self.user = self._field("Ship &to:", QComboBox(), "replacementUser", "Username receiving the replacement")
        self.serial = self._field("Card from &stock:", QLineEdit(), "replacementSerial",
                                  "Serial of the card from stock to ship")
        self.serial.setPlaceholderText("scan or type the serial of the card you ship, e.g. DSC000012345")
        devices = self.services.devices
        self.read_first(lambda: (devices.get(device_id), devices.holders(device_id),
                                 devices.replacement_fee(device_id)),
                        lambda read: self._card_read(*read))

    def _card_read(self, row: DeviceRow, holders: list[tuple[int, str]], fee_cents: int) -> None:
        self.fee_note = fee_note(row, fee_cents)
        self.intro.setText(f"Ship a DSC+ from stock to replace {self.old_serial}. {self.fee_note}")
        for uid, username in holders:
            self.user.addItem(username, uid)

    def submission(self) -> Submission:
        from console.models.errors import InvalidInput

        serial = self.serial.text().strip().upper()
        if not serial:
            raise InvalidInput("Type or scan the serial of the card you are shipping, so the console records "
                               "exactly that card.")
        user_id, username = self.user.currentData(), self.user.currentText()
        question = (f"Ship DSC+ {serial} to {username} to replace {self.old_serial}?\n\n{self.fee_note}")
        return Submission(
            lambda: self.services.devices.order_replacement(self.actor, self.device_id, user_id=user_id,
                                                            serial=serial),
            lambda r: Changes.of(devices=[r.old_device_id, r.new_device_id], users=[r.user_id],
                                 kinds=[ChangeKind.charges]),
            lambda r: f"{r.new_serial} shipped to {username} to replace {self.old_serial}"
                      + (f"; {money(r.charged_cents)} charged." if r.charged_cents else "; no fee charged."),
            lambda: question, "Ship replacement")


class ReceiveReturnDialog(ServiceDialog):
    ok_text = "Receive return"

    def __init__(self, desk: Desk, serial: str = "", parent=None, *, version: int | None = None) -> None:
        super().__init__(desk, "Receive a returned DSC+", "receiveReturn", parent)
        self.shown = (serial, version)  # the row the agent opened it from, if any
        self.intro.setText("Scan or type the serial of the card that came back. Receiving it closes the return and "
                           "releases the reserve held on the account.")
        self.serial = self._field("&Serial:", QLineEdit(serial), "returnSerial", "Serial of the returned card")

    def submission(self) -> Submission:
        serial = self.serial.text()
        seen: dict[str, int] = {}

        shown_serial, shown_version = self.shown
        version = shown_version if serial.strip().upper() == shown_serial.upper() else None  # else scanned anew

        def work():
            seen["device"] = self.services.devices.find_by_serial(serial)
            return self.services.returns.receive_return(self.actor, seen["device"], expected_version=version)

        return Submission(work, lambda _: Changes.of(devices=[seen["device"]], kinds=[ChangeKind.charges,
                                                                                      ChangeKind.users]),
                          lambda _: f"{serial.strip().upper()} received back; its reserve is released.")


class ConfirmDialog(ServiceDialog):
    """A yes/no question, naming what it acts on, whose yes runs `action()` and reports `done`."""

    def __init__(self, desk: Desk, title: str, question: str, action, name: str, ok_text: str, parent=None, *,
                 changes: Changes, done: str) -> None:
        super().__init__(desk, title, name, parent)
        self.ok_button.setText(ok_text)
        self.intro.setText(question)
        self._action = action
        self._changes = changes
        self._done = done

    def submission(self) -> Submission:
        return Submission(self._action, self._changes, lambda _: self._done)


class WaiveDialog(ServiceDialog):
    ok_text = "Waive charge"

    def __init__(self, desk: Desk, charge, parent=None) -> None:
        super().__init__(desk, "Waive a charge", "waiveCharge", parent)
        self.charge_id = charge.id
        self.version = charge.version  # as the agent saw it: another desk's change since is refused
        self.amount = money(charge.amount_cents, charge.currency)
        self.account = charge.account_number
        self.description = charge.description
        self.intro.setText(f"Waive {self.amount} on {charge.account_number}: {charge.description}. The reason is "
                           f"kept with the charge and in the audit trail. Ctrl+Enter waives.")
        self.reason = self._field("&Reason:", QPlainTextEdit(), "waiveReason", "Reason for waiving the charge")
        self.reason.setPlaceholderText("e.g. card lost by our courier")
        self.reason.setTabChangesFocus(True)

    def submission(self) -> Submission:
        reason = self.reason.toPlainText()
        question = f"Waive {self.amount} on {self.account} ({self.description})?\n\nReason: {reason.strip()}"
        version = self.version
        return Submission(lambda: self.services.charges.waive(self.actor, self.charge_id, reason,
                                                              expected_version=version),
                          Changes.of(charges=[self.charge_id]),
                          lambda _: f"{self.amount} on {self.account} waived.", lambda: question, "Waive")


def unlock_dialog(desk: Desk, device_id: int, label: str, holders: str, parent=None, *,
                  version: int | None = None) -> ConfirmDialog:
    """Unlock a device locked after wrong codes, once the agent has verified who is calling."""
    return ConfirmDialog(desk, f"Unlock {label}",
                         f"Unlock {label} (held by {holders})? It was locked after too many wrong codes. Unlock it "
                         f"only once you have verified the client's identity; the count of wrong codes starts again.",
                         lambda: desk.services.verification.unlock(desk.actor, device_id, "identity verified by phone",
                                                                   expected_version=version),
                         "unlockConfirm", "Unlock", parent,
                         changes=Changes.of(devices=[device_id], kinds=[ChangeKind.users]),
                         done=f"{label} unlocked; {holders} can use it again.")


def fee_note(row: DeviceRow, fee_cents: int) -> str:
    """What ordering a replacement for the card of `row` charges, in words."""
    if row.return_reason is ReturnReason.battery_failure:
        return "No fee: the battery failed. The old card must come back by its due date, or the fee is charged."
    back = " The damaged card is still to be returned." if row.state is DeviceState.damaged else ""
    if not fee_cents:
        return f"No fee: it was already charged for this card.{back}"
    return f"The replacement fee is charged to account {row.account_number}: {money(fee_cents)}.{back}"


def _plain(username: str) -> str:
    return (username or "").strip().lower()


def _known(username: str, user_id: int | None) -> int:
    """The user found for `username` (read off the GUI thread), or a refusal naming what was typed."""
    from console.models.errors import NotFound

    name = _plain(username)
    if user_id is None or not name:
        raise NotFound(f"There is no username {name or '(blank)'}. Check the spelling with the client.")
    return user_id


def _card_text(values: dict[int, str]) -> str:
    """Card values in rows of five, as printed: "  1 ABC    2 DEF ..."."""
    cells = [f"{p:>3} {v}" for p, v in sorted(values.items())]
    return "\n".join("    ".join(cells[i:i + 5]) for i in range(0, len(cells), 5))


def info(parent, title: str, text: str, name: str):
    return message_box(parent, title, text, QMessageBox.Icon.Information, name)
