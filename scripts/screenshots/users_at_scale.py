"""Render the main window on a million users, scrolled to the last row and searching inside names.

Run after the benchmark has built its database (benchmarks/users_list.py):
    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots/users_at_scale.py [DATABASE]
"""

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PySide6.QtWidgets import QApplication  # noqa: E402

from console.app import Services  # noqa: E402
from console.models.context import ServiceContext  # noqa: E402
from console.models.db import Database  # noqa: E402
from console.models.enums import StaffRole  # noqa: E402
from console.models.sealing import SecretBox  # noqa: E402
from console.views.desk import Desk  # noqa: E402
from console.views.main_window import MainWindow  # noqa: E402
from tests.sessions import signed_in  # noqa: E402  (a real staff session, as a sign-in makes)

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DEFAULT_DB = ROOT / "benchmarks" / "data" / "users-1m.sqlite3"


def _settle(app, window) -> None:
    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline:
        app.processEvents()
        model, table = window.model, window.table
        top = table.rowAt(0)
        bottom = table.rowAt(table.viewport().height() - 2)
        bottom = model.rowCount() - 1 if bottom < 0 else bottom
        settled = (not model.loading and model.state_counts is not None and top >= 0
                   and all(model.data(model.index(r, 0)) != "…" for r in range(top, bottom + 1)))
        if settled:
            break
        time.sleep(0.005)
    app.processEvents()


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DB
    app = QApplication([])
    ctx = ServiceContext(db=Database(f"sqlite:///{path}"), box=SecretBox(bytes(range(32))))
    window = MainWindow(Desk.build(Services.build(ctx, signed_in(ctx, "hdesk01", "Harriet Desk", StaffRole.help_desk))))
    window.show()
    window.desk.runner.wait_idle()  # the list is read off the GUI thread
    window.table.scrollToBottom()
    last = window.model.rowCount() - 1
    window.table.selectRow(last)
    window.table.setCurrentIndex(window.model.index(last, 0))
    _settle(app, window)
    window.grab().save(str(OUT / "users-million-last-row.png"))
    window.contains_check.setChecked(True)
    window.filter_edit.setText("ohnso")
    window.apply_filter()
    _settle(app, window)
    window.grab().save(str(OUT / "users-million-inside-names.png"))
    print("wrote", OUT / "users-million-last-row.png", OUT / "users-million-inside-names.png")


if __name__ == "__main__":
    main()
