"""Python's cycle collector, run on the GUI thread only.

The collector runs on whichever thread allocates when a generation passes its threshold. On a worker thread (a
service call under way) it may destroy a Qt object left in a reference cycle there: Qt's destructor takes the
object's signal lock, then waits for the GIL, while the GUI thread holds the GIL and waits for that same lock in
QObject::connect. Both wait forever. The test suite froze so twice (py-spy: a pooled worker in
gc_collect_main → QObject::~QObject → Shiboken::GilState::acquire; the GUI thread in
QBasicMutex::lockInternal under QObject::connect).

So automatic collection is switched off and the GUI thread collects on a timer, generation by generation as the
automatic collector would, by the same thresholds (Anki does the same in its Qt front end: aqt/main.py,
GarbageCollector). Objects without cycles are freed at once by reference counting, as before.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 1000


class GuiThreadCollector(QObject):
    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.setObjectName("guiThreadCollector")
        self.threshold = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.collect)
        self.timer.start(INTERVAL_MS)

    def collect(self) -> int:
        """The generations over their thresholds, youngest first; returns how many objects were unreachable."""
        young, middle, old = gc.get_count()
        found = 0
        if young > self.threshold[0]:
            found += gc.collect(0)
            if middle > self.threshold[1]:
                found += gc.collect(1)
                if old > self.threshold[2]:
                    found += gc.collect(2)
        return found


def collect_on_gui_thread(app: QObject) -> GuiThreadCollector:
    """Switch automatic collection off and collect on `app`'s thread from now on (once per application)."""
    existing = app.findChild(GuiThreadCollector, "guiThreadCollector")
    return existing if isinstance(existing, GuiThreadCollector) else GuiThreadCollector(app)
