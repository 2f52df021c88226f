"""KeptCurrent, the read the dashboard and the work list keep current: one at a time, a refresh asked meanwhile
done once after it (only its result shown), and a burst of announced changes read once."""

from __future__ import annotations

import threading

from PySide6.QtWidgets import QWidget

from console.views.change_bus import ChangeKind, Changes
from console.views.kept_current import KeptCurrent
from tests.views.desks import desk_for, settle


def test_refresh_while_reading_shows_only_the_newer_result_and_changes_are_gathered(qtbot, ctx, agent):
    desk = desk_for(ctx, agent)
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    release = threading.Event()
    asked, shown = [], []

    def ask():
        number = len(asked) + 1
        asked.append(number)

        def work():
            if number == 1:
                assert release.wait(10)
            return number
        return work

    reader = KeptCurrent(window, desk, ask, shown.append, lambda exc: shown.append(exc), delay_ms=50)
    reader.refresh()
    reader.refresh()  # while the first read waits: remembered, not started
    reader.refresh()
    assert asked == [1] and reader.loading
    release.set()
    settle(qtbot, desk)
    assert asked == [1, 2] and shown == [2]  # the first result was out of date: never shown

    for _ in range(5):
        desk.bus.publish(Changes.of(kinds=[ChangeKind.users]))
    qtbot.waitUntil(lambda: len(asked) == 3, timeout=2000)
    settle(qtbot, desk)
    qtbot.wait(120)
    assert asked == [1, 2, 3] and shown == [2, 3]
