"""The assisted opt-in wizard: the agent reads out the three options, sets up the chosen device, checks a code."""

from __future__ import annotations

import io

import segno
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QFont, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QRadioButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from console.models.context import Actor
from console.models.enrollment import CardStart, EnrollmentService, IbKeyStart, SharedStart
from console.models.enums import DeviceKind
from console.models.errors import ConsoleError, VerificationFailed
from console.models.firm import firm_name
from console.models.opt_out_terms import RESTRICTION_EXPLANATIONS
from console.views.printing import render_card, save_card_pdf

PAGE_CHOOSE, PAGE_IB_KEY, PAGE_CARD, PAGE_SHARE, PAGE_VERIFY, PAGE_DONE = range(6)

# The client's own words from the portal (seed/how-to-opt-back-into-sls.txt), so the client recognises them.
OPTIONS = (
    ("ib_key", "I would like to install IBKR Mobile and use my smart phone as my Secure Login Device.",
     "IB Key: the client scans a QR code in the app (or types a key), then reads back the 6-digit code."),
    ("card", "I would like to enroll in the Secure Login System without installing IBKR Mobile.",
     "Online Security Code Card: printed or saved as PDF for the client; the client reads back two values. "
     "The card is temporary."),
    ("shared", "I already have access to a Secure Login Device under a different username.",
     "Sharing: the client's other username (same person) lends its device; the client proves it with a code "
     "from that device."),
)


def _wrap(text: str, name: str = "", bold: bool = False) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if name:
        label.setObjectName(name)
    if bold:
        f = label.font()
        f.setBold(True)
        label.setFont(f)
    return label


def _mono(points: int = 13) -> QFont:
    f = QFont("DejaVu Sans Mono")
    f.setStyleHint(QFont.StyleHint.Monospace)
    f.setPointSize(points)
    return f


def _action_button(action: QAction, name: str) -> QToolButton:
    button = QToolButton()
    button.setDefaultAction(action)
    button.setObjectName(name)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    return button


class ChoosePage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("choosePage")
        self.setTitle("How would the client like to log in?")
        self.setSubTitle("Read the three options to the client as they are written; they match the client's portal.")
        layout = QVBoxLayout(self)
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QRadioButton] = {}
        for key, words, note in OPTIONS:
            button = QRadioButton(words)
            button.setObjectName(f"option_{key}")
            button.setAccessibleName(words)
            self.group.addButton(button)
            self.buttons[key] = button
            layout.addWidget(button)
            hint = _wrap(note)
            hint.setContentsMargins(24, 0, 0, 10)
            hint.setStyleSheet("color: #555;")
            layout.addWidget(hint)
        layout.addStretch(1)
        self.group.buttonToggled.connect(lambda *_: self.completeChanged.emit())

    def choice(self) -> str | None:
        return next((k for k, b in self.buttons.items() if b.isChecked()), None)

    def isComplete(self) -> bool:
        return self.choice() is not None

    def nextId(self) -> int:
        return {"ib_key": PAGE_IB_KEY, "card": PAGE_CARD, "shared": PAGE_SHARE}.get(self.choice() or "", PAGE_IB_KEY)


