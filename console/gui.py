"""Starting the desktop console: logging, the database, demo data on first run, the main window."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

DEMO_USERS_ON_FIRST_RUN = 10_000


def _setup_logging() -> Path:
    import platformdirs

    log_dir = Path(platformdirs.user_log_dir("sls-console", "SLS"))
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "sls-console.log"
    logging.basicConfig(filename=path, level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return path


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
    from console.app import Services, open_context
    from console.models.changes import ChangeWatcher
    from console.models.demo_staff import create_demo_staff, demo_sign_in_hint, sign_in_instructions
    from console.models.staff import StaffService
    from console.views.desk import Desk
    from console.views.live_changes import LiveChanges
    from console.views.main_window import MainWindow
    from console.views.style import allow_fractional_scaling, app_icon, apply_theme, follow_system_scheme
    from console.views.window_memory import WindowMemory

    log_path = _setup_logging()
    allow_fractional_scaling()
    app = QApplication.instance() or QApplication(sys.argv)
    apply_theme(app)
    app.setApplicationName("SLS Console")
    app.setOrganizationName("SLS")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("sls-console")  # matches resources/sls-console.desktop (Wayland task bars)
    app.setWindowIcon(app_icon())
    ctx = open_context(url)
    logging.getLogger("sls_console").info("console started on %s (log %s)", ctx.db.display_name, log_path)
    staff = StaffService(ctx)
    hint = ""
    if demo_if_empty and _database_is_empty(ctx):
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
    actor = ask_sign_in(staff, ctx.db.display_name, hint, live_hint)
    if actor is None:
        return 0
    from console.app import run_startup_tasks

    logging.getLogger("sls_console").info(run_startup_tasks(ctx))
    desk = Desk.build(Services.build(ctx, actor))
    window = MainWindow(desk)
    live = LiveChanges(ChangeWatcher(ctx.db), desk.bus, window)  # other desks' changes, shown within a second
    live.connection.connect(window.show_connection)
    live.start()
    app.aboutToQuit.connect(live.stop)
    WindowMemory(window).attach()
    follow_system_scheme(app, window.refresh_icons)
    window.show()
    return app.exec()


NO_STAFF_HINT = ("This database has no staff accounts yet. Create the first administrator in a terminal:\n"
                 "  sls-console staff add USERNAME --name \"Full Name\" --role administrator")


def ask_sign_in(staff, database_name: str, hint: str = "", live_hint=None):
    """The sign-in dialog, modal; the signed-in Actor, or None when the person cancels."""
    from console.views.sign_in_dialog import SignInDialog

    dialog = SignInDialog(staff, database_name, hint, live_hint=live_hint)
    return dialog.actor if dialog.exec() else None
