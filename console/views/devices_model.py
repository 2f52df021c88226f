"""The devices list as a Qt table model over windows of a SQL query (filtered in SQL, never all rows, read off the
GUI thread)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QColor

from console.models.devices import DeviceQuery, DeviceRow, DeviceService
from console.models.enums import ReturnReason
from console.views.formatting import day
from console.views.messages import error_text
from console.views.operations import OperationRunner
from console.views.windowed_model import WindowedTableModel

COLUMNS = ("Kind", "Serial", "State", "Holders", "Account", "Received", "Issued", "Activated", "Due", "Returned")


def _cell(row: DeviceRow, column: int) -> str:
    if column == 0:
        return row.kind.label
    if column == 1:
        return row.serial or "—"
    if column == 2:
        state = row.state_label + (" (locked)" if row.locked else "")
        if row.return_reason is ReturnReason.battery_failure and row.state.name in ("damaged", "return_pending"):
            state += " — battery"
        return state
    if column == 3:
        return ", ".join(row.holders) or "—"
    if column == 4:
        return row.account_number or "—"
    values = (row.received_at, row.issued_at, row.activated_at, row.due_at, row.returned_at)
    return day(values[column - 5])


class DevicesModel(WindowedTableModel):
    """With the desk's runner (the Devices window) every count and window is read off the GUI thread."""

    headers = COLUMNS

    def __init__(self, devices: DeviceService, parent=None, runner: OperationRunner | None = None) -> None:
        super().__init__(parent, runner)
        self._devices = devices
        self._query = DeviceQuery()
        self.in_stock: int | None = None  # DSC+ cards in stock, read with the count
        self.reload()

    @property
    def query(self) -> DeviceQuery:
        return self._query

    def set_query(self, query: DeviceQuery, then: Callable[[], None] | None = None) -> None:
        self._query = query
        self.reload(then)

    def refresh(self, then: Callable[[], None] | None = None) -> None:
        self.reload(then)

    def _reader(self) -> tuple[Callable[[], int], Callable[[int, int], list[DeviceRow]]]:
        devices, query = self._devices, self._query
        return (lambda: devices.count(query)), (lambda offset, limit: devices.window(query, offset, limit))

    def _read_extra(self) -> Callable[[], int]:
        devices = self._devices
        return lambda: devices.in_stock_count()

    def _extra_arrived(self, extra) -> None:
        self.in_stock = extra

    def find_row_of_device(self, device_id: int, then: Callable[[int | None], None]) -> None:
        """The device's row, to `then`: among the windows read so far at once, else one indexed count off the GUI
        thread (never a scan of the rows)."""
        row = self.cached_row_of(device_id)
        if row is not None or self._runner is None:
            then(row)
            return
        devices, query, generation = self._devices, self._query, self._generation

        def arrived(found: int | None) -> None:
            if generation == self._generation:  # else the list changed meanwhile: its own reload answers
                then(found)

        self._runner.query(self._owner, lambda: devices.offset_of(query, device_id), success=arrived,
                           failure=lambda exc: self.load_failed.emit(error_text(exc)))

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            row = self.row_at(index.row())
            return self.placeholder(index) if row is None else _cell(row, index.column())
        if index.column() == 8 and role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.ForegroundRole):
            row = self.row_at(index.row())
            if row is None or row.due_at is None:
                return None
            if role == Qt.ItemDataRole.ForegroundRole:
                return QColor("#b3261e") if row.due_passed else None
            what = "Activation due" if row.state.name == "shipped" else "Return due"
            return what + (" — date passed" if row.due_passed else "")
        return None