class IbKeyPage(QWizardPage):
    """Starts the IB Key when shown: QR code of the provisioning link and the key for manual entry."""

    def __init__(self, wizard: "OptInWizard") -> None:
        super().__init__()
        self.w = wizard
        self.start: IbKeyStart | None = None
        self.setObjectName("ibKeyPage")
        self.setTitle("Set up IB Key in IBKR Mobile")
        self.setSubTitle("Ask the client to open IBKR Mobile, choose to add a user for two-factor authentication, "
                         "and scan this QR code.")
        layout = QHBoxLayout(self)
        self.qr = QLabel()
        self.qr.setObjectName("qrCode")
        self.qr.setAccessibleName("QR code of the IB Key provisioning link")
        self.qr.setMinimumSize(240, 240)
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.qr)
        right = QVBoxLayout()
        right.addWidget(_wrap("If the client cannot scan the code, they can type the key instead:", bold=True))
        form = QFormLayout()
        self.account = QLabel()
        self.account.setObjectName("ibKeyAccount")
        self.issuer = QLabel(firm_name())
        self.key = QLabel()
        self.key.setObjectName("manualKey")
        self.key.setFont(_mono(12))
        self.key.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.key.setAccessibleName("Key for manual entry")
        self.key.setWordWrap(True)
        form.addRow("Account name:", self.account)
        form.addRow("Issuer:", self.issuer)
        form.addRow("Key:", self.key)
        form.addRow("Type:", QLabel("Time-based, 6 digits"))
        right.addLayout(form)
        right.addWidget(_wrap("The key has only letters A-Z and digits 2-7 (no zero, no one). The spaces are only "
                              "for reading it out; the app ignores them. When the app shows a 6-digit code, "
                              "press Next."))
        right.addStretch(1)
        layout.addLayout(right, 1)

    def initializePage(self) -> None:
        self.start = None
        self.qr.clear()
        self.key.clear()
        try:
            self.start = self.w.enrollment.start_ib_key(self.w.actor, self.w.user_id)
        except ConsoleError as exc:
            self.w.show_error(exc)
            return
        self.w.begin(self.start.device_id, DeviceKind.ib_key, None)
        buffer = io.BytesIO()
        segno.make(self.start.provisioning_uri, error="m").save(buffer, kind="png", scale=6, border=3)
        pixmap = QPixmap()
        pixmap.loadFromData(buffer.getvalue(), "PNG")
        self.qr.setPixmap(pixmap)
        self.account.setText(self.start.username)
        self.key.setText(self.start.secret_grouped)
        self.completeChanged.emit()

    @property
    def provisioning_uri(self) -> str | None:
        return self.start.provisioning_uri if self.start else None

    def isComplete(self) -> bool:
        return self.start is not None

    def nextId(self) -> int:
        return PAGE_VERIFY


class CardPage(QWizardPage):
    """Issues the Online Security Code Card when shown: its values in a grid, to print or save as PDF."""

    COLUMNS = 10

    def __init__(self, wizard: "OptInWizard") -> None:
        super().__init__()
        self.w = wizard
        self.card: CardStart | None = None
        self.setObjectName("cardPage")
        self.setTitle("Online Security Code Card")
        self.setSubTitle("Print the card or save it as a PDF for the client. Do not read the whole card out.")
        layout = QVBoxLayout(self)
        self.header = _wrap("", "cardHeader")
        layout.addWidget(self.header)
        self.grid_host = QWidget()
        self.grid_host.setObjectName("cardGrid")
        self.grid = QGridLayout(self.grid_host)
        self.grid.setHorizontalSpacing(18)
        self.grid.setVerticalSpacing(2)
        layout.addWidget(self.grid_host)
        buttons = QHBoxLayout()
        self.print_action = QAction("&Print card…", self)
        self.print_action.setShortcut(QKeySequence.StandardKey.Print)
        self.print_action.setStatusTip("Print the Online Security Code Card for the client")
        self.print_action.triggered.connect(self.print_card)
        self.pdf_action = QAction("Save as P&DF…", self)
        self.pdf_action.setShortcut(QKeySequence("Ctrl+Shift+S"))
        self.pdf_action.setStatusTip("Save the Online Security Code Card as a PDF file for the client")
        self.pdf_action.triggered.connect(self.save_pdf)
        for action in (self.print_action, self.pdf_action):
            self.addAction(action)
        buttons.addWidget(_action_button(self.print_action, "printCard"))
        buttons.addWidget(_action_button(self.pdf_action, "saveCardPdf"))
        buttons.addStretch(1)
        layout.addLayout(buttons)
        layout.addWidget(_wrap("When the client has the card in hand, press Next to check two of its values."))

    def initializePage(self) -> None:
        self.card = None
        self._clear_grid()
        try:
            self.card = self.w.enrollment.start_online_card(self.w.actor, self.w.user_id)
        except ConsoleError as exc:
            self.w.show_error(exc)
            return
        self.w.begin(self.card.device_id, DeviceKind.online_code_card, None)
        c = self.card
        self.header.setText(f"<b>Card {c.serial}</b> for <b>{c.username}</b> ({c.full_name}), "
                            f"valid until <b>{c.expires_at:%d %b %Y %H:%M} UTC</b>.")
        rows = (len(c.values) + self.COLUMNS - 1) // self.COLUMNS
        mono = _mono(12)
        for i, position in enumerate(sorted(c.values)):
            col, row = divmod(i, rows)
            label = QLabel(f"<span style='color:#666'>{position:>3}</span>&nbsp;<b>{c.values[position]}</b>")
            label.setFont(mono)
            label.setObjectName(f"cardValue_{position}")
            label.setProperty("cardValue", c.values[position])
            self.grid.addWidget(label, row, col)
        self.completeChanged.emit()

    def _clear_grid(self) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()

    def printed_values(self) -> dict[int, str]:
        """What the client reads from the card on screen (tests read the card through this)."""
        return {int(label.objectName().split("_")[1]): label.property("cardValue")
                for label in self.grid_host.findChildren(QLabel) if label.objectName().startswith("cardValue_")}

    def print_card(self) -> None:
        from PySide6.QtPrintSupport import QPrintDialog, QPrinter

        if self.card is None:
            return
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        dialog = QPrintDialog(printer, self)
        dialog.setWindowTitle("Print Online Security Code Card")
        if dialog.exec() == QPrintDialog.DialogCode.Accepted:
            render_card(printer, self.card)

    def save_pdf(self, path: str | None = None) -> str | None:
        if self.card is None:
            return None
        if not path:
            path, _ = QFileDialog.getSaveFileName(self, "Save card as PDF", f"security-card-{self.card.serial}.pdf",
                                                  "PDF files (*.pdf)")
        if not path:
            return None
        save_card_pdf(self.card, path)
        return path

    def isComplete(self) -> bool:
        return self.card is not None

    def nextId(self) -> int:
        return PAGE_VERIFY


