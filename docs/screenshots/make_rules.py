"""Render the users list filtered to "No active device" (after the start-up run on demo data) and the
close-account dialog to docs/screenshots/.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/make_rules.py
"""

import base64
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("SLS_CONSOLE_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtWidgets import QApplication  # noqa: E402

from console.app import Services, open_context, run_startup_tasks  # noqa: E402
from console.models.context import Actor  # noqa: E402
from console.models.demo import generate  # noqa: E402
from console.models.enums import SlsState, StaffRole  # noqa: E402
from console.models.settings import Figures  # noqa: E402
from console.views.desk import Desk  # noqa: E402
from console.views.main_window import MainWindow  # noqa: E402

OUT = Path(__file__).resolve().parent


def main() -> None:
    app = QApplication([])
    tmp = tempfile.mkdtemp()
    ctx = open_context(f"sqlite:///{tmp}/shots.sqlite3")
    generate(ctx, Figures(), 2000, seed=5)
    run_startup_tasks(ctx)
    staff = Actor("boff01", "Bob Office", StaffRole.back_office)
    desk = Desk.build(Services.build(ctx, staff))
    window = MainWindow(desk)
    window.resize(1280, 720)
    window.show()
    window.state_combo.setCurrentIndex(window.state_combo.findData(SlsState.no_device))
    for _ in range(200):
        app.processEvents()
        if window.model.rowCount():
            break
        desk.runner.wait_idle() if hasattr(desk.runner, "wait_idle") else None
    first = window.services.directory.without_active_device(0, 1)[0]
    window.select_user(first.id)
    desk.runner.wait_idle()  # the detail pane reads the user off the GUI thread
    for _ in range(50):
        app.processEvents()
    window.grab().save(str(OUT / "users-no-active-device.png"))

    dialog = window.back_office.open_close_account()
    app.processEvents()
    dialog.grab().save(str(OUT / "close-account.png"))


if __name__ == "__main__":
    main()
