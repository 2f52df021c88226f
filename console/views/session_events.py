"""One place every window reports "the service refused: this session has ended" (signed out elsewhere, idle past
the timeout, deactivated, locked), so the desk locks and offers sign-in instead of showing a plain refusal."""

from __future__ import annotations

from collections.abc import Callable

Handler = Callable[[str], bool]  # the service's message -> whether a desk took it on


class SessionEvents:
    def __init__(self) -> None:
        self._handlers: list[Handler] = []

    def listen(self, handler: Handler) -> None:
        if handler not in self._handlers:
            self._handlers.append(handler)

    def forget(self, handler: Handler) -> None:
        if handler in self._handlers:
            self._handlers.remove(handler)

    def report(self, message: str) -> bool:
        """Tell the desk; False when no open desk takes it on (a window opened on its own, a test), so the caller
        shows the refusal itself."""
        return any([handler(message) for handler in list(self._handlers)])

    def report_once(self, error: Exception) -> bool:
        """Report the refusal `error` unless a desk took it on already: the window that asked may then say it
        inline (and get its buttons back) without the desk locking a second time for the same news."""
        if getattr(error, "_taken_on_by_desk", False):
            return True
        taken = self.report(str(error))
        if taken:
            error._taken_on_by_desk = True  # type: ignore[attr-defined]
        return taken


_events = SessionEvents()


def session_events() -> SessionEvents:
    return _events
