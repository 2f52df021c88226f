"""The opt-in wizard's set-up pages, one per option: IB Key (QR code and key), Online Security Code Card
(values to print or save), and a device shared from another username."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import segno
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from console.models.enrollment import CardStart, IbKeyStart, SharedStart
from console.models.enums import DeviceKind
from console.models.firm import firm_name
from console.models.permissions import Permission
from console.views.documents import in_documents
from console.views.printing import render_card, save_card_pdf
from console.views.wizard_parts import PAGE_VERIFY, action_button, mono, refusal_line, wrap

if TYPE_CHECKING:
    from console.views.opt_in_wizard import OptInWizard


class IbKeyPage(QWizardPage):
    """Starts the IB Key when shown: QR code of the provisioning link and the key for manual entry."""

    def __init__(self, wizard: OptInWizard) -> None:
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
        right.addWidget(wrap("If the client cannot scan the code, they can type the key instead:", bold=True))
        form = QFormLayout()
        self.account = QLabel()
        self.account.setObjectName("ibKeyAccount")
        self.issuer = QLabel(firm_name())
        self.key = QLabel()
        self.key.setObjectName("manualKey")
        self.key.setFont(mono(12))
        # Selectable from the keyboard too (Alt+K, then Ctrl+A and Ctrl+C), for reading it out without a mouse.
        self.key.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                         | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.key.setAccessibleName("Key for manual entry")
        self.key.setWordWrap(True)
        form.addRow("Account name:", self.account)
        form.addRow("Issuer:", self.issuer)
        key_label = QLabel("&Key:")
        key_label.setBuddy(self.key)
        form.addRow(key_label, self.key)
        form.addRow("Type:", QLabel("Time-based, 6 digits"))
        right.addLayout(form)
        right.addWidget(wrap("The key has only letters A-Z and digits 2-7 (no zero, no one). The spaces are only "
                              "for reading it out; the app ignores them. When the app shows a 6-digit code, "
                              "press Next."))
        self.status = refusal_line("ibKeyStatus")
        right.addWidget(self.status)
        right.addStretch(1)
        layout.addLayout(right, 1)

    def initializePage(self) -> None:
        if self.start is not None and self.w.device_id == self.start.device_id:
            return  # Back to the options and forward again: keep the key the client may have scanned already
        self.start = None
        self.qr.clear()
        self.key.clear()
        w, version = self.w, self.w.shown_version
        w.run(self, lambda: w.enrollment.start_ib_key(w.actor, w.user_id, expected_version=version), self._started,
              self.status)

    def _started(self, start: IbKeyStart) -> None:
        self.start = start
        self.w.begin(start.device_id, DeviceKind.ib_key, None)
        buffer = io.BytesIO()
        segno.make(start.provisioning_uri, error="m").save(buffer, kind="png", scale=6, border=3)
        pixmap = QPixmap()
        pixmap.loadFromData(buffer.getvalue(), "PNG")
        self.qr.setPixmap(pixmap)
        self.account.setText(start.username)
        self.key.setText(start.secret_grouped)

    @property
    def provisioning_uri(self) -> str | None:
        return self.start.provisioning_uri if self.start else None

    def isComplete(self) -> bool:
        return self.start is not None and not self.w.busy

    def nextId(self) -> int:
        return PAGE_VERIFY


class CardPage(QWizardPage):
    """Issues the Online Security Code Card when shown: its values in a grid, to print or save as PDF."""

    COLUMNS = 10

    def __init__(self, wizard: OptInWizard) -> None:
        super().__init__()
        self.w = wizard
        self.card: CardStart | None = None
        self.setObjectName("cardPage")
        self.setTitle("Online Security Code Card")
        self.setSubTitle("Print the card or save it as a PDF for the client. Do not read the whole card out.")
        layout = QVBoxLayout(self)
        self.header = wrap("", "cardHeader")
        layout.addWidget(self.header)
        self.grid_host = QWidget()
        self.grid_host.setObjectName("cardGrid")
        self.grid = QGridLayout(self.grid_host)
        self.grid.setHorizontalSpacing(18)
        self.grid.setVerticalSpacing(2)
        layout.addWidget(self.grid_host)
        buttons = QHBoxLayout()
        make = wizard.desk.actions.make
        self.print_action = make(self, "&Print card…", QKeySequence.StandardKey.Print, "Print the Online Security "
                                 "Code Card for the client", self.print_card, "printCardAction",
                                 Permission.issue_temporary_access)
        self.pdf_action = make(self, "Save as P&DF…", "Ctrl+Shift+S", "Save the Online Security Code Card as a PDF "
                               "file for the client", lambda: self.save_pdf(), "saveCardPdfAction",
                               Permission.issue_temporary_access)
        for action in (self.print_action, self.pdf_action):
            self.addAction(action)
        buttons.addWidget(action_button(self.print_action, "printCard"))
        buttons.addWidget(action_button(self.pdf_action, "saveCardPdf"))
        buttons.addStretch(1)
        layout.addLayout(buttons)
        layout.addWidget(wrap("When the client has the card in hand, press Next to check two of its values."))
        self.status = refusal_line("cardStatus")
        layout.addWidget(self.status)

    def initializePage(self) -> None:
        if self.card is not None and self.w.device_id == self.card.device_id:
            return  # Back to the options and forward again: the card the client may have printed stays valid
        self.card = None
        self._clear_grid()
        self.header.clear()
        w, version = self.w, self.w.shown_version
        w.run(self, lambda: w.enrollment.start_online_card(w.actor, w.user_id, expected_version=version),
              self._issued, self.status)

    def _issued(self, card: CardStart) -> None:
        self.card = c = card
        self.w.begin(c.device_id, DeviceKind.online_code_card, None)
        self.header.setText(f"<b>Card {c.serial}</b> for <b>{c.username}</b> ({c.full_name}), "
                            f"valid until <b>{c.expires_at:%d %b %Y %H:%M} UTC</b>.")
        rows = (len(c.values) + self.COLUMNS - 1) // self.COLUMNS
        value_font = mono(12)
        for i, position in enumerate(sorted(c.values)):
            col, row = divmod(i, rows)
            label = QLabel(f"<span style='color:#666'>{position:>3}</span>&nbsp;<b>{c.values[position]}</b>")
            label.setFont(value_font)
            label.setObjectName(f"cardValue_{position}")
            label.setProperty("cardValue", c.values[position])
            self.grid.addWidget(label, row, col)

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
            path, _ = QFileDialog.getSaveFileName(self, "Save card as PDF",
                                                  in_documents(f"security-card-{self.card.serial}.pdf"),
                                                  "PDF files (*.pdf)")
        if not path:
            return None
        save_card_pdf(self.card, path)
        return path

    def isComplete(self) -> bool:
        return self.card is not None and not self.w.busy

    def nextId(self) -> int:
        return PAGE_VERIFY


class SharePage(QWizardPage):
    """The other username: its devices, the sharing rules, and the refusal in plain words if one applies."""

    def __init__(self, wizard: OptInWizard) -> None:
        super().__init__()
        self.w = wizard
        self.start: SharedStart | None = None
        self._started = False  # the share has started: the next validation lets the wizard move on
        self.setObjectName("sharePage")
        self.setTitle("Use a device the client already has under another username")
        self.setSubTitle("The person's other usernames (same identification data) are listed: pick the one the "
                         "client uses. Its most protective device is the one to share.")
        layout = QVBoxLayout(self)
        self.others = QListWidget()
        self.others.setObjectName("otherUsernames")
        self.others.setAccessibleName("The person's other usernames")
        self.others.setMaximumHeight(110)
        self.others.currentRowChanged.connect(self._other_chosen)
        others_label = QLabel("&This person's other usernames:")
        others_label.setBuddy(self.others)
        layout.addWidget(others_label)
        layout.addWidget(self.others)
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
        self.find_action = wizard.desk.actions.make(self, "&Find devices", "Ctrl+F", "List the devices of the other "
                                                    "username", self.find_devices, "findDevicesAction",
                                                    Permission.assist_enrollment)
        self.addAction(self.find_action)
        row.addWidget(action_button(self.find_action, "findDevices"))
        username_label = QLabel("Other &username:")
        username_label.setBuddy(self.username)
        form.addRow(username_label, row)
        self.devices = QComboBox()
        self.devices.setObjectName("sharedDevice")
        self.devices.setAccessibleName("Device to share")
        self.devices.currentIndexChanged.connect(lambda *_: self.completeChanged.emit())
        form.addRow("&Device to share:", self.devices)
        layout.addLayout(form)
        layout.addWidget(wrap("Sharing is allowed only when the usernames belong to the same person, neither has "
                               "a temporary device (temporary passcode or Online Security Code Card), and the "
                               "device is the most protective one they have. The console checks these when you "
                               "press Next."))
        self.status = refusal_line("shareStatus")
        layout.addWidget(self.status)
        layout.addStretch(1)

    def initializePage(self) -> None:
        self.others.clear()
        self.others.setEnabled(False)
        self._other_names: list[str] = []
        w = self.w
        w.run(self, lambda: w.enrollment.other_usernames(w.actor, w.user_id), self._list_others, self.status,
              write=False)

    def _list_others(self, others) -> None:
        for o in others:
            devices = ", ".join(o.active_devices) or "no active device"
            self.others.addItem(f"{o.username}  ·  {o.account_number}  ·  {o.sls_state.label}  ·  {devices}")
            self._other_names.append(o.username)
        if not others:
            self.others.addItem("No other username of this person is on record; type one if the client has it.")
            self.username.setFocus()
            return
        self.others.setEnabled(True)
        self.others.setFocus()
        self.others.setCurrentRow(0)  # fills the username and lists its devices

    def _other_chosen(self, row: int) -> None:
        names = getattr(self, "_other_names", [])
        if 0 <= row < len(names):
            self.username.setText(names[row])
            self.find_devices()

    def _username_changed(self) -> None:
        self.devices.clear()
        self.status.clear()
        self.completeChanged.emit()

    def find_devices(self) -> None:
        """The other username's devices, read off the GUI thread; dropped if the agent typed another since."""
        self.devices.clear()
        w, username = self.w, self.username.text()

        def found(devices) -> None:
            if self.username.text() != username:
                return  # the agent moved on to another username: its own search answers
            for d in devices:
                self.devices.addItem(d.label + ("  (most protective)" if d.most_protective else ""), d.device_id)

        w.run(self, lambda: w.enrollment.shareable_devices(w.actor, w.user_id, username), found, self.status,
              write=False)

    def isComplete(self) -> bool:
        return self.devices.currentData() is not None and not self.w.busy

    def validatePage(self) -> bool:
        """Start the share off the GUI thread; the wizard moves on by itself once it has started."""
        if self.start is not None and self._started:
            self._started = False
            return True
        if self.w.busy:
            return False
        w, username, device_id = self.w, self.username.text(), self.devices.currentData()

        def started(start: SharedStart) -> None:
            self.start = start
            w.begin(start.device_id, start.kind, start.challenge, start.owner_username)
            self._started = True
            w.next()

        w.run(self, lambda: w.enrollment.start_shared(w.actor, w.user_id, username, device_id,
                                                      expected_version=w.shown_version), started, self.status)
        return False

    def nextId(self) -> int:
        return PAGE_VERIFY
