"""A read-only Qt table over a SQL query: its row count, and windows of rows kept in a small LRU cache.

Given the desk's runner, every read runs off the GUI thread: the count and the first window when the query
changes (the rows shown stay until the new ones land), and any other window when the view first paints one of
its rows (a placeholder "…" until then). Without a runner it reads at once."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtWidgets import QWidget

from console.models.errors import SessionEnded
from console.views.messages import error_text
from console.views.operations import OperationRunner
from console.views.session_events import session_events

WINDOW = 200
CACHED_WINDOWS = 8


def store_window(model: QAbstractTableModel, windows: OrderedDict[int, list[Any]], number: int, rows: list[Any],
                 count: int, keep: int) -> None:
    """Keep window `number` of a model read by windows of WINDOW rows, forget the oldest beyond `keep`, and repaint
    the rows it fills (the users list and the windowed tables share this)."""
    windows[number] = rows
    windows.move_to_end(number)
    while len(windows) > keep:
        windows.popitem(last=False)
    first = number * WINDOW
    last = min(first + len(rows), count) - 1
    if last >= first:
        model.dataChanged.emit(model.index(first, 0), model.index(last, model.columnCount() - 1))
PLACEHOLDER = "…"  # a row whose window is still being read

Counter = Callable[[], int]
Windower = Callable[[int, int], list[Any]]


class WindowedTableModel(QAbstractTableModel):
    """Subclasses say how to count the rows and read one window (`_reader`, bound to what is asked now);
    data() only ever reads a cached window."""

    headers: tuple[str, ...] = ()
    reloaded = Signal()  # the count and first rows of the newest query arrived
    load_failed = Signal(str)

    def __init__(self, parent: QWidget | None = None, runner: OperationRunner | None = None) -> None:
        super().__init__(parent)
        self._owner, self._runner = parent, runner
        self._count = 0
        self._windows: OrderedDict[int, list[Any]] = OrderedDict()
        self._requested: set[int] = set()
        self._generation = 0  # of the newest reload asked for: older answers are dropped
        self._window_of_shown: Windower | None = None  # reads windows of the query the rows show
        self.loading = False

    def _reader(self) -> tuple[Counter, Windower]:
        """How to count and read windows of what is asked now (called on the GUI thread; the reads run off it)."""
        return self._read_count, self._read_window

    def _read_count(self) -> int:
        raise NotImplementedError

    def _read_window(self, offset: int, limit: int) -> list[Any]:
        raise NotImplementedError

    def _read_extra(self) -> Callable[[], Any]:
        """Hook: another figure read with the count (off the GUI thread), handed to `_extra_arrived`."""
        return lambda: None

    def _extra_arrived(self, extra: Any) -> None:
        """Hook: the figure of `_read_extra`, on the GUI thread."""

    def reload(self, then: Callable[[], None] | None = None) -> None:
        """Forget every window and count again (after the filter or the data changed); `then` runs once the new
        rows are there."""
        count, window = self._reader()
        extra = self._read_extra()
        if self._runner is None or self._owner is None:
            try:
                total, first, more = count(), window(0, WINDOW), extra()
            except SessionEnded as exc:
                self._session_ended(exc)
                return
            self._replace(total, first, more, window)
            if then is not None:
                then()
            return
        self._generation += 1
        generation = self._generation
        self.loading = True

        def arrived(result: tuple[int, list[Any], Any]) -> None:
            if generation != self._generation:
                return  # a newer query answers
            self._replace(*result, window)
            if then is not None:
                then()

        def failed(exc: Exception) -> None:
            if generation == self._generation:
                self.loading = False
                self.load_failed.emit(error_text(exc))

        self._runner.query(self._owner, lambda: (count(), window(0, WINDOW), extra()), success=arrived,
                           failure=failed)

    def _replace(self, count: int, first: list[Any], extra: Any, window: Windower) -> None:
        self.beginResetModel()
        self._generation += 1  # windows still being read belong to the rows replaced
        self._count = count
        self._windows.clear()
        self._windows[0] = first
        self._requested.clear()
        self._window_of_shown = window
        self.loading = False
        self._extra_arrived(extra)
        self.endResetModel()
        self.reloaded.emit()

    def cached_row(self, row: int) -> Any | None:
        """The row if its window has been read; otherwise None, and the window is asked for (off the GUI thread
        with a runner)."""
        if not 0 <= row < self._count:
            return None
        number = row // WINDOW
        window = self._windows.get(number)
        if window is None:
            self._request(number)
            window = self._windows.get(number)  # read at once without a runner
            if window is None:
                return None
        self._windows.move_to_end(number)
        offset = row - number * WINDOW
        return window[offset] if offset < len(window) else None

    def row_at(self, row: int) -> Any | None:
        return self.cached_row(row)

    def _request(self, number: int) -> None:
        read = self._window_of_shown or self._reader()[1]
        if self._runner is None or self._owner is None:
            try:
                self._store(number, read(number * WINDOW, WINDOW))
            except SessionEnded as exc:
                self._session_ended(exc)
            return
        if number in self._requested:
            return
        self._requested.add(number)
        generation = self._generation

        def arrived(rows: list[Any]) -> None:
            if generation == self._generation:
                self._requested.discard(number)
                self._store(number, rows)

        def failed(exc: Exception) -> None:
            if generation == self._generation:
                self._requested.discard(number)  # asked again when painted again
                self.load_failed.emit(error_text(exc))

        self._runner.query(self._owner, lambda: read(number * WINDOW, WINDOW), success=arrived, failure=failed)

    def _store(self, number: int, rows: list[Any]) -> None:
        store_window(self, self._windows, number, rows, self._count, CACHED_WINDOWS)

    @staticmethod
    def _session_ended(exc: SessionEnded) -> None:
        """The desk's session ended: the table stays as it was; the desk locks and offers sign-in."""
        if not session_events().report(str(exc)):
            raise exc

    def cached_row_of(self, row_id: int) -> int | None:
        """The row showing the item with `id` row_id, among the windows read so far."""
        for number, window in self._windows.items():
            for i, item in enumerate(window):
                if item.id == row_id:
                    return number * WINDOW + i
        return None

    def placeholder(self, index: QModelIndex) -> str | None:
        """What a row still being read shows: "…" in its first column."""
        return PLACEHOLDER if index.column() == 0 and 0 <= index.row() < self._count else None

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.headers)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.headers[section]
        return None
