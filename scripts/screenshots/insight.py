"""Render the dashboard (light and dark), the work list and a monthly report page to docs/screenshots/.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots/insight.py   (pdftoppm from poppler-utils)
"""

import base64
import contextlib
import datetime as dt
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("SLS_CONSOLE_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pyotp  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from console.app import Services, open_context  # noqa: E402
from console.models.clock import ManualClock  # noqa: E402
from console.models.demo import generate  # noqa: E402
from console.models.demo_staff import DEMO_PASSWORD, create_demo_staff  # noqa: E402
from console.models.devices import DeviceService  # noqa: E402
from console.models.enums import StaffRole  # noqa: E402
from console.models.errors import ConsoleError  # noqa: E402
from console.models.exporting import ExportService  # noqa: E402
from console.models.settings import Figures  # noqa: E402
from console.models.staff import StaffService  # noqa: E402
from console.models.verification import VerificationService  # noqa: E402
from console.views.desk import Desk  # noqa: E402
from console.views.main_window import MainWindow  # noqa: E402
from console.views.style import apply_theme  # noqa: E402
from tests.sessions import signed_in  # noqa: E402  (a real staff session, as a sign-in makes)

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def staff_days(ctx, days: int) -> None:
    """A fortnight of staff work through the services (sign-ins, a few failures, stock, exports), day by day."""
    staff = StaffService(ctx)
    secrets = {m.username: m.totp_secret for m in create_demo_staff(staff)}
    rng = random.Random(3)
    for day in range(days):
        ctx.clock.advance(days=1)
        actors = {}
        for name, secret in secrets.items():
            if name == "helpdesk" and rng.random() < 0.4:
                with contextlib.suppress(ConsoleError):
                    staff.sign_in(name, "not the password", "000000")
            ctx.clock.advance(seconds=31)
            actors[name] = staff.sign_in(name, DEMO_PASSWORD, pyotp.TOTP(secret).at(ctx.clock.now()))
        serials = [f"DSC9900{day:02d}{i:03d}" for i in range(rng.randint(2, 12))]
        DeviceService(ctx, VerificationService(ctx)).receive_stock(actors["backoffice"], serials)
        if day % 3 == 0:
            ExportService(ctx).export(actors["auditor"], "charges", Path(tempfile.mkdtemp()) / "charges.csv")


def main() -> None:
    app = QApplication([])
    tmp = Path(tempfile.mkdtemp())
    now = dt.datetime.now(dt.UTC)
    ctx = open_context(f"sqlite:///{tmp}/shots.sqlite3", clock=ManualClock(now - dt.timedelta(days=14)))
    generate(ctx, Figures(), 5000, seed=11)
    staff_days(ctx, 14)
    services = Services.build(ctx, signed_in(ctx, "audit01", "Ada Auditor", StaffRole.auditor))

    def settle(desk: Desk) -> None:  # the windows read through the operation runner
        desk.runner.wait_idle()
        for _ in range(20):
            app.processEvents()

    for theme in ("light", "dark"):
        apply_theme(app, theme == "dark")
        desk = Desk.build(services)
        window = MainWindow(desk)
        window.insight.open_dashboard()
        dashboard = window.insight.dashboard
        dashboard.resize(1280, 1000)
        settle(desk)
        dashboard.grab().save(str(OUT / f"dashboard-{theme}.png"))
        if theme == "light":
            dashboard.cards["states"].numbers_button.click()
            app.processEvents()
            dashboard.cards["states"].grab().save(str(OUT / "dashboard-numbers.png"))
            window.insight.open_work_list()
            window.insight.work_list.resize(1100, 560)
            settle(desk)
            window.insight.work_list.grab().save(str(OUT / "work-list.png"))
            window.insight.open_activity()
            window.insight.activity.resize(1100, 900)
            settle(desk)
            window.insight.activity.grab().save(str(OUT / "staff-activity.png"))
        window.close()
    apply_theme(app, False)
    report = tmp / "report.pdf"
    desk = Desk.build(services)
    window = MainWindow(desk)
    window.insight.write_report(f"{ctx.clock.now():%Y-%m}", str(report))
    settle(desk)
    subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile", str(report),
                    str(OUT / "report-page")], check=True)


if __name__ == "__main__":
    main()
