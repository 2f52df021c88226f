"""The users list as a Qt table model over windows of a SQL query: never all rows in memory, never a query
on the GUI thread to show the list, its counts or a window that is not cached yet."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal

from console.models.directory import UserDirectory, UserQuery, UserRow
from console.models.enums import SlsState
from console.models.errors import SessionEnded
from console.views.formatting import SLS_STATE_COLOURS
from console.views.session_events import session_events
from console.views.windowed_model import WINDOW, store_window

log = logging.getLogger("sls_console")

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
CACHED_WINDOWS = 16
PENDING_WINDOWS = 4  # window reads waiting at most; older ones (scrolled past) are dropped
STOP_TRIES = 20  # interrupts sent to a superseded job at most, STOP_RETRY_S apart, until it ends
STOP_RETRY_S = 0.005
ROWS_THREAD, COUNTS_THREAD = "users-list-loader", "users-list-counts"  # the loader's two threads


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


class _Loader:
    """Two background threads: one reads a query's rows and the windows (the newest requests first, superseded
    ones dropped), the other the counts per state once the rows are out.

    A new query replaces any query still waiting and every waiting window read, and stops a search or a count
    still running (its statement fails at once) from a short-lived thread of its own, so neither the GUI nor
    the new search waits for the old one to end: the new rows are read on the rows thread while a superseded
    count ends on the counts thread's connection. Any result that still comes back is tagged with its query's
    generation and the model ignores it. Each thread exists only while there is work.
    """

    def __init__(self, deliver: Callable[[tuple], None], interrupt: Callable[[int], object]) -> None:
        self._deliver = deliver
        self._interrupt = interrupt  # stops the statement a thread is running (UserDirectory.interrupt_reads)
        self._lock = threading.Lock()
        self._reset: tuple[Callable[[], tuple], Callable[[], tuple] | None] | None = None
        self._after_rows: Callable[[], tuple] | None = None  # the running query's counts, once its rows are out
        self._counts: Callable[[], tuple] | None = None  # counts waiting for the counts thread
        self._windows: OrderedDict[tuple[int, int], Callable[[], tuple]] = OrderedDict()
        self._thread: threading.Thread | None = None  # rows and windows
        self._counts_thread: threading.Thread | None = None
        self._running: dict[threading.Thread, Callable[[], tuple]] = {}
        # Held while a thread's job ends, and by _stop while it interrupts that thread: the job cannot end (and
        # the thread move on to another) meanwhile. One per thread, so stopping a count never holds up the rows.
        self._ending = {ROWS_THREAD: threading.Lock(), COUNTS_THREAD: threading.Lock()}
        self._stopped: set[int] = set()  # ids of running jobs interrupted on purpose

    def load_query(self, job: Callable[[], tuple], then: Callable[[], tuple] | None = None) -> None:
        with self._lock:
            dropped = list(self._windows)
            self._reset, self._after_rows, self._counts = (job, then), None, None
            for thread, running in self._running.items():
                if getattr(running, "kind", None) == "query":  # a superseded search or count
                    self._stop(thread, running)
            self._windows.clear()
            self._start()
        for generation, number in dropped:
            self._deliver(("dropped", generation, number))

    def _stop(self, thread: threading.Thread, job: Callable[[], tuple]) -> None:
        """Interrupt `job`'s statements on `thread` until the job ends (an interrupt that falls between two of
        its statements is lost), never a later job's; sent from a thread of its own (PostgreSQL's cancel is a
        round trip to the server). Called with the lock held."""
        self._stopped.add(id(job))

        def send() -> None:
            for _ in range(STOP_TRIES):
                with self._ending[thread.name]:  # the job cannot end while this is held
                    with self._lock:
                        if self._running.get(thread) is not job:
                            return
                    self._interrupt(thread.ident or 0)  # without the lock: a round trip on PostgreSQL
                time.sleep(STOP_RETRY_S)

        threading.Thread(target=send, name="users-list-stop", daemon=True).start()

    def load_window(self, key: tuple[int, int], job: Callable[[], tuple]) -> None:
        dropped = []
        with self._lock:
            self._windows[key] = job
            self._windows.move_to_end(key)
            while len(self._windows) > PENDING_WINDOWS:
                dropped.append(self._windows.popitem(last=False)[0])
            self._start()
        for generation, number in dropped:
            self._deliver(("dropped", generation, number))

    def idle(self) -> bool:
        with self._lock:
            return self._thread is None and self._counts_thread is None

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run_rows, name=ROWS_THREAD, daemon=True)
            self._thread.start()

    def _start_counts(self) -> None:
        if self._counts_thread is None:
            self._counts_thread = threading.Thread(target=self._run_counts, name=COUNTS_THREAD, daemon=True)
            self._counts_thread.start()

    def _run_rows(self) -> None:
        me = threading.current_thread()
        while True:
            with self._lock:
                then = None
                if self._reset is not None:
                    (job, then), self._reset = self._reset, None
                    self._after_rows = then
                elif self._windows:
                    _key, job = self._windows.popitem(last=True)  # the newest: where the agent is now
                else:
                    self._thread = None
                    return
                self._running[me] = job
            if not self._run(me, job):
                return
            with self._lock:
                if then is not None and self._after_rows is then:  # no newer query meanwhile
                    self._counts, self._after_rows = then, None
                    self._start_counts()

    def _run_counts(self) -> None:
        me = threading.current_thread()
        while True:
            with self._lock:
                if self._counts is None:
                    self._counts_thread = None
                    return
                job, self._counts = self._counts, None
                self._running[me] = job
            if not self._run(me, job):
                return

    def _run(self, me: threading.Thread, job: Callable[[], tuple]) -> bool:
        """Run one job and deliver its result; False when the model is gone."""
        try:
            result = job()
        except Exception as exc:  # shown by the model's owner; the list stays as it was
            if isinstance(exc, SessionEnded):  # not a fault: the desk locks and offers sign-in
                result = ("ended", getattr(job, "generation", -1), str(exc))
            else:
                with self._lock:
                    stopped = id(job) in self._stopped
                if not stopped:
                    log.exception("loading the users list failed")
                result = ("error", getattr(job, "generation", -1), str(exc))
        finally:
            with self._ending[me.name], self._lock:
                self._running.pop(me, None)
                self._stopped.discard(id(job))
        try:
            self._deliver(result)
        except RuntimeError:  # the model is gone (window closed)
            with self._lock:
                if me is self._thread:
                    self._thread = None
                elif me is self._counts_thread:
                    self._counts_thread = None
            return False
        return True


class UsersModel(QAbstractTableModel):
    """Rows come from UserDirectory.window() a window at a time, kept in a small LRU cache.

    data() answers only from cached windows; a missing window is read in the background and the rows
    appear when it arrives (dataChanged). set_query() runs in the background too, with or without text
    (the first query, at construction, as well): the list keeps showing the previous result until the new
    one is ready (`loading` tells), and a query superseded by a newer one is dropped. The counts per state
    follow the rows.
    """

    query_changed = Signal()
    state_counts_changed = Signal()  # the counts per state of the shown query arrived (after its rows)
    load_failed = Signal(str)
    _loaded = Signal(object)  # emitted by the loader thread; delivered on the GUI thread

    def __init__(self, directory: UserDirectory, parent=None) -> None:
        super().__init__(parent)
        self._directory = directory
        self._query = UserQuery()  # the newest query asked for
        self._shown = self._query  # the query whose rows the model holds
        self._generation = 0  # of the newest query asked for
        self._shown_generation = 0  # of the query whose rows are shown: windows are read for that one
        self._loading = False
        self._windows: OrderedDict[int, list[UserRow]] = OrderedDict()
        self._requested: set[int] = set()
        self._loaded.connect(self._on_loaded, Qt.ConnectionType.QueuedConnection)
        self._loader = _Loader(self._loaded.emit, directory.interrupt_reads)
        self._count = 0
        self._state_counts: dict[SlsState, int] | None = None
        self._counting = False  # the newest query's counts are still to arrive
        self.set_query(self._query)  # the first rows arrive from the loader: nothing is read on the GUI thread

    # --- the query -------------------------------------------------------------------------------
    @property
    def query(self) -> UserQuery:
        """The newest query asked for (what the rows will show once `loading` is over)."""
        return self._query

    @property
    def shown_query(self) -> UserQuery:
        return self._shown

    @property
    def loading(self) -> bool:
        return self._loading

    @property
    def state_counts(self) -> dict[SlsState, int] | None:
        """Users per state under the shown query's text filter (its state filter ignored); None while a
        text query's counts are still being made (state_counts_changed follows)."""
        return None if self._state_counts is None else dict(self._state_counts)

    def is_idle(self) -> bool:
        """Nothing asked of the database is still to arrive: rows, windows or counts (tests wait on it)."""
        return not (self._loading or self._counting or self._requested) and self._loader.idle()

    def set_query(self, query: UserQuery) -> None:
        self._generation += 1
        generation = self._generation
        self._query = query
        self._loading = self._counting = True

        directory = self._directory

        def job() -> tuple:
            return ("query", generation, query, *directory.first_rows(query, WINDOW), None)

        def counts_job() -> tuple:
            return ("counts", generation, directory.counts_by_state(query))

        job.generation = counts_job.generation = generation  # type: ignore[attr-defined]
        job.kind = counts_job.kind = "query"  # type: ignore[attr-defined]
        self._loader.load_query(job, counts_job)

    def refresh(self) -> None:
        """Forget every cached row and count and read the current query again (after a change)."""
        self._directory.invalidate()
        self.set_query(self._query)

    def _apply(self, generation: int, query: UserQuery, count: int, first: list[UserRow],
               counts: dict[SlsState, int] | None) -> None:
        if generation != self._generation:
            return  # superseded while it ran
        self.beginResetModel()
        self._shown = query
        self._shown_generation = generation
        self._count = count
        self._state_counts = counts
        self._windows.clear()
        self._windows[0] = first
        self._requested.clear()
        self._loading = False
        self.endResetModel()
        self.query_changed.emit()

    # --- windows ---------------------------------------------------------------------------------
    def _cached(self, row: int) -> UserRow | None:
        """The row if its window is cached; otherwise None, and the window is asked for in the background."""
        if not 0 <= row < self._count:
            return None
        number = row // WINDOW
        window = self._windows.get(number)
        if window is None:
            self._request(number)
            return None
        self._windows.move_to_end(number)
        offset = row - number * WINDOW
        return window[offset] if offset < len(window) else None

    def _request(self, number: int) -> None:
        if number in self._requested:
            return
        self._requested.add(number)
        # Tagged with the shown query's generation: while a newer query loads, the agent may still scroll
        # the old rows, and those windows must never be taken for the new query's.
        generation, query, directory = self._shown_generation, self._shown, self._directory

        def job() -> tuple:
            return ("window", generation, number, directory.window(query, number * WINDOW, WINDOW))

        job.generation = generation  # type: ignore[attr-defined]
        self._loader.load_window((generation, number), job)

    def _store(self, number: int, rows: list[UserRow]) -> None:
        store_window(self, self._windows, number, rows, self._count, CACHED_WINDOWS)

    def _on_loaded(self, result: tuple) -> None:
        kind, generation = result[0], result[1]
        if kind == "query":
            self._apply(generation, *result[2:])
        elif kind in ("window", "dropped"):
            if generation != self._shown_generation:
                return  # a window of rows no longer shown
            self._requested.discard(result[2])
            if kind == "window":
                self._store(result[2], result[3])
        elif kind == "counts":
            if generation == self._generation:
                self._counting = False
            if generation == self._generation == self._shown_generation:
                self._state_counts = result[2]
                self.state_counts_changed.emit()
        elif kind == "ended":
            self._session_ended(generation, result[2])
        elif kind == "error":
            if generation == self._shown_generation:
                self._requested.clear()  # let the view ask again
            if generation == self._generation:
                self._loading = self._counting = False
                self.load_failed.emit(result[2])

    def _session_ended(self, generation: int, message: str) -> None:
        """A read refused because the desk's session ended: the list stays as it was and the desk locks and
        offers sign-in (or, with no desk to take it on, the refusal shows like any failed read)."""
        if generation == self._shown_generation:
            self._requested.clear()  # read again once the member is back
        if generation == self._generation:
            self._loading = self._counting = False
        if not session_events().report(message):
            self.load_failed.emit(message)

    def row_at(self, row: int) -> UserRow | None:
        """The row, read now if its window is not cached (for actions on a row, not for painting)."""
        cached = self._cached(row)
        if cached is not None or not 0 <= row < self._count:
            return cached
        number = row // WINDOW
        try:
            rows = self._directory.window(self._shown, number * WINDOW, WINDOW)
        except SessionEnded as exc:
            self._session_ended(self._shown_generation, str(exc))
            return None
        self._store(number, rows)
        self._requested.discard(number)
        window = self._windows[number]
        offset = row - number * WINDOW
        return window[offset] if offset < len(window) else None

    def user_id_at(self, row: int) -> int | None:
        r = self.row_at(row)
        return r.id if r else None

    def row_of_user(self, user_id: int) -> int | None:
        """Row of a user in the shown list (None if the list does not show it): cached windows, else SQL."""
        for number, window in self._windows.items():
            for i, r in enumerate(window):
                if r.id == user_id:
                    return number * WINDOW + i
        try:
            return self._directory.offset_of(self._shown, user_id)
        except SessionEnded as exc:
            self._session_ended(self._shown_generation, str(exc))
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
            row = self._cached(index.row())
            if row is None:
                return "…" if index.column() == 0 and 0 <= index.row() < self._count else None
            return _cell(row, index.column())
        if role == Qt.ItemDataRole.ToolTipRole and COLUMNS[index.column()][0] == "restrictions":
            row = self._cached(index.row())
            return "\n".join(r.label for r in row.restrictions) if row and row.restrictions else None
        if role == Qt.ItemDataRole.TextAlignmentRole and COLUMNS[index.column()][0] == "active_devices":
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and COLUMNS[index.column()][0] == "sls_state":
            row = self._cached(index.row())
            if row is not None:
                from PySide6.QtGui import QColor

                return QColor(SLS_STATE_COLOURS[row.sls_state])
        return None

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        key = COLUMNS[column][0]
        if key not in SORTABLE:
            return
        q = self._query
        self.set_query(UserQuery(q.text, q.state, key, order == Qt.SortOrder.DescendingOrder, q.contains))
