"""The detail pane for the selected user: account, rights holder, devices, restrictions, recent audit."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QColor, QFocusEvent, QPalette
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.models.directory import DeviceSummary, UserDetails, UserDirectory
from console.models.enums import DeviceState
from console.models.limits import UserLimits
from console.views.change_bus import ChangeKind, Changes
from console.views.formatting import SLS_STATE_COLOURS, day, when
from console.views.messages import error_text
from console.views.operations import OperationRunner
from console.views.tables import item_table

# Three columns that wrap rather than scroll sideways, so the pane stays readable at 1024×700: the serial on its own
# line under the kind; the preferred mark and who shares it with the state; both dates in one cell.
DEVICE_COLUMNS = ("Device", "State", "Dates")
AUDIT_COLUMNS = ("When", "Staff", "What")
FIT = "fit"  # a column as wide as its contents; a sample text: a column as wide as that text; None: the rest, shared


def _table(name: str, accessible_name: str, headers: tuple[str, ...], widths: tuple[str | None, ...]) -> QTableWidget:
    """A read-only table that never scrolls sideways: columns sized by `widths`, the others share the rest and wrap
    their words; each row is as tall as its text."""
    t = item_table(headers, name, accessible_name)
    t.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    t.setWordWrap(True)
    t.setTextElideMode(Qt.TextElideMode.ElideRight)  # a word longer than its column: the tooltip has it whole
    header = t.horizontalHeader()
    metrics = t.fontMetrics()
    for column, width in enumerate(widths):
        if width == FIT:
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        elif width is not None:
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
            t.setColumnWidth(column, metrics.horizontalAdvance(width) + 3 * metrics.averageCharWidth())
        else:
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
    t.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return t


def _cell(text: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setToolTip(text)
    return item


def limits_text(limits: UserLimits | None) -> str:
    """One line per active device (the device used at login decides), the best first when they differ."""
    if limits is None:
        return "—"
    if not limits.per_device:
        return f"{limits.best.short} (no security device)"
    lines = [f"{d.label}: {d.limit.short}" for d in limits.per_device]
    if len({d.limit for d in limits.per_device}) > 1:
        lines.insert(0, f"Best: {limits.best.short} (with its most protective device)")
    return "\n".join(lines)


class UserDetailPane(QWidget):
    """The user is read off the GUI thread: the pane says it is reading, acts on nobody meanwhile (`details` is
    None), and drops an answer the agent has moved on from."""

    shown = Signal()  # what the pane shows changed: a user's details arrived, or it shows none (or is reading)

    def __init__(self, directory: UserDirectory, parent: QWidget | None, runner: OperationRunner) -> None:
        super().__init__(parent)
        self.setObjectName("userDetail")
        self._directory = directory
        self._runner = runner
        self._asked = 0  # the newest read asked for; an older one's answer is dropped
        self.loading = False
        self.details: UserDetails | None = None

        self.heading = QLabel("Select a user to see their SLS state and devices.")
        self.heading.setObjectName("detailHeading")
        self.heading.setWordWrap(True)
        self.heading.setStyleSheet("font-size: 15pt; font-weight: 600;")

        self.fields: dict[str, QLabel] = {}
        form = QFormLayout()
        # Narrow pane (1024×700): a long value (the withdrawal limits) goes under its label, using the full width.
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        for key, label in (("account", "Account"), ("role", "Role"), ("state", "SLS state"),
                           ("rights", "Security rights"), ("restrictions", "Restrictions"),
                           ("limits", "Withdrawal limits")):
            value = QLabel("—")
            value.setObjectName(f"detail_{key}")
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.fields[key] = value
            form.addRow(f"{label}:", value)
        summary = QGroupBox("User")
        summary.setLayout(form)

        self.devices = _table("detailDevices", "The user's security devices", DEVICE_COLUMNS,
                              ("DSC000000000", None, None))
        self.devices.installEventFilter(self)
        devices_box = QGroupBox("Security devices")
        QVBoxLayout(devices_box).addWidget(self.devices)

        self.audit = _table("detailAudit", "The user's recent audit entries", AUDIT_COLUMNS, (FIT, FIT, None))
        audit_box = QGroupBox("Recent audit entries")
        QVBoxLayout(audit_box).addWidget(self.audit)

        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(summary)
        layout.addWidget(devices_box, 3)
        layout.addWidget(audit_box, 2)
        self.show_user(None)

    def shows_changed(self, changes: Changes) -> bool:
        """Whether `changes` touch the user shown, or one of its devices."""
        d = self.details
        if d is None:
            return False
        return changes.touches(ChangeKind.users, d.id) or any(
            changes.touches(ChangeKind.devices, dev.id) for dev in d.devices) or changes.touches(ChangeKind.audit)

    def reload(self) -> None:
        """Read the shown user again, keeping the selected device and the scroll positions."""
        if self.details is None:
            return
        row = self.devices.currentRow()
        device_id = self.details.devices[row].id if 0 <= row < len(self.details.devices) else None
        scroll = (self.devices.verticalScrollBar().value(), self.audit.verticalScrollBar().value())

        def restore() -> None:
            if device_id is not None:
                self.select_device(device_id)
            self.devices.verticalScrollBar().setValue(scroll[0])
            self.audit.verticalScrollBar().setValue(scroll[1])

        self.show_user(self.details.id, then=restore)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        """Tabbing into the devices with none selected selects the first, so the Devices menu has one to act on."""
        if (watched is self.devices and event.type() == QEvent.Type.FocusIn and isinstance(event, QFocusEvent)
                and event.reason() in (Qt.FocusReason.TabFocusReason, Qt.FocusReason.BacktabFocusReason)
                and self.devices.currentRow() < 0 and self.devices.rowCount()):
            self.devices.selectRow(0)
        return super().eventFilter(watched, event)

    def selected_device(self) -> DeviceSummary | None:
        """The device selected in the devices table, or None."""
        row = self.devices.currentRow()
        if self.details is None or not 0 <= row < len(self.details.devices):
            return None
        return self.details.devices[row]

    def select_device(self, device_id: int) -> bool:
        for i, d in enumerate(self.details.devices if self.details else ()):
            if d.id == device_id:
                self.devices.selectRow(i)
                self.devices.setCurrentCell(i, 0)
                return True
        return False

    def show_user(self, user_id: int | None, then: Callable[[], None] | None = None) -> None:
        """Show a user (None: nobody); `then` runs once the user is on screen."""
        self._asked += 1
        if user_id is None:
            self.loading = False
            self._show(None)
            if then is not None:
                then()
            self.shown.emit()
            return
        asked, directory = self._asked, self._directory
        if self.details is None or self.details.id != user_id:
            self._show(None)  # another user: nothing of the previous one stays to be acted on
            self.heading.setText("Reading the user…")
        self.loading = True
        self.shown.emit()

        def arrived(details: UserDetails) -> None:
            if asked != self._asked:
                return  # the agent moved on: the newer read answers
            self.loading = False
            self._show(details)
            if then is not None:
                then()
            self.shown.emit()

        def failed(exc: Exception) -> None:
            if asked != self._asked:
                return
            self.loading = False
            self._show(None)
            self.heading.setText(error_text(exc))  # said once, where the user would have been shown
            self.shown.emit()

        self._runner.query(self, lambda: directory.details(user_id), success=arrived, failure=failed)

    def _show(self, details: UserDetails | None) -> None:
        same_user = self.details is not None and details is not None and details.id == self.details.id
        kept = self.selected_device() if same_user else None
        self.details = d = details
        if d is None:
            self.heading.setText("Select a user to see their SLS state and devices.")
            for label in self.fields.values():
                label.setText("—")
            self.devices.setRowCount(0)
            self.audit.setRowCount(0)
            return
        self.heading.setText(f"{d.full_name}  ·  {d.username}")
        self.fields["account"].setText(f"{d.account_number} — {d.account_title} ({d.account_kind})")
        self.fields["role"].setText(d.role.value.capitalize())
        self.fields["state"].setText(d.sls_state.label)
        self.fields["state"].setStyleSheet(f"color: {SLS_STATE_COLOURS[d.sls_state]}; font-weight: 600;")
        if d.holds_rights:
            rights = "Holds the account's security rights"
        elif d.rights_holder_username:
            rights = f"Held by {d.rights_holder_name} ({d.rights_holder_username})"
        else:
            rights = "No holder on record"
        self.fields["rights"].setText(rights)
        self.fields["restrictions"].setText("\n".join(r.label for r in d.restrictions) or "None")
        self.fields["limits"].setText(limits_text(d.limits))
        self.devices.setRowCount(len(d.devices))
        history = QColor(self.palette().color(QPalette.ColorRole.PlaceholderText))
        for i, dev in enumerate(d.devices):  # in use first, then the device history (lost, revoked, returned…)
            state = dev.state_label + (" (locked)" if dev.locked else "") + (
                " · preferred" if dev.preferred and dev.in_use else "") + (
                f"\nShared with {', '.join(dev.shared_with)}" if dev.shared_with else "")
            dates = "\n".join(t for t in (f"Activated {day(dev.activated_at)}" if dev.activated_at else "",
                                           _due_text(dev)) if t) or "—"
            cells = (f"{dev.kind_label}\n{dev.serial}" if dev.serial else dev.kind_label, state, dates)
            for j, text in enumerate(cells):
                item = _cell(text)
                if not dev.in_use:  # device history: greyed, below the devices in use
                    item.setForeground(history)
                    item.setToolTip("Device history: no longer in use")
                if j == len(cells) - 1 and dev.due_passed:
                    item.setForeground(QColor("#b3261e"))
                    item.setToolTip("The date has passed")
                self.devices.setItem(i, j, item)
        # The same user read again: the device the agent had selected stays selected wherever its row moved
        # (an ended device goes below the devices in use), so the next decision is about the same device.
        if kept is None or not self.select_device(kept.id):
            self.devices.setCurrentCell(-1, -1)
        self.audit.setRowCount(len(d.recent_audit))
        for i, entry in enumerate(d.recent_audit):
            for j, text in enumerate((when(entry.at), entry.actor, entry.summary)):
                self.audit.setItem(i, j, _cell(text))


def _due_text(dev: DeviceSummary) -> str:
    """As the Devices window names it: what is due and by when (marked when passed), else the expiry."""
    if dev.due_at is not None:
        what = "Activate by" if dev.state is DeviceState.shipped else "Return by"
        return f"{what} {day(dev.due_at)}" + (" — passed" if dev.due_passed else "")
    return f"Expires {day(dev.expires_at)}" if dev.expires_at is not None else ""
