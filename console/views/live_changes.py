"""Other desks' changes, live: runs the model's ChangeWatcher on a thread and announces on the GUI thread."""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, Signal

from console.models.changes import ChangeWatcher

log = logging.getLogger("sls_console")


class LiveChanges(QObject):
    """``changed(ChangeNotice)`` when another console commits; ``connection(bool)`` when the database is lost
    (the watcher keeps retrying) and found again. Signals cross from the watcher's thread as queued calls."""

    changed = Signal(object)
    connection = Signal(bool)

    def __init__(self, watcher: ChangeWatcher, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("liveChanges")
        self.watcher = watcher
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="change-watcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.watcher.close()

    def _run(self) -> None:
        connected = True
        while not self._stop.is_set():
            try:
                notice = self.watcher.wait(0.5)
            except Exception:  # noqa: BLE001 - the watcher must outlive any one fault; logged, retried
                log.exception("watching other desks' changes failed; retrying")
                self._stop.wait(1.0)
                continue
            if self.watcher.connected != connected:
                connected = self.watcher.connected
                self.connection.emit(connected)
            if notice is not None and not self._stop.is_set():
                self.changed.emit(notice)
