"""Run by the Python of the environment the wheel was installed into (see .ci/installed.sh): opens the main
window offscreen on a demo database, signed in as the demo help-desk agent, and checks it lists users and
draws its icons, all from the installed package (never the checkout)."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

url, checkout = sys.argv[1], Path(sys.argv[2]).resolve()

import console  # noqa: E402
from console.resources import RESOURCES  # noqa: E402

assert not Path(console.__file__).resolve().is_relative_to(checkout), f"console imported from {console.__file__}"
assert RESOURCES.name == "_resources" and (RESOURCES / "style.qss").exists(), f"resources at {RESOURCES}"

from PySide6.QtWidgets import QApplication  # noqa: E402

from console.app import Services, open_context  # noqa: E402
from console.models.demo_staff import DEMO_PASSWORD, demo_sign_in_hint  # noqa: E402
from console.models.staff import StaffService  # noqa: E402
from console.views.desk import Desk  # noqa: E402
from console.views.main_window import MainWindow  # noqa: E402
from console.views.style import app_icon, apply_theme  # noqa: E402

app = QApplication([])
apply_theme(app)
ctx = open_context(url)
staff = StaffService(ctx)
code = re.search(r"^\s*helpdesk\s.*code now (\d{6})\s*$", demo_sign_in_hint(staff), re.M)
assert code, "the demo database lists no help-desk code"
actor = staff.sign_in("helpdesk", DEMO_PASSWORD, code.group(1))
window = MainWindow(Desk.build(Services.build(ctx, actor)))
window.show()
deadline = time.monotonic() + 30
model = window.table.model()
while time.monotonic() < deadline and model.rowCount() == 0:
    app.processEvents()
    time.sleep(0.05)
assert model.rowCount() > 0, "the main window listed no users"
assert not app_icon().isNull() and not window.windowIcon().isNull(), "no application icon"
window.grab().save(str(Path(url.removeprefix("sqlite:///")).with_suffix(".png")))
print(f"main window opened from {Path(console.__file__).parent}: {model.rowCount()} users listed")
window.close()
