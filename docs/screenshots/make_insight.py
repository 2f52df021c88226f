"""Render the dashboard (light and dark), the work list and a monthly report page to docs/screenshots/.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/make_insight.py   (pdftoppm from poppler-utils)
"""

import base64
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("SLS_CONSOLE_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtWidgets import QApplication  # noqa: E402

from console.app import Services, open_context  # noqa: E402
from console.models.context import Actor  # noqa: E402
from console.models.demo import generate  # noqa: E402
from console.models.enums import StaffRole  # noqa: E402
from console.models.settings import Figures  # noqa: E402
from console.views.main_window import MainWindow  # noqa: E402
from console.views.style import apply_theme  # noqa: E402

OUT = Path(__file__).resolve().parent


def main() -> None:
    app = QApplication([])
    tmp = Path(tempfile.mkdtemp())
    ctx = open_context(f"sqlite:///{tmp}/shots.sqlite3")
    generate(ctx, Figures(), 5000, seed=11)
    services = Services.build(ctx, Actor("audit01", "Ada Auditor", StaffRole.auditor))
    for theme in ("light", "dark"):
        apply_theme(app, theme == "dark")
        window = MainWindow(services)
        window.insight.open_dashboard()
        dashboard = window.insight.dashboard
        dashboard.resize(1280, 1000)
        app.processEvents()
        dashboard.grab().save(str(OUT / f"dashboard-{theme}.png"))
        if theme == "light":
            dashboard.cards["states"].numbers_button.click()
            app.processEvents()
            dashboard.cards["states"].grab().save(str(OUT / "dashboard-numbers.png"))
            window.insight.open_work_list()
            window.insight.work_list.resize(1100, 560)
            app.processEvents()
            window.insight.work_list.grab().save(str(OUT / "work-list.png"))
            window.insight.open_activity()
            window.insight.activity.resize(1100, 900)
            app.processEvents()
            window.insight.activity.grab().save(str(OUT / "staff-activity.png"))
        window.close()
    apply_theme(app, False)
    report = tmp / "report.pdf"
    window = MainWindow(services)
    window.insight.write_report(f"{ctx.clock.now():%Y-%m}", str(report))
    subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile", str(report),
                    str(OUT / "report-page")], check=True)


if __name__ == "__main__":
    main()
