"""The charges screen: an account's charges (pending, billed, waived), waiving with a reason, billing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.models.charges import ChargeRow, ChargeService
from console.models.enums import ChargeStatus
from console.models.permissions import Permission
from console.views.change_bus import ChangeKind, Changes
from console.views.conventions import keyboard_conventions
from console.views.desk import Desk
from console.views.device_dialogs import ConfirmDialog, WaiveDialog
from console.views.formatting import day, money
from console.views.messages import show_error
from console.views.operations import OperationRunner
from console.views.permitted import PermittedAction, hide_empty_menus
from console.views.tables import list_table, set_column_widths
from console.views.windowed_model import WindowedTableModel

COLUMNS = ("Date", "Account", "Device", "What", "Amount", "Status", "By", "Waived because")


class ChargesModel(WindowedTableModel):
    """Charges of one account (or all), newest first, a window at a time, filtered in SQL; with the desk's runner
    the count, the account's totals and every window are read off the GUI thread."""

    headers = COLUMNS

    def __init__(self, charges: ChargeService, parent=None, runner: OperationRunner | None = None) -> None:
        super().__init__(parent, runner)
        self._charges = charges
        self.account_id: int | None = None
        self.status: ChargeStatus | None = None
        self.totals: dict[ChargeStatus, int] | None = None  # of the account shown, read with the count
        self.refresh()

    def set_filter(self, account_id: int | None, status: ChargeStatus | None,
                   then: Callable[[], None] | None = None) -> None:
        self.account_id, self.status = account_id, status
        self.refresh(then)

    def refresh(self, then: Callable[[], None] | None = None) -> None:
        self.reload(then)

    def _reader(self) -> tuple[Callable[[], int], Callable[[int, int], list[ChargeRow]]]:
        charges, account_id, status = self._charges, self.account_id, self.status
        return ((lambda: charges.count(account_id, status)),
                (lambda offset, limit: charges.window(account_id, status, offset, limit)))

    def _read_extra(self) -> Callable[[], Any]:
        charges, account_id = self._charges, self.account_id
        return (lambda: None) if account_id is None else (lambda: charges.totals(account_id))

    def _extra_arrived(self, extra: Any) -> None:
        self.totals = extra

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            c = self.row_at(index.row())
            if c is None:
                return self.placeholder(index)
            by = c.waived_by if c.status is ChargeStatus.waived else c.created_by
            return (day(c.created_at), c.account_number, c.device_serial or "—", c.description,
                    money(c.amount_cents, c.currency), c.status.value.capitalize(), by,
                    c.waived_reason or "")[index.column()]
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == 4:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class ChargesWindow(QMainWindow):
    def __init__(self, desk: Desk, account_number: str = "", parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("chargesWindow")
        self.setWindowTitle("Charges — SLS Console")
        self.desk = desk
        services = self.services = desk.services
        self.actor = desk.actor
        self.dialog = None
        self.last_message = None
        self.model = ChargesModel(services.charges, self, desk.runner)  # read off the GUI thread

        self.account_edit = QLineEdit(account_number)
        self.account_edit.setObjectName("chargesAccount")
        self.account_edit.setAccessibleName("Account number")
        self.account_edit.setPlaceholderText("Account number, e.g. U1234567 (blank: all accounts)")
        self.account_edit.returnPressed.connect(self._go_to_first_charge)
        self.show_button = QPushButton("&Show")
        self.show_button.setObjectName("chargesShow")
        self.show_button.clicked.connect(lambda: self.apply_filter())
        self.status_combo = QComboBox()
        self.status_combo.setObjectName("chargesStatus")
        self.status_combo.setAccessibleName("Filter charges by status")
        self.status_combo.addItem("All statuses", None)
        for status in ChargeStatus:
            self.status_combo.addItem(status.value.capitalize(), status)
        self.status_combo.currentIndexChanged.connect(lambda _: self.apply_filter())
        bar = QHBoxLayout()
        label = QLabel("&Account:")
        label.setBuddy(self.account_edit)
        bar.addWidget(label)
        bar.addWidget(self.account_edit, 1)
        bar.addWidget(self.show_button)
        status_label = QLabel("S&tatus:")
        status_label.setBuddy(self.status_combo)
        bar.addWidget(status_label)
        bar.addWidget(self.status_combo)

        t = list_table(self.model, "chargesTable", "Charges")
        set_column_widths(t, (90, 90, 120, 300, 100, 80, 80))
        t.selectionModel().currentRowChanged.connect(lambda *_: self._update())
        self.table = t
        self.totals = QLabel("Reading the charges…")
        self.totals.setObjectName("chargesTotals")
        self._asked = 0  # account look-ups asked for: an older answer is dropped
        self.model.reloaded.connect(self._update)
        self.model.dataChanged.connect(lambda *_: self._update())  # the selected row's window arrived
        self.model.load_failed.connect(lambda text: self.statusBar().showMessage(text))

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addLayout(bar)
        layout.addWidget(t, 1)
        layout.addWidget(self.totals)
        self.setCentralWidget(central)

        self.waive_action = self._action("&Waive…", "Ctrl+Shift+W", "Waive the selected pending charge, giving a "
                                         "reason", self.waive, "waiveCharge", Permission.waive_charges)
        self.bill_action = self._action("Mark &billed", "Ctrl+Shift+B", "Mark the selected pending charge as handed "
                                        "to billing", self.mark_billed, "markBilled", Permission.waive_charges)
        self.refresh_action = self._action("Re&fresh", QKeySequence.StandardKey.Refresh, "Reload the charges",
                                           self.refresh, "refreshCharges", Permission.view)
        self.close_action = self._action("&Close", "Ctrl+W", "Close the charges window (Esc)", self.close,
                                         "closeCharges", Permission.view)
        menu = self.menuBar().addMenu("C&harge")
        for action in (self.waive_action, self.bill_action, self.refresh_action):
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.close_action)
        hide_empty_menus(self.menuBar())
        toolbar = self.addToolBar("Charges")
        toolbar.setObjectName("chargesToolbar")
        for action in (self.waive_action, self.bill_action, self.refresh_action):
            toolbar.addAction(action)
        if account_number:
            self.apply_filter()
        self._update()
        desk.bus.changed.connect(self.on_changes)
        self.statusBar()  # where the window says what was done
        keyboard_conventions(self)
        self.resize(1100, 560)

    def _action(self, text, shortcut, tip, slot, name, permission: Permission) -> PermittedAction:
        return self.desk.actions.make(self, text, shortcut, tip, slot, name, permission)

    def on_changes(self, changes: Changes) -> None:
        """Charges (or devices, whose reserves and fees are charges) changed somewhere: show them now."""
        if changes.touches(ChangeKind.charges) or changes.touches(ChangeKind.devices):
            self.refresh()

    def show_status(self, status: ChargeStatus | None) -> None:
        """Every account's charges of `status` (None: all)."""
        self.account_edit.setText("")
        self.status_combo.blockSignals(True)
        self.status_combo.setCurrentIndex(max(self.status_combo.findData(status), 0) if status is not None else 0)
        self.status_combo.blockSignals(False)
        self.apply_filter()

    def show_account(self, number: str) -> None:
        self.account_edit.setText(number)
        self.apply_filter()

    def current_charge(self) -> ChargeRow | None:
        index = self.table.currentIndex()
        return self.model.row_at(index.row()) if index.isValid() else None

    def apply_filter(self, then: Callable[[], None] | None = None) -> None:
        """Show the charges of the account typed and the status chosen, read off the GUI thread (the rows shown stay
        until the new ones land); `then` runs once they are there. An unknown account is said once and changes
        nothing."""
        text = self.account_edit.text().strip()
        status = self.status_combo.currentData()
        self._asked += 1
        asked = self._asked
        self.totals.setText("Reading the charges…")

        def filter_by(account_id: int | None) -> None:
            if asked == self._asked:  # else a newer filter answers
                self.model.set_filter(account_id, status, then)

        def refused(exc: Exception) -> None:
            if asked == self._asked:
                self._update()
                self.last_message = show_error(self, exc)

        if not text:
            filter_by(None)
            return
        charges = self.services.charges
        self.desk.runner.query(self, lambda: charges.account_id_for(text), success=filter_by, failure=refused)

    def _go_to_first_charge(self) -> None:
        """Enter in the account box: show its charges and put the agent on the first one."""
        def first() -> None:
            if self.model.rowCount():
                self.table.setFocus()
                self.select_row(0)

        self.apply_filter(first)

    def refresh(self) -> None:
        """Read the charges again off the GUI thread, keeping the selected charge and the scroll position."""
        current = self.current_charge()
        scroll = self.table.verticalScrollBar().value()

        def restore() -> None:
            if current is not None:
                row = self.model.cached_row_of(current.id)
                if row is not None:
                    self.select_row(row)
            self.table.verticalScrollBar().setValue(scroll)

        self.model.refresh(restore)

    def select_row(self, row: int) -> None:
        self.table.selectRow(row)
        self.table.setCurrentIndex(self.model.index(row, 0))

    def _update(self) -> None:
        c = self.current_charge()
        pending = c is not None and c.status is ChargeStatus.pending
        self.waive_action.setEnabled(pending)
        self.bill_action.setEnabled(pending)
        if self.model.loading:
            self.totals.setText("Reading the charges…")
        elif self.model.account_id is None:
            self.totals.setText(f"{self.model.rowCount():,} charges shown (all accounts). Enter an account number "
                                f"to see its totals.")
        elif self.model.totals is not None:
            totals = self.model.totals
            self.totals.setText(f"{self.model.rowCount():,} charges shown   ·   " + "   ·   ".join(
                f"{status.value.capitalize()}: {money(totals[status])}" for status in ChargeStatus))

    def waive(self) -> None:
        c = self.current_charge()
        if c is None:
            return
        self.dialog = WaiveDialog(self.desk, c, self)
        self.dialog.open()

    def mark_billed(self) -> None:
        c = self.current_charge()
        if c is None:
            return
        amount = money(c.amount_cents, c.currency)
        self.dialog = ConfirmDialog(self.desk, "Mark billed",
                                    f"Hand {amount} on {c.account_number} ({c.description}) "
                                    f"to billing? A billed charge can no longer be waived here.",
                                    lambda: self.services.charges.mark_billed(self.actor, [c.id]), "billConfirm",
                                    "Mark billed", self, changes=Changes.of(charges=[c.id]),
                                    done=f"{amount} on {c.account_number} handed to billing.")
        self.dialog.open()
