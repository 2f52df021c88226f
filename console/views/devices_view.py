"""The devices screen: every device with kind, serial, state, holders and dates; DSC+ stock, shipping,
activation, loss, replacement, returns and the overdue run."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from console.models.charges import money
from console.models.devices import DeviceQuery, DeviceRow
from console.models.enums import DeviceKind, DeviceState
from console.models.permissions import Permission
from console.views.change_bus import ChangeKind, Changes
from console.views.conventions import keyboard_conventions
from console.views.desk import Desk
from console.views.device_dialogs import (
    ActivateDialog,
    ConfirmDialog,
    ReceiveReturnDialog,
    ReceiveStockDialog,
    ReplacementDialog,
    ReportDialog,
    ShareDialog,
    ShipDialog,
    info,
    unlock_dialog,
)
from console.views.devices_model import DevicesModel
from console.views.messages import show_error
from console.views.permitted import PermittedAction, hide_empty_menus
from console.views.tables import list_table, set_column_widths

FILTER_DELAY_MS = 250
REPORTABLE = {DeviceState.active, DeviceState.shipped, DeviceState.pending}
RECEIVABLE = {DeviceState.return_pending, DeviceState.damaged, DeviceState.lost, DeviceState.stolen}


class DevicesWindow(QMainWindow):
    def __init__(self, desk: Desk, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("devicesWindow")
        self.setWindowTitle("Devices and stock — SLS Console")
        self.desk = desk
        services = self.services = desk.services
        self.actor = desk.actor
        self.dialog = None  # the dialog last opened (tests drive it)
        self.last_message = None
        self.confirm_box: QMessageBox | None = None
        self.model = DevicesModel(services.devices, self, desk.runner)  # read off the GUI thread

        self.kind_combo = QComboBox()
        self.kind_combo.setObjectName("deviceKindFilter")
        self.kind_combo.setAccessibleName("Filter devices by kind")
        self.kind_combo.addItem("All kinds", None)
        for kind in DeviceKind:
            self.kind_combo.addItem(kind.label, kind)
        self.state_combo = QComboBox()
        self.state_combo.setObjectName("deviceStateFilter")
        self.state_combo.setAccessibleName("Filter devices by state")
        self.state_combo.addItem("All states", None)
        for state in DeviceState:
            self.state_combo.addItem(state.label, state)
        self.serial_edit = QLineEdit()
        self.serial_edit.setObjectName("deviceSerialFilter")
        self.serial_edit.setAccessibleName("Filter devices by serial number prefix")
        self.serial_edit.setPlaceholderText("Serial starts with… (e.g. DSC0001)")
        self.serial_edit.setClearButtonEnabled(True)
        self.overdue_check = QCheckBox("&Overdue returns only")
        self.overdue_check.setObjectName("deviceOverdueFilter")
        self.overdue_check.setAccessibleName("Show only devices past their return date")
        self.required_check = QCheckBox("Re&quired at login")
        self.required_check.setObjectName("deviceRequiredFilter")
        self.required_check.setAccessibleName("Show only mailed cards not activated within their window")
        self.required_check.setToolTip("Mailed cards not activated within their activation window: the client "
                                       "now needs them to log in")
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FILTER_DELAY_MS)
        self._timer.timeout.connect(self.apply_filter)
        self.serial_edit.textChanged.connect(lambda _: self._timer.start())
        self.serial_edit.returnPressed.connect(self._go_to_first_match)
        self.kind_combo.currentIndexChanged.connect(lambda _: self.apply_filter())
        self.state_combo.currentIndexChanged.connect(lambda _: self.apply_filter())
        self.overdue_check.toggled.connect(lambda _: self.apply_filter())
        self.required_check.toggled.connect(lambda _: self.apply_filter())
        bar = QHBoxLayout()
        for text, widget in (("&Kind:", self.kind_combo), ("S&tate:", self.state_combo),
                             ("S&erial:", self.serial_edit)):
            label = QLabel(text)
            label.setBuddy(widget)
            bar.addWidget(label)
            bar.addWidget(widget, 1 if widget is self.serial_edit else 0)
        bar.addWidget(self.overdue_check)
        bar.addWidget(self.required_check)

        t = list_table(self.model, "devicesTable", "Devices")
        set_column_widths(t, (150, 120, 200, 160, 90, 90, 90, 90, 90, 90))
        t.selectionModel().currentRowChanged.connect(self._on_current)
        self.table = t
        self.model.reloaded.connect(self._update)
        self.model.dataChanged.connect(lambda *_: self._update())  # the selected row's window arrived
        self.model.load_failed.connect(lambda text: self.statusBar().showMessage(
            f"The devices could not be read: {text}", 15000))

        self.summary = QLabel()
        self.summary.setObjectName("devicesSummary")
        self.summary.setText("Reading the devices…")
        self.selected_label = QLabel("Select a device to act on it.")
        self.selected_label.setObjectName("selectedDevice")
        self.selected_label.setWordWrap(True)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addLayout(bar)
        layout.addWidget(t, 1)
        layout.addWidget(self.selected_label)
        layout.addWidget(self.summary)
        self.setCentralWidget(central)
        self._build_actions()
        self._update()
        desk.bus.changed.connect(self.on_changes)
        self.statusBar()  # where the window says what was done
        keyboard_conventions(self)
        self.resize(1280, 720)

    def on_changes(self, changes: Changes) -> None:
        """Another window (or desk) changed devices, stock or holders: show it, keeping selection and scroll."""
        if any(changes.touches(k) for k in (ChangeKind.devices, ChangeKind.stock, ChangeKind.users)):
            self.refresh()

    # --- actions ---------------------------------------------------------------------------------
    def _action(self, text: str, shortcut, tip: str, slot, name: str, permission: Permission) -> PermittedAction:
        return self.desk.actions.make(self, text, shortcut, tip, slot, name, permission)

    def _build_actions(self) -> None:
        a = self._action
        self.receive_stock_action = a("&Receive stock…", "Ctrl+Shift+R", "Receive DSC+ cards into stock, one or a "
                                      "batch", self.receive_stock, "receiveStock", Permission.manage_stock)
        self.ship_action = a("&Ship to user…", "Ctrl+Shift+S", "Ship the selected card from stock to a user",
                             self.ship, "shipDevice", Permission.manage_stock)
        self.activate_action = a("&Activate…", "Ctrl+Shift+A", "Activate the selected shipped card with its "
                                 "challenge response", self.activate, "activateDevice", Permission.manage_devices)
        self.share_action = a("S&hare with username…", "Ctrl+Shift+H", "Share the selected device with another "
                              "username of the same person", self.share, "shareDevice", Permission.manage_devices)
        self.report_action = a("Report &lost, stolen or damaged…", "Ctrl+Shift+L", "Mark the selected device lost, "
                               "stolen, damaged or failed by its battery", self.report, "reportDevice",
                               Permission.manage_devices)
        self.replace_action = a("Order re&placement…", "Ctrl+Shift+P", "Ship a DSC+ from stock to replace the "
                                "selected reported card", self.replace, "orderReplacement", Permission.manage_devices)
        self.revoke_action = a("Re&voke…", "Ctrl+Shift+V", "Take the selected device out of service (a DSC+ is then "
                               "due back)", self.revoke, "revokeDevice", Permission.manage_devices)
        self.receive_return_action = a("Receive re&turn…", "Ctrl+Shift+T", "Record a card that came back and "
                                       "release its reserve", self.receive_return, "receiveReturn",
                                       Permission.receive_returns)
        self.overdue_action = a("Charge &overdue returns", "Ctrl+Shift+O", "Charge the fee for every device past "
                                "its return date that is not charged yet (safe to repeat)", self.charge_overdue,
                                "chargeOverdue", Permission.run_overdue)
        self.unlock_action = a("&Unlock…", "Ctrl+Shift+U", "Unlock the selected device, locked after too many "
                               "wrong codes (verify the client's identity first)", self.unlock, "unlockDevice",
                               Permission.unlock_device)
        self.refresh_action = a("Re&fresh", QKeySequence.StandardKey.Refresh, "Reload the devices list",
                                self.refresh, "refreshDevices", Permission.view)
        self.close_action = a("&Close", "Ctrl+W", "Close the devices window (Esc)", self.close, "closeDevices",
                              Permission.view)
        menu = self.menuBar().addMenu("&Device")
        for action in (self.activate_action, self.share_action, self.unlock_action, self.report_action,
                       self.replace_action, self.revoke_action):
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.close_action)
        stock = self.menuBar().addMenu("&Stock and returns")
        for action in (self.receive_stock_action, self.ship_action, self.receive_return_action,
                       self.overdue_action):
            stock.addAction(action)
        view = self.menuBar().addMenu("&View")
        view.addAction(self.refresh_action)
        self.toolbar = self.addToolBar("Devices")
        self.toolbar.setObjectName("devicesToolbar")
        for action in (self.receive_stock_action, self.ship_action, self.activate_action, self.report_action,
                       self.replace_action, self.receive_return_action, self.overdue_action, self.refresh_action):
            self.toolbar.addAction(action)
        hide_empty_menus(self.menuBar())

    # --- state -----------------------------------------------------------------------------------
    def current_row(self) -> DeviceRow | None:
        index = self.table.currentIndex()
        return self.model.row_at(index.row()) if index.isValid() else None

    def select_device(self, device_id: int, then: Callable[[bool], None] | None = None) -> bool:
        """Select a device if the list shows it: its row comes from a query, not from reading the rows in turn
        (the list may hold a million devices). Among the rows read so far it is selected at once (True); else its
        row is asked off the GUI thread and selected when the answer comes (False now). `then` is told whether it
        was found."""
        done = []

        def found(r: int | None) -> None:
            if r is not None:
                self.table.selectRow(r)
                self.table.setCurrentIndex(self.model.index(r, 0))
                self.table.scrollTo(self.model.index(r, 0))
            done.append(r is not None)
            if then is not None:
                then(r is not None)

        self.model.find_row_of_device(device_id, found)
        return bool(done and done[0])

    def show_query(self, query: DeviceQuery, device_id: int | None = None) -> None:
        """Show the devices of `query` (the filters follow), selecting `device_id` when it is among them."""
        for combo, value in ((self.kind_combo, query.kind), (self.state_combo, query.state)):
            combo.blockSignals(True)
            combo.setCurrentIndex(max(combo.findData(value), 0) if value is not None else 0)
            combo.blockSignals(False)
        for widget, apply in ((self.overdue_check, lambda: self.overdue_check.setChecked(query.overdue)),
                              (self.serial_edit, lambda: self.serial_edit.setText(query.serial_prefix))):
            widget.blockSignals(True)
            apply()
            widget.blockSignals(False)
        self.apply_filter(None if device_id is None else lambda: self.select_device(device_id))

    def apply_filter(self, then: Callable[[], None] | None = None) -> None:
        """Show the devices of the filters (read off the GUI thread: the rows shown stay until the new ones land);
        `then` runs once they are there."""
        self._timer.stop()
        self.summary.setText("Reading the devices…")
        self.model.set_query(DeviceQuery(self.kind_combo.currentData(), self.state_combo.currentData(),
                                         self.serial_edit.text(), self.overdue_check.isChecked(),
                                         self.required_check.isChecked()), then)

    def _go_to_first_match(self) -> None:
        """Enter in the serial box: find now (a query, not a scan of the rows) and put the agent on the first."""
        def first() -> None:
            if self.model.rowCount():
                self.table.setFocus()
                self.table.selectRow(0)
                self.table.setCurrentIndex(self.model.index(0, 0))

        self.apply_filter(first)

    def refresh(self) -> None:
        """Read the list again off the GUI thread, keeping the selected device and the scroll position."""
        row = self.current_row()
        scroll = self.table.verticalScrollBar().value()

        def restore() -> None:
            if row is not None:
                self.select_device(row.id)
            self.table.verticalScrollBar().setValue(scroll)

        self.model.refresh(restore)

    def _on_current(self, _current: QModelIndex, _previous: QModelIndex) -> None:
        self._update()

    def _update(self) -> None:
        row = self.current_row()
        dsc = row is not None and row.kind is DeviceKind.dsc_plus
        state = row.state if row is not None else None
        rules = {
            "shipDevice": dsc and state is DeviceState.in_stock,
            "activateDevice": dsc and state is DeviceState.shipped,
            "shareDevice": state is DeviceState.active and row is not None and not row.kind.is_temporary,
            "reportDevice": state in REPORTABLE and row is not None and not row.kind.is_temporary,
            "orderReplacement": dsc and state in (DeviceState.lost, DeviceState.stolen, DeviceState.damaged),
            "revokeDevice": state in REPORTABLE,
            "unlockDevice": row is not None and row.locked,
        }
        for action in self.findChildren(PermittedAction):
            action.setEnabled(rules.get(action.objectName(), True))
        if self.model.in_stock is not None:  # else still reading: the summary says so
            self.summary.setText(f"{self.model.rowCount():,} devices shown   ·   DSC+ in stock: "
                                 f"{self.model.in_stock:,}")
        if row is None:
            self.selected_label.setText("Select a device to act on it.")
        else:
            holders = ", ".join(row.holders) or "nobody"
            self.selected_label.setText(f"{row.kind.label} {row.serial or ''} — {row.state.label}, held by "
                                        f"{holders}" + (f", account {row.account_number}" if row.account_number
                                                        else ""))

    # --- operations ------------------------------------------------------------------------------
    def _open(self, dialog) -> None:
        self.dialog = dialog  # what it changes comes back on the change bus
        dialog.open()

    def receive_stock(self) -> None:
        self._open(ReceiveStockDialog(self.desk, self))

    def ship(self) -> None:
        row = self.current_row()
        if row is not None:
            self._open(ShipDialog(self.desk, row.id, row.serial, self, version=row.version))

    def activate(self) -> None:
        row = self.current_row()
        if row is not None:
            self._open(ActivateDialog(self.desk, row.id, row.serial, self))

    def share(self) -> None:
        row = self.current_row()
        if row is not None:
            self._open(ShareDialog(self.desk, row.id, row.kind, f"{row.kind.label} {row.serial or ''}".strip(),
                                   self))

    def report(self) -> None:
        row = self.current_row()
        if row is not None:
            self._open(ReportDialog(self.desk, row.id, f"{row.kind.label} {row.serial or ''}".strip(), parent=self))

    def replace(self) -> None:
        row = self.current_row()
        if row is None:
            return
        self._open(ReplacementDialog(self.desk, row.id, row.serial, self))

    def revoke(self) -> None:
        row = self.current_row()
        if row is None:
            return
        label = f"{row.kind.label} {row.serial or ''}".strip()
        then = " It is then due back by mail." if row.kind is DeviceKind.dsc_plus else ""
        holders = ", ".join(row.holders) or "nobody"
        self._open(ConfirmDialog(self.desk, f"Revoke {label}",
                                 f"Take {label} (held by {holders}) out of service?{then}",
                                 lambda: self.services.devices.revoke(self.actor, row.id,
                                                                      expected_version=row.version), "revokeConfirm",
                                 "Revoke", self, changes=Changes.of(devices=[row.id], kinds=[ChangeKind.users]),
                                 done=f"{label} revoked; {holders} can no longer use it.{then}"))

    def unlock(self) -> None:
        row = self.current_row()
        if row is not None and row.locked:
            self._open(unlock_dialog(self.desk, row.id, f"{row.kind.label} {row.serial or ''}".strip(),
                                     ", ".join(row.holders) or "nobody", self, version=row.version))

    def receive_return(self) -> None:
        row = self.current_row()
        serial = row.serial if row is not None and row.state in RECEIVABLE and row.serial else ""
        self._open(ReceiveReturnDialog(self.desk, serial, self, version=row.version if serial and row else None))

    def charge_overdue(self) -> None:
        """Ask first, naming how many devices are past their return date and the fee, then charge."""
        def ask(found) -> None:
            count, fee = found
            box = QMessageBox(QMessageBox.Icon.Question, "Charge overdue returns",
                              f"Charge the fee for {count} device(s) past their return date (a DSC+: {fee})? Those "
                              f"already charged are not charged again.",
                              QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
            box.setObjectName("confirmBox")
            box.button(QMessageBox.StandardButton.Yes).setText("Charge")
            box.setDefaultButton(QMessageBox.StandardButton.No)
            box.accepted.connect(self._charge_overdue)
            self.confirm_box = box
            box.open()

        def refused(exc: Exception) -> None:
            self.last_message = show_error(self, exc)

        self.desk.runner.query(self, lambda: (self.services.devices.count(DeviceQuery(overdue=True)),
                                              money(self.services.settings.figures().dsc_plus_fee_cents)),
                               success=ask, failure=refused)

    def _charge_overdue(self) -> None:
        def charged(result) -> None:
            self.last_message = info(self, "Overdue returns",
                                     f"{result.charged} device(s) charged {money(result.amount_cents)} in total; "
                                     f"{result.already_charged} had been charged before and were not charged "
                                     f"again.", "overdueResult")

        def refused(exc: Exception) -> None:
            self.last_message = show_error(self, exc)

        self.desk.runner.write(self, lambda: self.services.returns.charge_overdue(self.actor),
                               changes=Changes.of(kinds=[ChangeKind.devices, ChangeKind.charges]), success=charged,
                               failure=refused)
