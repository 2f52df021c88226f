"""Remembering the desk's layout between sessions (QSettings): window geometry and column widths.

Never the search: the next staff member signing in at this desk starts with a clean desk, not with the last
client someone looked up."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings
from PySide6.QtWidgets import QMainWindow, QSplitter


def default_settings() -> QSettings:
    return QSettings("SLS", "SLS Console")


class WindowMemory(QObject):
    """Restores the main window's layout on attach; saves it when the window closes."""

    def __init__(self, window: QMainWindow, settings: QSettings | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.settings = settings or default_settings()

    def attach(self) -> WindowMemory:
        self.restore()
        self.window.installEventFilter(self)
        return self

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.save()
        return False

    def _splitter(self) -> QSplitter | None:
        central = self.window.centralWidget()
        return central if isinstance(central, QSplitter) else None

    def save(self) -> None:
        s, w = self.settings, self.window
        s.setValue("main/geometry", w.saveGeometry())
        s.setValue("main/state", w.saveState())
        if (splitter := self._splitter()) is not None:
            s.setValue("main/splitter", splitter.saveState())
        table = getattr(w, "table", None)
        if table is not None:
            s.setValue("users/header", table.horizontalHeader().saveState())
        s.remove("users/filter_text")  # left by earlier versions, which remembered the search
        s.remove("users/filter_state")
        s.sync()

    def restore(self) -> None:
        s, w = self.settings, self.window
        for key, apply in (("main/geometry", w.restoreGeometry), ("main/state", w.restoreState)):
            value = s.value(key)
            if isinstance(value, QByteArray) and not value.isEmpty():
                apply(value)
        splitter = self._splitter()
        value = s.value("main/splitter")
        if splitter is not None and isinstance(value, QByteArray):
            splitter.restoreState(value)
        table = getattr(w, "table", None)
        value = s.value("users/header")
        if table is not None and isinstance(value, QByteArray):
            table.horizontalHeader().restoreState(value)
