"""Starting the desktop console: logging, the database, demo data on first run, the main window."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QTimer

from console.logs import setup_logging, where_details_are
from console.views.session_events import session_events

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from console.models.context import Actor

DEMO_USERS_ON_FIRST_RUN = 10_000


def _database_is_empty(ctx) -> bool:
    from sqlalchemy import select

    from console.models.entities import User

    with ctx.db.read() as s:
        return s.scalar(select(User.id).limit(1)) is None


def _fill_demo(app, ctx) -> None:
    from PySide6.QtWidgets import QProgressDialog

    from console.models.demo import generate
    from console.models.settings import load_figures

    dialog = QProgressDialog("Empty database: adding demo data…", None, 0, DEMO_USERS_ON_FIRST_RUN)
    dialog.setWindowTitle("SLS Console")
    dialog.setMinimumDuration(0)
    dialog.show()

    def progress(done: int, total: int) -> None:
        dialog.setValue(done)
        app.processEvents()

    with ctx.db.read() as s:
        figures = load_figures(s)
    generate(ctx, figures, DEMO_USERS_ON_FIRST_RUN, progress=progress)
    dialog.close()


def run_gui(url: str, demo_if_empty: bool = True) -> int:
    from PySide6.QtWidgets import QApplication

    from console import __version__
    from console.views.collector import collect_on_gui_thread
    from console.views.preferences import apply_saved_theme
    from console.views.style import allow_fractional_scaling, app_icon, follow_system_scheme

    log_path = setup_logging()
    allow_fractional_scaling()
    app = QApplication.instance() or QApplication(sys.argv)
    collect_on_gui_thread(app)  # never on a worker thread, where it could freeze the console (collector.py)
    apply_saved_theme(app)  # the theme this desk chose in Settings (the system's unless one was chosen)
    app.setApplicationName("SLS Console")
    app.setOrganizationName("SLS")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("sls-console")  # matches resources/sls-console.desktop (Wayland task bars)
    app.setWindowIcon(app_icon())
    try:
        ctx, staff, hint, live_hint = _open_desk(app, url, demo_if_empty, log_path)
    except Exception as exc:  # a damaged, read-only, newer or unreachable database: one sentence, no crash
        from console.models.faults import explain

        logging.getLogger("sls_console").exception("the console could not start on %s", url)
        show_start_fault(explain(exc, url), where_details_are(log_path))
        return 2
    from console.app import run_startup_tasks

    session = DeskSession(app, ctx, staff, lambda: ask_sign_in(staff, ctx.db.display_name, hint, live_hint),
                          ask_again=lambda notice, actor: ask_sign_in(staff, ctx.db.display_name, hint, live_hint,
                                                                      notice=notice, resume=actor))
    follow_system_scheme(app)  # windows redraw their icons and charts on the palette change
    if not session.sign_in():
        return 0
    try:
        logging.getLogger("sls_console").info(run_startup_tasks(ctx))
    except Exception:  # the desk works without them; they run again at the next start
        logging.getLogger("sls_console").exception("the start-up tasks failed")
    try:
        return app.exec()
    finally:
        session.end()  # the session ends with the window


def _open_desk(app, url: str, demo_if_empty: bool, log_path):
    """The database, opened and checked, with demo data on a first run; the staff service and the sign-in hint."""
    from console.app import open_context
    from console.models.demo_staff import create_demo_staff, demo_sign_in_hint, sign_in_instructions
    from console.models.staff import StaffService

    ctx = open_context(url)
    ctx.db.check_writable()  # a read-only file is told now, not at the first sign-in
    logging.getLogger("sls_console").info("console started on %s (log %s)", ctx.db.display_name, log_path)
    staff = StaffService(ctx)
    hint = ""
    if demo_if_empty and _database_is_empty(ctx) and not staff.has_staff():  # staff of its own: never demo
        _fill_demo(app, ctx)
        enrollments = create_demo_staff(staff)
        if enrollments:
            hint = sign_in_instructions(enrollments)
            print(hint, flush=True)
    live_hint = None
    if not staff.has_staff():
        hint = NO_STAFF_HINT
    elif demo_sign_in_hint(staff):
        hint, live_hint = demo_sign_in_hint(staff), lambda: demo_sign_in_hint(staff)
    return ctx, staff, hint, live_hint


def show_start_fault(sentence: str, details: str) -> None:
    """The one box a start-up fault shows: what happened and what to do, and where the log is."""
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(QMessageBox.Icon.Critical, "SLS Console cannot start", sentence, QMessageBox.StandardButton.Close)
    box.setObjectName("startFault")
    box.setInformativeText(details)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.exec()


class DeskSession(QObject):
    """One desk after another: sign in, work, sign out or lock, and the next staff member signs in, without
    quitting. Each sign-in gets a new window (a clean desk: no previous search, no open dialogs)."""

    def __init__(self, app, ctx, staff, ask, on_window=None, ask_again=None) -> None:
        super().__init__()
        self.app, self.ctx, self.staff = app, ctx, staff
        self.ask = ask  # () -> Actor | None: the sign-in dialog
        # (why, the desk's Actor) -> Actor | None: the sign-in dialog after the session ended; the same member
        # gets the desk's own session back (StaffService.sign_in(resume=...)).
        self.ask_again = ask_again or (lambda notice, actor: self.ask())
        self._asking_again = False
        self.on_window = on_window
        self.window = None
        self.actor = None
        self.live = None
        app.aboutToQuit.connect(lambda: self.live.stop() if self.live is not None else None)
        app.setQuitOnLastWindowClosed(False)  # between two desks no window is open

    def sign_in(self) -> bool:
        from console.app import Services
        from console.models.changes import ChangeWatcher
        from console.views.desk import Desk
        from console.views.live_changes import LiveChanges
        from console.views.main_window import MainWindow
        from console.views.window_memory import WindowMemory

        actor = self.ask()
        if actor is None:
            self.app.quit()
            return False
        self.actor = actor
        window = MainWindow(Desk.build(Services.build(self.ctx, actor)))
        # Other desks' changes, shown within a second; stopped when this desk closes.
        self.live = LiveChanges(ChangeWatcher(self.ctx.db), window.desk.bus, window)
        self.live.connection.connect(window.show_connection)
        self.live.start()
        WindowMemory(window).attach()
        window.sign_out_requested.connect(self.sign_out)
        window.lock_requested.connect(self.lock)
        window.installEventFilter(self)
        if self.on_window is not None:
            self.on_window(window)
        self.window = window
        session_events().listen(self._take_session_end)
        window.destroyed.connect(self._window_gone)
        window.present()
        return True

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        # Quit (or the window's close button) ends the console; sign-out and lock close the desk themselves.
        if watched is self.window and event.type() == QEvent.Type.Close:
            QTimer.singleShot(0, self.app.quit)
        return False

    def end(self) -> None:
        """End the signed-in staff member's session: services refuse it from now on."""
        actor, self.actor = self.actor, None
        if actor is not None and self.staff is not None:
            self.staff.sign_out(actor)

    def _take_session_end(self, why: str) -> bool:
        """Whether this desk takes on a "session ended" refusal: only while its window is the one in use. The
        lock runs after the refusal's own report has finished (so the desk's runner can go idle)."""
        if self.window is None or not (self.window.isVisible() or self._asking_again):
            return False
        if not self._asking_again:
            QTimer.singleShot(0, lambda: self.session_ended(why))
        return True

    def _window_gone(self) -> None:
        """The window was deleted without the desk closing it (tests, a crash): stop listening for it."""
        self.window = None
        session_events().forget(self._take_session_end)

    def _close_desk(self) -> None:
        window, self.window = self.window, None
        session_events().forget(self._take_session_end)
        if window is not None:
            window.destroyed.disconnect(self._window_gone)
        if self.live is not None:
            self.live.stop()
            self.live = None
        if window is not None:
            window.desk.runner.wait_idle()
            window.close()
            window.deleteLater()

    def sign_out(self) -> None:
        logging.getLogger("sls_console").info("%s signed out", self.actor.username if self.actor else "?")
        self._close_desk()
        self.end()
        self.sign_in()

    def lock(self) -> None:
        """Hide the desk; the same staff member gets it back as it was, anyone else gets a clean one."""
        window = self.window
        if window is None:
            return
        hidden = self._hide_windows()
        actor = self.ask()
        same = actor is not None and self.actor is not None and actor.username == self.actor.username
        if same and self.staff is not None:
            self.staff.sign_out(actor)  # the desk goes on with its own session; this one is not needed
        self._hand_over(actor, same, hidden)


    def _hide_windows(self) -> list[QWidget]:
        hidden = [w for w in self.app.topLevelWidgets() if w.isVisible()]
        active = self.app.activeWindow()
        if active in hidden:  # shown last, so it is on top and active again when the desk comes back
            hidden.remove(active)
            hidden.append(active)
        for w in hidden:
            w.hide()
        return hidden

    def _hand_over(self, actor: Actor | None, same: bool, hidden: list[QWidget]) -> None:
        """After a lock or an ended session: the same member gets the hidden windows back as they were, anyone
        else a clean desk signed in as `actor`; nobody (Cancel) quits."""
        if same:
            for w in hidden:
                w.show()
            if hidden:  # the keyboard goes back where it was: the window the agent was in, on top
                hidden[-1].raise_()
                hidden[-1].activateWindow()
            return
        self._close_desk()
        self.end()
        if actor is None:
            self.app.quit()
            return
        original, self.ask = self.ask, lambda: actor
        try:
            self.sign_in()
        finally:
            self.ask = original

    def session_ended(self, why: str) -> None:
        """A service refused because this desk's session ended (signed out elsewhere, idle, deactivated, locked):
        the desk locks and asks for a sign-in. The same member gets the desk back as it was, on its own session
        reopened; anyone else gets a clean desk; Cancel quits. Reports arriving meanwhile are the same news."""
        if self._asking_again or self.window is None:
            return
        self._asking_again = True
        try:
            hidden = self._hide_windows()
            ended = self.actor
            back = f"{ended.username} gets" if ended is not None else "The same staff member gets"
            # A member whose role changed starts a clean desk (sessions.resume_session): its menus were the old role's.
            actor = self.ask_again(f"{why} {back} the desk back as it was, unless the role changed; anyone else "
                                   f"starts a clean desk.", ended)
            self._hand_over(actor, actor is not None and ended is not None and actor is ended, hidden)
        finally:
            self._asking_again = False


NO_STAFF_HINT = ("This database has no staff accounts yet. Create the first administrator in a terminal:\n"
                 "  sls-console staff add USERNAME --name \"Full Name\" --role administrator")


def ask_sign_in(staff, database_name: str, hint: str = "", live_hint=None, notice: str = "", resume=None):
    """The sign-in dialog, modal; the signed-in Actor, or None when the person cancels."""
    from console.views.sign_in_dialog import SignInDialog

    dialog = SignInDialog(staff, database_name, hint, live_hint=live_hint, notice=notice, resume=resume)
    return dialog.actor if dialog.exec() else None
