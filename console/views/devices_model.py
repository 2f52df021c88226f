"""The devices list as a Qt table model over windows of a SQL query (filtered in SQL, never all rows)."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QColor

from console.models.devices import DeviceQuery, DeviceRow, DeviceService
from console.models.enums import ReturnReason
from console.views.formatting import day
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
    headers = COLUMNS

    def __init__(self, devices: DeviceService, parent=None) -> None:
        super().__init__(parent)
        self._devices = devices
        self._query = DeviceQuery()
        self._count = self._read_count()

    @property
    def query(self) -> DeviceQuery:
        return self._query

    def set_query(self, query: DeviceQuery) -> None:
        self._query = query
        self.reload()

    def refresh(self) -> None:
        self.reload()

    def _read_count(self) -> int:
        return self._devices.count(self._query)

    def _read_window(self, offset: int, limit: int) -> list[DeviceRow]:
        return self._devices.window(self._query, offset, limit)

    def row_of_device(self, device_id: int) -> int | None:
        """The device's row: among the windows read so far, else asked of the database (one indexed count)."""
        row = self.cached_row_of(device_id)
        return row if row is not None else self._devices.offset_of(self._query, device_id)

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            row = self.row_at(index.row())
            return None if row is None else _cell(row, index.column())
        if index.column() == 8 and role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.ForegroundRole):
            row = self.row_at(index.row())
            if row is None or row.due_at is None:
                return None
            if role == Qt.ItemDataRole.ForegroundRole:
                return QColor("#b3261e") if row.due_passed else None
            what = "Activation due" if row.state.name == "shipped" else "Return due"
            return what + (" — date passed" if row.due_passed else "")
        return None
