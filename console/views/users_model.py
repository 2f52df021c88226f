"""The users list as a Qt table model over windows of a SQL query: never all rows in memory."""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal

from console.models.directory import UserDirectory, UserQuery, UserRow
from console.models.enums import SlsState

COLUMNS = (
    ("username", "Username"),
    ("full_name", "Full name"),
    ("account", "Account"),
    ("role", "Role"),
    ("sls_state", "SLS state"),
    ("active_devices", "Active devices"),
    ("restrictions", "Restrictions"),
)
SORTABLE = {key for key, _ in COLUMNS if key != "restrictions"}
WINDOW = 200
CACHED_WINDOWS = 16


def _cell(row: UserRow, column: int) -> str | int:
    key = COLUMNS[column][0]
    if key == "username":
        return row.username
    if key == "full_name":
        return row.full_name
    if key == "account":
        return row.account_number
    if key == "role":
        return row.role.value.capitalize()
    if key == "sls_state":
        return row.sls_state.label
    if key == "active_devices":
        return row.active_devices
    return ", ".join(r.short_label for r in row.restrictions)


class UsersModel(QAbstractTableModel):
    """Rows come from UserDirectory.window() a window at a time, kept in a small LRU cache."""

    query_changed = Signal()

    def __init__(self, directory: UserDirectory, parent=None) -> None:
        super().__init__(parent)
        self._directory = directory
        self._query = UserQuery()
        self._count = directory.count(self._query)
        self._windows: OrderedDict[int, list[UserRow]] = OrderedDict()

    # --- the query -------------------------------------------------------------------------------
    @property
    def query(self) -> UserQuery:
        return self._query

    def set_query(self, query: UserQuery) -> None:
        self.beginResetModel()
        self._query = query
        self._windows.clear()
        self._count = self._directory.count(query)
        self.endResetModel()
        self.query_changed.emit()

    def refresh(self) -> None:
        self.set_query(self._query)

    def row_at(self, row: int) -> UserRow | None:
        if not 0 <= row < self._count:
            return None
        number = row // WINDOW
        window = self._windows.get(number)
        if window is None:
            window = self._directory.window(self._query, number * WINDOW, WINDOW)
            self._windows[number] = window
            if len(self._windows) > CACHED_WINDOWS:
                self._windows.popitem(last=False)
        else:
            self._windows.move_to_end(number)
        offset = row - number * WINDOW
        return window[offset] if offset < len(window) else None

    def user_id_at(self, row: int) -> int | None:
        r = self.row_at(row)
        return r.id if r else None

    def row_of_user(self, user_id: int) -> int | None:
        """Row of a user among the cached windows (None if not loaded)."""
        for number, window in self._windows.items():
            for i, r in enumerate(window):
                if r.id == user_id:
                    return number * WINDOW + i
        return None

    # --- Qt model interface ----------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][1]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            row = self.row_at(index.row())
            return None if row is None else _cell(row, index.column())
        if role == Qt.ItemDataRole.ToolTipRole and COLUMNS[index.column()][0] == "restrictions":
            row = self.row_at(index.row())
            return "\n".join(r.label for r in row.restrictions) if row and row.restrictions else None
        if role == Qt.ItemDataRole.TextAlignmentRole and COLUMNS[index.column()][0] == "active_devices":
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and COLUMNS[index.column()][0] == "sls_state":
            row = self.row_at(index.row())
            if row is not None:
                from PySide6.QtGui import QColor

                return {SlsState.enrolled: QColor("#1b7f3b"), SlsState.opted_out: QColor("#b3261e"),
                        SlsState.pending: QColor("#a15c00")}[row.sls_state]
        return None

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        key = COLUMNS[column][0]
        if key not in SORTABLE:
            return
        q = self._query
        self.set_query(UserQuery(q.text, q.state, key, order == Qt.SortOrder.DescendingOrder))
