"""A window's read kept current: off the GUI thread, one at a time, and again a while after changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QWidget

from console.views.change_bus import Changes
from console.views.desk import Desk


class KeptCurrent(QObject):
    """`ask()`, on the GUI thread (it may read the window's filters), gives the work; the desk's runner runs it
    off the GUI thread and hands the result to `show` (or the refusal to `failed`), on the GUI thread. A refresh
    asked while one runs is done once, after it, and only that newer result is shown. Changes announced on the
    bus while the window is open are gathered for `delay_ms` into one refresh: in a busy firm something changes
    every second, and a window follows within a few seconds rather than on each one."""

    def __init__(self, window: QWidget, desk: Desk, ask: Callable[[], Callable[[], Any]], show: Callable[[Any], None],
                 failed: Callable[[Exception], None], delay_ms: int) -> None:
        super().__init__(window)
        self.window, self.desk = window, desk
        self._ask, self._show, self._failed = ask, show, failed
        self.loading = False
        self._again = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self.refresh)
        desk.bus.changed.connect(self.on_changes)

    def on_changes(self, _changes: Changes) -> None:
        if self.window.isVisible() and not self._timer.isActive():
            self._timer.start()

    def refresh(self) -> None:
        if self.loading:
            self._again = True
            return
        self.loading, self._again = True, False
        self.desk.runner.query(self.window, self._ask(), success=self._done, failure=self._refused)

    def _done(self, result: Any) -> None:
        self.loading = False
        if self._again:  # asked again while this one ran: what it read may be out of date already
            self.refresh()
            return
        self._show(result)

    def _refused(self, exc: Exception) -> None:
        self.loading = False
        self._failed(exc)
