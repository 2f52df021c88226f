"""The devices list as a Qt table model over windows of a SQL query (filtered in SQL, never all rows)."""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QColor

from console.models.devices import DeviceQuery, DeviceRow, DeviceService
from console.views.formatting import day

COLUMNS = ("Kind", "Serial", "State", "Holders", "Account", "Received", "Issued", "Activated", "Due", "Returned")
WINDOW = 200
CACHED_WINDOWS = 8


def _cell(row: DeviceRow, column: int) -> str:
    if column == 0:
        return row.kind.label
    if column == 1:
        return row.serial or "—"
    if column == 2:
        state = row.state.label + (" (locked)" if row.locked else "")
        if row.return_reason == "battery_failure" and row.state.name in ("damaged", "return_pending"):
            state += " — battery"
        return state
    if column == 3:
        return ", ".join(row.holders) or "—"
    if column == 4:
        return row.account_number or "—"
    values = (row.received_at, row.issued_at, row.activated_at, row.due_at, row.returned_at)
    return day(values[column - 5])


class DevicesModel(QAbstractTableModel):
    def __init__(self, devices: DeviceService, parent=None) -> None:
        super().__init__(parent)
        self._devices = devices
        self._query = DeviceQuery()
        self._count = devices.count(self._query)
        self._windows: OrderedDict[int, list[DeviceRow]] = OrderedDict()

    @property
    def query(self) -> DeviceQuery:
        return self._query

    def set_query(self, query: DeviceQuery) -> None:
        self.beginResetModel()
        self._query = query
        self._windows.clear()
        self._count = self._devices.count(query)
        self.endResetModel()

    def refresh(self) -> None:
        self.set_query(self._query)

    def row_at(self, row: int) -> DeviceRow | None:
        if not 0 <= row < self._count:
            return None
        number = row // WINDOW
        window = self._windows.get(number)
        if window is None:
            window = self._devices.window(self._query, number * WINDOW, WINDOW)
            self._windows[number] = window
            if len(self._windows) > CACHED_WINDOWS:
                self._windows.popitem(last=False)
        else:
            self._windows.move_to_end(number)
        offset = row - number * WINDOW
        return window[offset] if offset < len(window) else None

    def row_of_device(self, device_id: int) -> int | None:
        for number, window in self._windows.items():
            for i, r in enumerate(window):
                if r.id == device_id:
                    return number * WINDOW + i
        return None

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

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
