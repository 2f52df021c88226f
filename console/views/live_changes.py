"""Other desks' changes, live: runs the model's ChangeWatcher on a thread and publishes what it sees on the
desk's change bus (origin: another desk), so every open window refreshes as after this desk's own writes."""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, Signal

from console.models.changes import ChangeNotice, ChangeWatcher
from console.views.change_bus import Change, ChangeBus, ChangeKind, Changes, Origin

log = logging.getLogger("sls_console")


def to_changes(notice: ChangeNotice) -> Changes:
    """The bus's form of a notice: each kind with its ids (none: "some, not known which")."""
    items = tuple(Change(ChangeKind(kind), ids) for kind, ids in notice.ids.items())
    return Changes(items, Origin.other_desk)


class LiveChanges(QObject):
    """Publishes other consoles' commits on `bus` (publish works from any thread; delivery is on the GUI's);
    ``connection(bool)`` says when the database is lost (the watcher keeps retrying) and found again."""

    connection = Signal(bool)

    def __init__(self, watcher: ChangeWatcher, bus: ChangeBus, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("liveChanges")
        self.watcher = watcher
        self.bus = bus
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
                self.bus.publish(to_changes(notice))
