"""Helpers for driving windows: a desk for a staff member, and waiting for the operation runner."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from console.app import Services
from console.views.desk import Desk


def desk_for(ctx, actor) -> Desk:
    return Desk.build(Services.build(ctx, actor))


def settle(qtbot, desk: Desk) -> None:
    """Wait until every operation asked for has run and reported, the change bus has been heard, and the reads
    the windows asked for on hearing it have answered too."""
    for _ in range(5):
        qtbot.waitUntil(desk.runner.is_idle, timeout=10_000)
        qtbot.wait(1)  # the windows' coalesced refresh (a zero-delay timer) runs
        if desk.runner.is_idle():
            return


def submit(qtbot, dialog, *, confirm: bool = True) -> None:
    """Press OK as an agent would; say yes to the confirmation that names what is acted on."""
    from PySide6.QtCore import Qt

    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    settle(qtbot, dialog.desk)
    box = dialog.confirm_box
    if box is not None and box.isVisible():
        if confirm:
            box.button(QMessageBox.StandardButton.Yes).click()
        else:
            box.button(QMessageBox.StandardButton.No).click()
        settle(qtbot, dialog.desk)


def slow_reads(monkeypatch, service, *names: str):
    """Make these reads of the real `service` wait until the returned event is set, as a slow database would.
    A read made on the GUI thread fails at once: there it would freeze every window of the desk."""
    import threading

    release = threading.Event()
    for name in names:
        original = getattr(service, name)

        def slow(*args, _original=original, _name=name, **kwargs):
            if threading.current_thread() is threading.main_thread():
                raise AssertionError(f"{type(service).__name__}.{_name} was read on the GUI thread")
            assert release.wait(10), "the test never released the read"
            return _original(*args, **kwargs)

        monkeypatch.setattr(service, name, slow)
    return release


def answers_meanwhile(qtbot) -> None:
    """The window answers: its event loop runs (a 10 ms timer fires again and again)."""
    from PySide6.QtCore import QTimer

    ticks: list[int] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    try:
        qtbot.waitUntil(lambda: len(ticks) >= 5, timeout=3000)
    finally:
        timer.stop()