class SharePage(QWizardPage):
    """The other username: its devices, the sharing rules, and the refusal in plain words if one applies."""

    def __init__(self, wizard: "OptInWizard") -> None:
        super().__init__()
        self.w = wizard
        self.start: SharedStart | None = None
        self.setObjectName("sharePage")
        self.setTitle("Use a device the client already has under another username")
        self.setSubTitle("Ask the client for the other username. It must belong to the same person, and its most "
                         "protective device is the one to share.")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        row = QHBoxLayout()
        self.username = QLineEdit()
        self.username.setObjectName("otherUsername")
        self.username.setAccessibleName("Other username")
        self.username.setPlaceholderText("e.g. jsmit002")
        self.username.setMaxLength(32)
        self.username.textChanged.connect(self._username_changed)
        self.username.returnPressed.connect(self.find_devices)
        row.addWidget(self.username, 1)
        self.find_action = QAction("&Find devices", self)
        self.find_action.setShortcut(QKeySequence("Ctrl+F"))
        self.find_action.setStatusTip("List the devices of the other username")
        self.find_action.triggered.connect(self.find_devices)
        self.addAction(self.find_action)
        row.addWidget(_action_button(self.find_action, "findDevices"))
        username_label = QLabel("Other &username:")
        username_label.setBuddy(self.username)
        form.addRow(username_label, row)
        self.devices = QComboBox()
        self.devices.setObjectName("sharedDevice")
        self.devices.setAccessibleName("Device to share")
        self.devices.currentIndexChanged.connect(lambda *_: self.completeChanged.emit())
        form.addRow("&Device to share:", self.devices)
        layout.addLayout(form)
        layout.addWidget(_wrap("Sharing is allowed only when the usernames belong to the same person, neither has "
                               "a temporary device (temporary passcode or Online Security Code Card), and the "
                               "device is the most protective one they have. The console checks these when you "
                               "press Next."))
        self.status = _wrap("", "shareStatus")
        layout.addWidget(self.status)
        layout.addStretch(1)

    def _username_changed(self) -> None:
        self.devices.clear()
        self.status.clear()
        self.completeChanged.emit()

    def find_devices(self) -> None:
        self.devices.clear()
        self.status.clear()
        try:
            found = self.w.enrollment.shareable_devices(self.w.actor, self.w.user_id, self.username.text())
        except ConsoleError as exc:
            self.status.setText(str(exc))
            self.w.show_error(exc)
            self.completeChanged.emit()
            return
        for d in found:
            self.devices.addItem(d.label + ("  (most protective)" if d.most_protective else ""), d.device_id)
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.devices.currentData() is not None

    def validatePage(self) -> bool:
        try:
            self.start = self.w.enrollment.start_shared(self.w.actor, self.w.user_id, self.username.text(),
                                                        self.devices.currentData())
        except ConsoleError as exc:
            self.status.setText(str(exc))
            self.w.show_error(exc)
            return False
        self.w.begin(self.start.device_id, self.start.kind, self.start.challenge, self.start.owner_username)
        return True

    def nextId(self) -> int:
        return PAGE_VERIFY


