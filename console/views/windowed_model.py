"""A read-only Qt table over a SQL query: its row count, and windows of rows kept in a small LRU cache."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt

from console.models.errors import SessionEnded
from console.views.session_events import session_events

WINDOW = 200
CACHED_WINDOWS = 8


class WindowedTableModel(QAbstractTableModel):
    """Subclasses say how to count the rows and read one window; data() only ever reads a cached window."""

    headers: tuple[str, ...] = ()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._count = 0
        self._windows: OrderedDict[int, list[Any]] = OrderedDict()

    def _read_count(self) -> int:
        raise NotImplementedError

    def _read_window(self, offset: int, limit: int) -> list[Any]:
        raise NotImplementedError

    def reload(self) -> None:
        """Forget every window and count again (after the filter or the data changed)."""
        try:
            count = self._read_count()
        except SessionEnded as exc:
            self._session_ended(exc)
            return
        self.beginResetModel()
        self._windows.clear()
        self._count = count
        self.endResetModel()

    @staticmethod
    def _session_ended(exc: SessionEnded) -> None:
        """The desk's session ended: the table stays as it was; the desk locks and offers sign-in."""
        if not session_events().report(str(exc)):
            raise exc

    def row_at(self, row: int) -> Any | None:
        if not 0 <= row < self._count:
            return None
        number = row // WINDOW
        window = self._windows.get(number)
        if window is None:
            try:
                window = self._read_window(number * WINDOW, WINDOW)
            except SessionEnded as exc:
                self._session_ended(exc)
                return None
            self._windows[number] = window
            if len(self._windows) > CACHED_WINDOWS:
                self._windows.popitem(last=False)
        else:
            self._windows.move_to_end(number)
        offset = row - number * WINDOW
        return window[offset] if offset < len(window) else None

    def cached_row_of(self, row_id: int) -> int | None:
        """The row showing the item with `id` row_id, among the windows read so far."""
        for number, window in self._windows.items():
            for i, item in enumerate(window):
                if item.id == row_id:
                    return number * WINDOW + i
        return None

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.headers)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.headers[section]
        return None
