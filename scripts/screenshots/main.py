"""Render the main window and the rights notice on demo data to docs/screenshots/ (offscreen or Xvfb).

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots/main.py
"""

import base64
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("SLS_CONSOLE_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtWidgets import QApplication  # noqa: E402

from console.app import Services, open_context  # noqa: E402
from console.models.demo import generate  # noqa: E402
from console.models.enums import StaffRole  # noqa: E402
from console.models.settings import Figures  # noqa: E402
from console.views.desk import Desk  # noqa: E402
from console.views.main_window import MainWindow  # noqa: E402
from tests.sessions import signed_in  # noqa: E402  (a real staff session, as a sign-in makes)

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def main() -> None:
    app = QApplication([])
    tmp = tempfile.mkdtemp()
    ctx = open_context(f"sqlite:///{tmp}/shots.sqlite3")
    generate(ctx, Figures(), 5000, seed=11)
    window = MainWindow(Desk.build(Services.build(ctx, signed_in(ctx, "hdesk01", "Harriet Desk", StaffRole.help_desk))))
    window.show()
    window.desk.runner.wait_idle()  # the list is read off the GUI thread
    window.filter_edit.setText("smith")
    window.apply_filter()
    while window.model.loading or window.model.state_counts is None:  # a text search runs in the background
        app.processEvents()
    secondary = next(r for r in range(window.model.rowCount())
                     if window.model.row_at(r).role.value == "secondary")
    window.table.selectRow(secondary)
    window.table.setCurrentIndex(window.model.index(secondary, 0))
    app.processEvents()
    window.grab().save(str(OUT / "main-window.png"))
    window.change_security_settings()
    deadline = time.monotonic() + 20
    while window.last_message is None and time.monotonic() < deadline:  # the check runs in the background
        app.processEvents()
        time.sleep(0.02)
    notice = window.last_message
    notice.grab().save(str(OUT / "rights-notice.png"))
    print("wrote", OUT / "main-window.png", OUT / "rights-notice.png")


if __name__ == "__main__":
    main()
