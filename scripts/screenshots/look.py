"""Render the desk's look to docs/screenshots/: the theme chosen in Settings (light, then dark applied at once to
the open windows, charts included) and the main window at 1024×700 with a client holding several devices.

Run: .venv/bin/python scripts/screenshots look   (offscreen; or --platform xcb under Xvfb)
"""

import base64
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("SLS_CONSOLE_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
os.environ.pop("SLS_CONSOLE_THEME", None)  # the scene chooses the theme in Settings, as an agent would
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from console.app import Services, open_context  # noqa: E402
from console.models.demo import generate  # noqa: E402
from console.models.entities import DeviceHolding, SecurityDevice  # noqa: E402
from console.models.enums import DeviceState, StaffRole  # noqa: E402
from console.models.settings import Figures  # noqa: E402
from console.views.desk import Desk  # noqa: E402
from console.views.main_window import MainWindow  # noqa: E402
from console.views.preferences import Theme  # noqa: E402
from console.views.style import apply_theme  # noqa: E402
from tests.sessions import signed_in  # noqa: E402  (a real staff session, as a sign-in makes)

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def settle(app, desk: Desk) -> None:
    desk.runner.wait_idle()
    for _ in range(10):
        app.processEvents()


def busiest_user(ctx) -> int:
    """A client holding the most devices (in use and history): the widest device table the demo has."""
    with ctx.db.read() as s:
        return s.execute(select(DeviceHolding.user_id)
                         .join(SecurityDevice, SecurityDevice.id == DeviceHolding.device_id)
                         .where(SecurityDevice.state != DeviceState.in_stock).group_by(DeviceHolding.user_id)
                         .order_by(func.count().desc(), DeviceHolding.user_id).limit(1)).scalar_one()


def main() -> None:
    tmp = tempfile.mkdtemp()
    for form in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):  # never this computer's preferences
        QSettings.setPath(form, QSettings.Scope.UserScope, tmp)
    app = QApplication([])
    apply_theme(app, dark=False)
    ctx = open_context(f"sqlite:///{tmp}/shots.sqlite3")
    generate(ctx, Figures(), 2000, seed=11)
    staff = signed_in(ctx, "admin01", "Ada Admin", StaffRole.administrator)
    desk = Desk.build(Services.build(ctx, staff))
    window = MainWindow(desk)
    window.resize(1024, 700)
    window.show()
    settle(app, desk)
    user_id = busiest_user(ctx)
    username = desk.services.directory.details(user_id).username
    window.show_users(username, user_id=user_id)
    while window.current_user_id() != user_id or window.detail.details is None:  # the list's search, then the pane
        app.processEvents()
    settle(app, desk)
    window.grab().save(str(OUT / "detail-1024x700.png"))

    window.insight.open_dashboard()
    dashboard = window.insight.dashboard
    dashboard.resize(1024, 700)
    settle(app, desk)
    settings = window.back_office.open_settings()
    settle(app, desk)  # the figures are read off the GUI thread
    settings.grab().save(str(OUT / "settings-theme-light.png"))
    settings.theme_combo.setCurrentIndex(list(Theme).index(Theme.dark))
    settle(app, desk)
    settings.grab().save(str(OUT / "settings-theme-dark.png"))
    window.grab().save(str(OUT / "main-window-dark.png"))
    dashboard.grab().save(str(OUT / "dashboard-after-theme-dark.png"))
    print("wrote detail-1024x700.png, settings-theme-light.png, settings-theme-dark.png, main-window-dark.png,"
          " dashboard-after-theme-dark.png to", OUT)


if __name__ == "__main__":
    main()
