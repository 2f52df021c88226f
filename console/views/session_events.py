"""One place every window reports "the service refused: this session has ended" (signed out elsewhere, idle past
the timeout, deactivated, locked), so the desk locks and offers sign-in instead of showing a plain refusal."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class SessionEvents(QObject):
    ended = Signal(str)  # the service's message: why the session ended

    def report(self, message: str) -> bool:
        """Tell the desk; False when no desk listens (a window opened on its own, in a test), so the caller shows
        the refusal itself."""
        if not self.isSignalConnected(self.metaObject().method(self.metaObject().indexOfSignal("ended(QString)"))):
            return False
        self.ended.emit(message)
        return True


_events: SessionEvents | None = None


def session_events() -> SessionEvents:
    global _events
    if _events is None:
        _events = SessionEvents()
    return _events
