"""Running a long service call (import, export) off the GUI thread, with progress and a cancel request."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

log = logging.getLogger("sls_console")


class BackgroundTask(QObject):
    """Runs `work(report)` in a thread; `report(phase, done, total)` returns False once cancel() was asked.

    Signals arrive on the GUI thread (queued): progress(phase, done, total), succeeded(result), failed(exc).
    """

    progress = Signal(str, int, int)
    succeeded = Signal(object)
    failed = Signal(object)

    def __init__(self, work: Callable[[Callable[[str, int, int], bool]], Any], parent: QObject | None = None):
        super().__init__(parent)
        self._work = work
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sls-task", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _report(self, phase: str, done: int, total: int) -> bool:
        self.progress.emit(phase, done, total)
        return not self._cancel.is_set()

    def _run(self) -> None:
        try:
            result = self._work(self._report)
        except BaseException as exc:  # handed to the GUI thread, which shows it as a message
            if not isinstance(exc, Exception):
                raise
            self.failed.emit(exc)
        else:
            self.succeeded.emit(result)
