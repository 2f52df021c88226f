"""Showing domain errors and notices to staff: the message as written, never a stack trace."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget

from console.logs import log_path, where_details_are
from console.models.errors import ConcurrentChange, ConsoleError, RightsError, SessionEnded
from console.models.faults import explain
from console.views.session_events import session_events

log = logging.getLogger("sls_console")


def message_box(parent: QWidget, title: str, text: str, icon: QMessageBox.Icon = QMessageBox.Icon.Warning,
                name: str = "messageBox") -> QMessageBox:
    """A window-modal box opened without blocking, so agents (and tests) can read it and carry on."""
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName(name)
    box.setTextInteractionFlags(box.textInteractionFlags())
    box.open()
    return box


def error_text(exc: BaseException) -> str:
    """What to tell the agent about a refusal shown inline: a domain error as written; an ended session as
    written, and the desk is told (it locks and offers sign-in); any other fault the sentence the command line
    prints, its detail logged."""
    if isinstance(exc, SessionEnded):
        session_events().report_once(exc)
    if isinstance(exc, ConsoleError):
        return str(exc)
    log.error("unexpected error", exc_info=exc)
    return f"{explain(exc)} {where_details_are(log_path())}"


def show_error(parent: QWidget, exc: BaseException) -> QMessageBox:
    if isinstance(exc, SessionEnded) and session_events().report_once(exc):
        # The desk locks and offers sign-in; this box is made for callers that keep it, never shown.
        box = QMessageBox(QMessageBox.Icon.Information, "Session ended", str(exc), QMessageBox.StandardButton.Ok,
                          parent)
        box.setObjectName("sessionEndedReported")
        return box
    if isinstance(exc, RightsError):
        return message_box(parent, "Security rights needed", str(exc), QMessageBox.Icon.Information,
                           "rightsNotice")
    if isinstance(exc, ConcurrentChange):
        # The message promises a refreshed view: any screen with refresh() reloads before the agent reads it.
        refresh = getattr(parent, "refresh", None)
        if callable(refresh):
            try:
                refresh()
            except ConsoleError:
                log.warning("refresh after a concurrent change failed", exc_info=True)
        return message_box(parent, "Changed at another desk", str(exc), QMessageBox.Icon.Warning, "concurrentChange")
    if isinstance(exc, ConsoleError):
        return message_box(parent, "Not done", str(exc), QMessageBox.Icon.Warning, "errorBox")
    # A fault outside the console's rules (a full disk, a server gone): the same sentence the command line prints.
    return message_box(parent, "Not done", error_text(exc), QMessageBox.Icon.Critical, "errorBox")


def rights_notice(parent: QWidget, exc: RightsError, open_holder: Callable[[], object]) -> QMessageBox:
    """The rights notice, offering to open the holder's record (the default: that is the next step)."""
    box = QMessageBox(QMessageBox.Icon.Information, "Security rights needed", str(exc),
                      QMessageBox.StandardButton.Close, parent)
    box.setObjectName("rightsNotice")
    go = box.addButton(f"&Open {exc.holder_username}", QMessageBox.ButtonRole.AcceptRole)
    go.setObjectName("openHolder")
    box.setDefaultButton(go)
    box.setEscapeButton(QMessageBox.StandardButton.Close)
    go.clicked.connect(open_holder)
    box.open()
    return box


REPORT_MS = 20_000


def report_done(parent: QWidget, text: str) -> str:
    """Say what was done, once: in the status bar of the window that asked (a box where it has none)."""
    from PySide6.QtWidgets import QMainWindow

    widget: QWidget | None = parent
    while widget is not None and not isinstance(widget, QMainWindow):
        widget = widget.parentWidget()
    if isinstance(widget, QMainWindow):
        widget.statusBar().showMessage(text, REPORT_MS)
        widget.setProperty("lastReport", text)
    else:
        message_box(parent, "Done", text, QMessageBox.Icon.Information, "doneBox")
    log.info("done: %s", text)
    return text


def last_report(window: QWidget) -> str:
    """The last report_done text shown in `window` (tests, and the e2e journeys, read it)."""
    value = window.property("lastReport")
    return str(value) if value else ""
