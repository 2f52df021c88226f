"""Render the devices screen, the loss report, the passcode shown once and the charges screen to docs/screenshots/.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots/devices.py
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

from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402
from sqlalchemy import select  # noqa: E402

from console.app import Services, open_context  # noqa: E402
from console.models.demo import generate  # noqa: E402
from console.models.entities import DeviceHolding, SecurityDevice, User  # noqa: E402
from console.models.enums import DeviceKind, DeviceState, SlsState, StaffRole  # noqa: E402
from console.models.settings import Figures  # noqa: E402
from console.views.charges_view import ChargesWindow  # noqa: E402
from console.views.desk import Desk  # noqa: E402
from console.views.device_dialogs import PasscodeDialog, ReportDialog  # noqa: E402
from console.views.devices_view import DevicesWindow  # noqa: E402
from tests.sessions import signed_in  # noqa: E402  (a real staff session, as a sign-in makes)

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def settle(app: QApplication, dialog) -> None:
    """Let the dialog's service call run (off the GUI thread), saying yes to its confirmation if it asks."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        app.processEvents()
        box = getattr(dialog, "confirm_box", None)
        if box is not None and box.isVisible():
            box.button(QMessageBox.StandardButton.Yes).click()
        elif dialog.desk.runner.is_idle():
            break
        time.sleep(0.02)
    app.processEvents()


def main() -> None:
    app = QApplication([])
    tmp = tempfile.mkdtemp()
    ctx = open_context(f"sqlite:///{tmp}/shots.sqlite3")
    generate(ctx, Figures(), 3000, seed=11)
    staff = signed_in(ctx, "boff01", "Bob Office", StaffRole.back_office)
    services = Services.build(ctx, staff)
    services.devices.receive_stock(staff, "DSC900000001-DSC900000012")

    window = DevicesWindow(Desk.build(services))
    window.kind_combo.setCurrentIndex(window.kind_combo.findData(DeviceKind.dsc_plus))
    window.state_combo.setCurrentIndex(window.state_combo.findData(DeviceState.shipped))
    window.show()
    window.desk.runner.wait_idle()  # the devices are read off the GUI thread
    window.table.selectRow(0)
    window.table.setCurrentIndex(window.model.index(0, 0))
    app.processEvents()
    window.grab().save(str(OUT / "devices.png"))

    # An enrolled user's only active device, reported lost with a temporary passcode.
    with ctx.db.read() as s:
        user = s.scalars(select(User).where(User.sls_state == SlsState.enrolled, User.active_devices == 1)
                         .order_by(User.id)).first()
        device_id = s.scalar(select(SecurityDevice.id).join(DeviceHolding)
                             .where(DeviceHolding.user_id == user.id, SecurityDevice.state == DeviceState.active))
        username, user_id = user.username, user.id
    agent = signed_in(ctx, "hdesk01", "Harriet Desk", StaffRole.help_desk)
    desk = Desk.build(Services.build(ctx, agent))
    report = ReportDialog(desk, device_id, "IB Key", desk.services.devices.holders(device_id), user_id, window)
    report.issue_passcode.setChecked(True)
    report.identity.setChecked(True)
    report.show()
    app.processEvents()
    report.grab().save(str(OUT / "report-loss.png"))
    report.try_submit()
    settle(app, report)
    issued = report.result_value.temporary_passcode
    shown = PasscodeDialog(desk, issued, window)
    shown.show()
    app.processEvents()
    shown.grab().save(str(OUT / "temporary-passcode.png"))

    shown.open_online_card()
    card = shown.card_dialog
    card.try_submit()  # issues the card and draws two index numbers
    settle(app, card)
    card.grab().save(str(OUT / "online-card-after-loss.png"))

    charges = ChargesWindow(Desk.build(services), "")
    charges.show()
    pending = next(r for r in range(charges.model.rowCount()) if charges.model.row_at(r).status.value == "pending")
    charges.select_row(pending)
    app.processEvents()
    charges.grab().save(str(OUT / "charges.png"))
    print("wrote devices.png, report-loss.png, temporary-passcode.png, online-card-after-loss.png, charges.png to",
          OUT, "for", username)


if __name__ == "__main__":
    main()
