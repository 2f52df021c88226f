"""Training on demo data: the "Client's devices" window shows what the client would read from their own
devices (an IB Key's current code, a DSC+ response to a challenge, a card's values), so a new agent can finish
every opt-in and activation path without a phone or a card. The training service refuses on real data."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.models.enums import DeviceKind
from console.models.errors import ConsoleError
from console.models.training import CARD_KINDS, ClientDevice
from console.views.change_bus import Changes
from console.views.desk import Desk
from console.views.messages import error_text
from console.views.tables import item_table

COLUMNS = ("Device", "State", "Usernames")


class ClientDevicesWindow(QDialog):
    """Non-modal: the agent keeps it beside the opt-in wizard and reads from it as the client would."""

    def __init__(self, desk: Desk, username: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("clientDevices")
        self.setWindowTitle("Client's devices (training)")
        self.setModal(False)
        self.training, self.actor, self.directory = desk.services.training, desk.actor, desk.services.directory
        self.desk, self.runner = desk, desk.runner
        self._asked = 0  # look-ups asked for: an older answer is dropped
        self._reading_asked = False
        self.devices: list[ClientDevice] = []
        intro = QLabel("Training on demo data: what the client sees on their own devices. Read the code, "
                       "response or card values to the console as the client would on the phone.")
        intro.setWordWrap(True)
        self.username = QLineEdit(username)
        self.username.setObjectName("clientUsername")
        self.username.setAccessibleName("Username of the client")
        self.username.returnPressed.connect(self.reload)
        show = QPushButton("S&how devices")
        show.setObjectName("clientShow")
        show.setAutoDefault(False)
        show.clicked.connect(self.reload)
        who = QHBoxLayout()
        label = QLabel("&Username:")
        label.setBuddy(self.username)
        who.addWidget(label)
        who.addWidget(self.username, 1)
        who.addWidget(show)

        self.table = item_table(COLUMNS, "clientDeviceList", "The client's devices")
        self.table.currentCellChanged.connect(lambda *_: self.show_device())

        self.reading = QLabel()
        self.reading.setObjectName("clientReading")
        self.reading.setWordWrap(True)
        self.reading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        big = QFont(self.reading.font())
        big.setPointSizeF(big.pointSizeF() * 1.4)
        self.reading.setFont(big)
        self.challenge = QLineEdit()
        self.challenge.setObjectName("clientChallenge")
        self.challenge.setAccessibleName("Challenge or index numbers shown by the console")
        self.challenge.textChanged.connect(lambda _: self.show_device())
        self.challenge_label = QLabel("&Challenge:")
        self.challenge_label.setBuddy(self.challenge)
        form = QFormLayout()
        form.addRow(self.challenge_label, self.challenge)
        self.message = QLabel()
        self.message.setObjectName("clientMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b3261e;")

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(who)
        layout.addWidget(self.table, 1)
        layout.addLayout(form)
        layout.addWidget(self.reading)
        layout.addWidget(self.message)
        self.resize(560, 460)
        QShortcut(QKeySequence("Ctrl+W"), self, self.close)
        # The IB Key code changes every 30 seconds: keep the shown code current while the window is open.
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self.show_device)
        self._tick.start()
        if username:
            self.reload()
        self.username.setFocus()

    def reload(self, then: Callable[[], None] | None = None) -> None:
        """List the devices of the username typed (any username of the same person shows the same devices), read
        off the GUI thread; `then` runs once they are listed."""
        self.message.setText("Reading the client's devices…")
        directory, training, actor, name = self.directory, self.training, self.actor, self.username.text()
        self._asked += 1
        asked = self._asked

        def read() -> tuple[int | None, list[ClientDevice]]:
            user_id = directory.find_by_username(name)
            return user_id, ([] if user_id is None else training.devices_of(actor, user_id))

        def listed(result: tuple[int | None, list[ClientDevice]]) -> None:
            if asked == self._asked:  # else a newer look-up answers
                self._listed(name, *result, refusal="")
                if then is not None:
                    then()

        def refused(exc: Exception) -> None:
            if asked == self._asked:
                self._listed(name, 0, [], refusal=error_text(exc))

        self.runner.query(self, read, success=listed, failure=refused)

    def _listed(self, name: str, user_id: int | None, devices: list[ClientDevice], refusal: str) -> None:
        self.devices = devices
        self.message.setText(refusal)
        if user_id is None:
            self.message.setText(f"There is no username {name.strip()!r}.")
        self.table.setRowCount(len(self.devices))
        for i, d in enumerate(self.devices):
            state = d.state.label + (" (locked)" if d.locked else "")
            for j, text in enumerate((d.label, state, ", ".join(d.usernames))):
                self.table.setItem(i, j, QTableWidgetItem(text))
        if self.devices:
            self.table.setCurrentCell(0, 0)
        elif user_id is not None and not self.message.text():
            self.message.setText("This client holds no device yet. Start an opt-in, then show the devices again.")
        self.show_device()

    def on_changes(self, _changes: Changes) -> None:
        """A device issued, shipped or answered elsewhere on the desk: list the client's devices again."""
        if self.isVisible() and self.username.text().strip():
            current = self.selected()

            def reselect() -> None:
                if current is not None:
                    self.select_device(current.id)

            self.reload(reselect)

    def selected(self) -> ClientDevice | None:
        row = self.table.currentRow()
        return self.devices[row] if 0 <= row < len(self.devices) else None

    def select_device(self, device_id: int) -> bool:
        for i, d in enumerate(self.devices):
            if d.id == device_id:
                self.table.setCurrentCell(i, 0)
                return True
        return False

    def show_device(self) -> None:
        """What the selected device shows the client, read off the GUI thread (again every second: the IB Key's
        code changes every 30 seconds)."""
        device = self.selected()
        needs_challenge = device is not None and device.kind is not DeviceKind.ib_key
        self.challenge.setEnabled(needs_challenge)
        self.challenge_label.setText("&Index numbers:" if device is not None and device.kind in CARD_KINDS
                                     else "&Challenge:")
        if device is None:
            self.reading.setText("")
            return
        if self._reading_asked:
            return  # one read at a time; the answer asks again if the agent moved meanwhile
        training, actor, typed = self.training, self.actor, self.challenge.text().strip()
        asked_for = (device.id, typed)

        def read() -> str:
            try:
                if device.kind is DeviceKind.ib_key:
                    code, left = training.ib_key_code(actor, device.id)
                    return f"IB Key app shows: {code}   (next code in {left} s)"
                if device.kind is DeviceKind.dsc_plus:
                    if not typed:
                        return "Type the 6-digit challenge the console shows."
                    return f"DSC+ shows: {training.dsc_response(actor, device.id, typed)}"
                if device.kind in CARD_KINDS:
                    return _card_reading(training.card_values(actor, device.id), typed)
                return f"A {device.kind.label} is read from its letter; there is nothing to show here."
            except ConsoleError as exc:
                return str(exc)

        def arrived(text: str) -> None:
            self._reading_asked = False
            now = self.selected()
            if now is not None and (now.id, self.challenge.text().strip()) == asked_for:
                self.reading.setText(text)
            else:  # the agent chose another device or typed meanwhile: ask for that
                self.show_device()

        def failed(exc: Exception) -> None:
            self._reading_asked = False
            self.reading.setText(error_text(exc))

        self._reading_asked = True
        self.runner.query(self, read, success=arrived, failure=failed)


def _card_reading(values: dict[int, str], typed: str) -> str:
    wanted = [int(p) for p in typed.replace(",", " ").split() if p.isdigit()]
    if len(wanted) != 2:
        return "Type the two index numbers the console shows (for example 12, 57)."
    missing = [p for p in wanted if p not in values]
    if missing:
        return f"The card has no index number {missing[0]}."
    a, b = wanted
    return f"Card values: {a} = {values[a]}, {b} = {values[b]}   (typed together: {values[a]}{values[b]})"