class VerifyPage(QWizardPage):
    """The client reads back a code (or the values/response to a challenge); only a good one enrolls."""

    def __init__(self, wizard: "OptInWizard") -> None:
        super().__init__()
        self.w = wizard
        self.setObjectName("verifyPage")
        self.setTitle("Check a code from the client's device")
        self.setSubTitle("Only a correct code activates the device. Nothing is enrolled until then.")
        layout = QVBoxLayout(self)
        self.prompt = _wrap("", "verifyPrompt")
        layout.addWidget(self.prompt)
        self.challenge = QLabel()
        self.challenge.setObjectName("challengeText")
        self.challenge.setFont(_mono(22))
        self.challenge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.challenge.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.challenge)
        form = QFormLayout()
        self.answer = QLineEdit()
        self.answer.setObjectName("answer")
        self.answer.setAccessibleName("Code read back by the client")
        self.answer.setFont(_mono(16))
        self.answer.setMaxLength(16)
        self.answer.textChanged.connect(lambda *_: self.completeChanged.emit())
        form.addRow("Code from the &client:", self.answer)
        layout.addLayout(form)
        row = QHBoxLayout()
        self.new_challenge_action = QAction("&New challenge", self)
        self.new_challenge_action.setShortcut(QKeySequence("Ctrl+N"))
        self.new_challenge_action.setStatusTip("Draw a new challenge for the client's device")
        self.new_challenge_action.triggered.connect(self.draw_challenge)
        self.addAction(self.new_challenge_action)
        self.new_challenge_button = _action_button(self.new_challenge_action, "newChallenge")
        row.addWidget(self.new_challenge_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.status = _wrap("", "verifyStatus")
        self.status.setStyleSheet("color: #a40000;")
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.setButtonText(QWizard.WizardButton.NextButton, "&Check code")

    def initializePage(self) -> None:
        self.answer.clear()
        self.status.clear()
        needs_challenge = self.w.kind in (DeviceKind.dsc_plus, DeviceKind.code_card, DeviceKind.online_code_card)
        self.new_challenge_button.setVisible(needs_challenge)
        self.new_challenge_action.setEnabled(needs_challenge)
        if needs_challenge and self.w.challenge is None:
            self.draw_challenge()
        else:
            self._show_prompt()

    def _show_prompt(self) -> None:
        kind, ch = self.w.kind, self.w.challenge
        owner = f" of {self.w.owner_username}" if self.w.owner_username else ""
        if kind is DeviceKind.ib_key:
            self.prompt.setText(f"Ask the client to read the 6-digit code shown in IBKR Mobile{owner} for "
                                f"{self.w.username if not owner else self.w.owner_username}.")
            self.challenge.clear()
            self.answer.setPlaceholderText("6 digits")
        elif kind is DeviceKind.dsc_plus and ch is not None:
            self.prompt.setText(f"The client's DSC+{owner}: " + ch.prompt)
            self.challenge.setText(f"Challenge  {ch.number}")
            self.answer.setPlaceholderText("8-digit response")
        elif ch is not None:
            a, b = ch.positions
            self.prompt.setText(f"The client's {kind.label}{owner}: ask for the values at these two index numbers, "
                                f"typed together without a space.")
            self.challenge.setText(f"Index {a}   and   Index {b}")
            self.answer.setPlaceholderText("6 characters, e.g. A3DZ3V")

    def draw_challenge(self) -> None:
        try:
            self.w.challenge = self.w.enrollment.new_challenge(self.w.actor, self.w.device_id)
        except ConsoleError as exc:
            self.w.show_error(exc)
            return
        self.answer.clear()
        self._show_prompt()

    def isComplete(self) -> bool:
        return bool(self.answer.text().strip())

    def validatePage(self) -> bool:
        ch = self.w.challenge
        try:
            self.w.result = self.w.enrollment.confirm(self.w.actor, self.w.user_id, self.w.device_id,
                                                      self.answer.text(), challenge_id=ch.id if ch else None)
        except ConsoleError as exc:
            self.status.setText(str(exc))
            self.w.show_error(exc)
            # A card or DSC+ challenge is answered once, right or wrong: the next try needs a new one.
            if isinstance(exc, VerificationFailed) and self.new_challenge_action.isEnabled():
                message = self.status.text()
                self.draw_challenge()
                self.status.setText(message + " A new challenge is shown.")
            self.answer.selectAll()
            return False
        return True

    def nextId(self) -> int:
        return PAGE_DONE


class DonePage(QWizardPage):
    def __init__(self, wizard: "OptInWizard") -> None:
        super().__init__()
        self.w = wizard
        self.setObjectName("donePage")
        self.setTitle("Enrolled in the Secure Login System")
        self.setSubTitle("The code was correct. Tell the client the device is ready to use at the next login.")
        layout = QVBoxLayout(self)
        self.summary = _wrap("", "doneSummary")
        layout.addWidget(self.summary)
        layout.addStretch(1)
        self.setFinalPage(True)

    def initializePage(self) -> None:
        r = self.w.result
        how = f"{self.w.kind.label} shared with {self.w.owner_username}" if r and r.shared else self.w.kind.label
        lifted = "".join(f"<li>{RESTRICTION_EXPLANATIONS[x]}</li>" for x in (r.lifted if r else ()))
        self.summary.setText(f"<p><b>{self.w.username}</b> is now enrolled, using the {how}. The device is "
                             f"active.</p>" + (f"<p>These opt-out restrictions no longer apply:</p><ul>{lifted}</ul>"
                                               if lifted else ""))
        self.w.button(QWizard.WizardButton.BackButton).setEnabled(False)

    def nextId(self) -> int:
        return -1


class OptInWizard(QWizard):
    """Opt an opted-out (or pending) user back in. Cancelling at any page leaves everything as it was."""

    def __init__(self, enrollment: EnrollmentService, actor: Actor, user_id: int, username: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.enrollment = enrollment
        self.actor = actor
        self.user_id = user_id
        self.username = username
        self.device_id: int | None = None
        self.kind: DeviceKind | None = None
        self.challenge = None
        self.owner_username: str | None = None
        self.result = None
        self.last_error: str | None = None
        self.setObjectName("optInWizard")
        self.setWindowTitle(f"Opt {username} back into the Secure Login System")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.setMinimumSize(820, 600)
        self.choose_page = ChoosePage()
        self.ib_key_page = IbKeyPage(self)
        self.card_page = CardPage(self)
        self.share_page = SharePage(self)
        self.verify_page = VerifyPage(self)
        self.done_page = DonePage(self)
        for pid, page in ((PAGE_CHOOSE, self.choose_page), (PAGE_IB_KEY, self.ib_key_page),
                          (PAGE_CARD, self.card_page), (PAGE_SHARE, self.share_page),
                          (PAGE_VERIFY, self.verify_page), (PAGE_DONE, self.done_page)):
            self.setPage(pid, page)
        self.setStartId(PAGE_CHOOSE)

    def begin(self, device_id: int, kind: DeviceKind, challenge, owner_username: str | None = None) -> None:
        """A path has started in the database (user pending): remember what the code will be checked against."""
        self.device_id, self.kind, self.challenge, self.owner_username = device_id, kind, challenge, owner_username

    @property
    def enrolled(self) -> bool:
        return self.result is not None

    def show_error(self, exc: Exception) -> None:
        """Domain errors are shown as they are; tests read last_error (and may replace QMessageBox)."""
        self.last_error = str(exc)
        QMessageBox.warning(self, "Opt-in", str(exc))

    def reject(self) -> None:
        """Cancel at any page: undo the unfinished opt-in so the user is opted out exactly as before."""
        if self.device_id is not None and not self.enrolled:  # only what this wizard started
            try:
                self.enrollment.cancel(self.actor, self.user_id, self.device_id)
            except ConsoleError as exc:
                self.show_error(exc)
        super().reject()
