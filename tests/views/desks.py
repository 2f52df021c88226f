"""Helpers for driving windows: a desk for a staff member, and waiting for the operation runner."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from console.app import Services
from console.views.desk import Desk


def desk_for(ctx, actor) -> Desk:
    return Desk.build(Services.build(ctx, actor))


def settle(qtbot, desk: Desk) -> None:
    """Wait until every operation asked for has run and reported (and the change bus has been heard)."""
    qtbot.waitUntil(desk.runner.is_idle, timeout=10_000)
    qtbot.wait(1)  # the windows' coalesced refresh (a zero-delay timer) runs


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
