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


_events = SessionEvents()


def session_events() -> SessionEvents:
    return _events
