"""One way to run every service call a view makes: off the GUI thread, reported once, announced on the bus.

After Anki's ``CollectionOp``/``QueryOp`` (qt/aqt/operations): a view describes the work and what to do
with its outcome; the runner does the rest.

    runner.write(dialog, lambda: devices.ship(actor, device_id, user_id),
                 changes=Changes.of(devices=[device_id], users=[user_id]),
                 success=dialog.shipped, failure=dialog.refuse)

- ``work`` runs on the runner's worker thread. It calls services only (each opens its own session per call,
  so nothing SQLAlchemy or SQLite holds is shared between threads) and never touches a widget.
- ``success(result)`` and ``failure(exc)`` run on the GUI thread. Exactly one of them runs. Without
  ``failure`` the refusal is shown in one box over ``parent`` (``show_error``); a view that shows it
  inline passes its own ``failure``: never both.
- After a write succeeds the runner publishes ``changes`` (a ``Changes``, or a function of the result
  returning one) on the ``ChangeBus``, with the audit trail added: every open window refreshes itself.
- ``progress=Progress("Exporting users…")`` shows a window-modal progress dialog with Cancel; the work then
  takes one argument, ``report(done, total, phase="") -> bool``, which returns False once Cancel was pressed (the
  work stops by raising its own "cancelled" error, reported like any other refusal).
- Operations run one at a time, in the order asked (one worker thread, like Anki's collection ops): two
  writes of this desk never race each other for SQLite's write lock.
- A write refused because another desk changed the record first (``ConcurrentChange``) announces its
  ``changes`` (all kinds, when they depend on the result) as another desk's, so every window shows what is
  true now and the agent decides again.
- ``runner.is_idle()`` says whether nothing is queued or running, counting the desk's other readers (the users
  list's own loader, see ``also_wait_for``): tests wait on it; so does closing (``wait_idle()``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget

from console.views.change_bus import ChangeBus, ChangeKind, Changes, Origin
from console.views.messages import show_error

log = logging.getLogger("sls_console")

Report = Callable[..., bool]  # report(done, total, phase="") -> False once Cancel was pressed


@dataclass(frozen=True)
class Progress:
    """Ask for a progress dialog with Cancel; `label` says what is being done ("Exporting users…")."""

    label: str
    title: str = "Working"
    cancellable: bool = True


class _Signals(QObject):
    progress = Signal(int, int, str)
    finished = Signal(object, object)  # result, exception


class _Job(QRunnable):
    def __init__(self, work: Callable[[], Any], signals: _Signals) -> None:
        super().__init__()
        self._work = work
        self._signals = signals
        self.setAutoDelete(True)

    def run(self) -> None:
        try:
            result = self._work()
        except Exception as exc:  # handed to the GUI thread, which reports it
            self._signals.finished.emit(None, exc)
        else:
            self._signals.finished.emit(result, None)


class Operation(QObject):
    """One service call under way. Lives on the GUI thread; its callbacks run there."""

    def __init__(self, runner: OperationRunner, parent: QWidget, work: Callable[..., Any], *,
                 changes: Changes | Callable[[Any], Changes] | None, success: Callable[[Any], Any] | None,
                 failure: Callable[[Exception], Any] | None, progress: Progress | None) -> None:
        super().__init__(runner)
        self.runner = runner
        self.parent_widget = parent
        self._work = work
        self._changes = changes
        self._success = success
        self._failure = failure
        self._progress_spec = progress
        self._cancel = threading.Event()
        self.progress_dialog: QProgressDialog | None = None
        self.message: QMessageBox | None = None  # the box shown when no failure handler was given
        self.result: Any = None
        self.error: Exception | None = None
        self.done = False
        self.signals = _Signals(self)
        self.signals.progress.connect(self._on_progress)
        self.signals.finished.connect(self._on_finished)

    @property
    def is_write(self) -> bool:
        return self._changes is not None

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def _report(self, done: int, total: int, phase: str = "") -> bool:
        self.signals.progress.emit(done, total, phase)
        return not self._cancel.is_set()

    def _run_work(self) -> Any:
        return self._work(self._report) if self._progress_spec is not None else self._work()

    def start(self) -> None:
        if self._progress_spec is not None:
            spec = self._progress_spec
            dialog = QProgressDialog(spec.label, "Cancel", 0, 0, self.parent_widget)
            if not spec.cancellable:
                dialog.setCancelButton(None)
            dialog.setObjectName("operationProgress")
            dialog.setWindowTitle(spec.title)
            dialog.setWindowModality(Qt.WindowModality.WindowModal)
            dialog.setAutoClose(False)
            dialog.setAutoReset(False)
            dialog.setMinimumDuration(0)
            dialog.canceled.connect(self.cancel)
            dialog.show()
            self.progress_dialog = dialog
        self.runner.pool.start(_Job(self._run_work, self.signals))

    def _on_progress(self, done: int, total: int, phase: str) -> None:
        dialog = self.progress_dialog
        if dialog is None or self.done or self._progress_spec is None:
            return
        if self._cancel.is_set():
            dialog.setLabelText("Cancelling…")
            return
        dialog.setMaximum(max(total, 1))
        dialog.setValue(min(done, max(total, 1)))
        dialog.setLabelText(f"{phase or self._progress_spec.label}: {done:,} of {total:,}")

    def _on_finished(self, result: Any, error: Exception | None) -> None:
        self.done = True
        if self.progress_dialog is not None:
            self.progress_dialog.close()
        if not self.is_write and not shiboken6.isValid(self.parent_widget):
            self.runner._finished(self)  # the window that asked is gone (closed meanwhile): nobody to tell
            return
        try:
            if error is not None:
                self.error = error
                if _session_ended(error):
                    # The desk locked and asked for a sign-in (gui.DeskSession). A window that says refusals
                    # itself is told too, so it is ready to try again (its buttons back) when the desk returns;
                    # never a box: the sign-in said why.
                    if self._failure is not None and shiboken6.isValid(self.parent_widget):
                        self._failure(error)
                    return
                self._announce_stale(error)
                if self._failure is not None:
                    if not isinstance(error, _expected_errors()):
                        log.error("operation failed", exc_info=error)
                    self._failure(error)
                else:
                    self.message = show_error(self.parent_widget, error)
                return
            self.result = result
            try:
                if self._success is not None:
                    self._success(result)
            finally:
                if self._changes is not None:
                    changes = self._changes(result) if callable(self._changes) else self._changes
                    changes = changes.with_kinds(ChangeKind.audit)
                    self.runner.bus.publish(Changes(changes.items, changes.origin, self.parent_widget))
        finally:
            self.runner._finished(self)


    def _announce_stale(self, error: Exception) -> None:
        """Refused because another desk changed the record first: every window shows the current state, so the
        agent decides again on what is true now."""
        from console.models.errors import ConcurrentChange

        if isinstance(error, ConcurrentChange) and self.is_write:
            stale = self._changes if isinstance(self._changes, Changes) else Changes.everything()
            self.runner.bus.publish(Changes(stale.items, Origin.other_desk, self.parent_widget))


def _session_ended(error: Exception) -> bool:
    from console.models.errors import SessionEnded
    from console.views.session_events import session_events

    return isinstance(error, SessionEnded) and session_events().report_once(error)


def _expected_errors() -> tuple[type[Exception], ...]:
    from console.models.errors import ConsoleError

    return (ConsoleError,)


class OperationRunner(QObject):
    """Runs operations one at a time on a worker thread; see the module docstring."""

    idle = Signal()

    def __init__(self, bus: ChangeBus, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("operationRunner")
        self.bus = bus
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.pool.setExpiryTimeout(-1)
        self._running: list[Operation] = []
        self._readers: list[Callable[[], bool]] = []
        self.last: Operation | None = None

    def write(self, parent: QWidget, work: Callable[..., Any], *, changes: Changes | Callable[[Any], Changes],
              success: Callable[[Any], Any] | None = None, failure: Callable[[Exception], Any] | None = None,
              progress: Progress | None = None) -> Operation:
        """Run a service call that changes data; announce `changes` (plus the audit trail) once it succeeded."""
        return self._start(Operation(self, parent, work, changes=changes, success=success, failure=failure,
                                     progress=progress))

    def query(self, parent: QWidget, work: Callable[..., Any], *, success: Callable[[Any], Any],
              failure: Callable[[Exception], Any] | None = None, progress: Progress | None = None) -> Operation:
        """Run a service call that only reads; nothing is announced."""
        return self._start(Operation(self, parent, work, changes=None, success=success, failure=failure,
                                     progress=progress))

    def _start(self, op: Operation) -> Operation:
        self._running.append(op)
        self.last = op
        op.start()
        return op

    def _finished(self, op: Operation) -> None:
        if op in self._running:
            self._running.remove(op)
        if not self._running:
            self.idle.emit()

    def also_wait_for(self, idle: Callable[[], bool]) -> None:
        """Another reader of this desk with a thread of its own (the users list's loader): is_idle() is False while
        `idle()` is."""
        self._readers.append(idle)

    def is_idle(self) -> bool:
        return not self._running and all(idle() for idle in self._readers)

    def wait_idle(self, timeout_ms: int = 30_000) -> bool:
        """Block until every operation has run and reported, and the other readers have answered (closing the
        console, screenshots)."""
        from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QEventLoop

        deadline = QDeadlineTimer(timeout_ms)
        while not self.is_idle() and not deadline.hasExpired():
            self.pool.waitForDone(20)
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        return self.is_idle()
