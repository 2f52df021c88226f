"""Render the sign-in dialog, the audit trail and the staff dialog on demo data to docs/screenshots/.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots/trust.py
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

from console.app import Services, open_context  # noqa: E402
from console.models.demo import generate  # noqa: E402
from console.models.demo_staff import create_demo_staff, sign_in_instructions  # noqa: E402
from console.models.enums import StaffRole  # noqa: E402
from console.models.settings import Figures  # noqa: E402
from console.models.staff import StaffService  # noqa: E402
from console.views.audit_view import AuditView  # noqa: E402
from console.views.desk import Desk  # noqa: E402
from console.views.sign_in_dialog import SignInDialog  # noqa: E402
from console.views.staff_dialog import StaffDialog  # noqa: E402
from tests.sessions import signed_in  # noqa: E402  (a real staff session, as a sign-in makes)

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def main() -> None:
    app = QApplication([])
    tmp = tempfile.mkdtemp()
    ctx = open_context(f"sqlite:///{tmp}/shots.sqlite3")
    generate(ctx, Figures(), 2000, seed=11)
    staff = StaffService(ctx)
    enrollments = create_demo_staff(staff)
    dialog = SignInDialog(staff, ctx.db.display_name, sign_in_instructions(enrollments))
    dialog.show()
    dialog.username.setText("helpdesk")
    dialog.password.setText("wrong password")
    dialog.code.setText("123456")
    dialog.try_sign_in()
    app.processEvents()
    dialog.grab().save(str(OUT / "sign-in.png"))

    view = AuditView(Desk.build(Services.build(ctx, signed_in(ctx, "auditor", "Ada Auditor", StaffRole.auditor))))
    view.show()
    view.desk.runner.wait_idle()  # the entries are read off the GUI thread
    view.verify_chain()
    view.desk.runner.wait_idle()
    view.last_message.close()
    app.processEvents()
    view.grab().save(str(OUT / "audit-trail.png"))

    admin = signed_in(ctx, "admin", "Alex Admin", StaffRole.administrator)
    staff_dialog = StaffDialog(Desk.build(Services.build(ctx, admin)))
    staff_dialog.show()
    staff_dialog.desk.runner.wait_idle()  # the staff are read off the GUI thread
    staff_dialog.select("helpdesk")
    staff_dialog.reset_selected()
    staff_dialog.desk.runner.wait_idle()
    app.processEvents()
    staff_dialog.grab().save(str(OUT / "staff.png"))
    print("wrote", OUT / "sign-in.png", OUT / "audit-trail.png", OUT / "staff.png", sign_in_demo(OUT))


def sign_in_demo(out_dir: Path) -> Path:
    """The sign-in dialog on a demo database: demo password and each demo member's current code."""
    from console.models.demo_staff import demo_sign_in_hint

    ctx = open_context(f"sqlite:///{tempfile.mkdtemp()}/demo.sqlite3")
    staff = StaffService(ctx)
    create_demo_staff(staff)
    dialog = SignInDialog(staff, "sqlite:////home/desk/.local/share/sls-console/sls-console.sqlite3",
                          demo_sign_in_hint(staff), live_hint=lambda: demo_sign_in_hint(staff))
    dialog.show()
    QApplication.processEvents()
    path = out_dir / "sign-in-demo.png"
    dialog.grab().save(str(path))
    return path


if __name__ == "__main__":
    main()

