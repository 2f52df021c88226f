"""Render the agent's-desk screens on demo data to docs/screenshots/: the Find box's empty result, the rights
notice that opens the holder, the detail pane at 1024×700, unlocking a device, the replacement and ship
questions, the sharing page's other usernames and the training window (Client's devices).

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/make_agent_desk.py
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
from sqlalchemy import select  # noqa: E402

from console.app import Services, open_context  # noqa: E402
from console.models.context import Actor  # noqa: E402
from console.models.demo import generate  # noqa: E402
from console.models.demo_staff import create_demo_staff  # noqa: E402
from console.models.entities import DeviceHolding, SecurityDevice, User  # noqa: E402
from console.models.enums import DeviceKind, DeviceState, SlsState, StaffRole, UserRole  # noqa: E402
from console.models.settings import Figures  # noqa: E402
from console.models.staff import StaffService  # noqa: E402
from console.views.desk import Desk  # noqa: E402
from console.views.main_window import MainWindow  # noqa: E402

OUT = Path(__file__).resolve().parent
HELP_DESK = Actor("helpdesk", "Harriet Desk", StaffRole.help_desk)
BACK_OFFICE = Actor("backoffice", "Bob Office", StaffRole.back_office)


def settle(app, desk) -> None:
    while not desk.runner.is_idle():
        desk.runner.wait_idle(100)
        app.processEvents()
    for _ in range(5):
        app.processEvents()


def wait_list(app, window) -> None:
    while window.model.loading or window.model.state_counts is None:
        app.processEvents()
    app.processEvents()


def find(app, window, text: str) -> None:
    window.filter_edit.setText(text)
    window.apply_filter()
    wait_list(app, window)


def save(widget, name: str) -> None:
    widget.grab().save(str(OUT / name))
    print("wrote", OUT / name)


def main() -> None:
    app = QApplication([])
    tmp = tempfile.mkdtemp()
    ctx = open_context(f"sqlite:///{tmp}/shots.sqlite3")
    generate(ctx, Figures(), 3000, seed=11)
    create_demo_staff(StaffService(ctx))
    desk = Desk.build(Services.build(ctx, HELP_DESK))
    window = MainWindow(desk)
    window.resize(1280, 800)
    window.show()

    # Find: a surname by default; an empty result says what was searched and offers the wider search.
    find(app, window, "mith")
    save(window, "find-empty-result.png")
    find(app, window, "Tanaka")
    save(window, "find-surname.png")

    # The rights notice offers to open the holder.
    secondary = next(r for r in range(window.model.rowCount()) if window.model.row_at(r).role.value == "secondary")
    window.table.selectRow(secondary)
    window.table.setCurrentIndex(window.model.index(secondary, 0))
    window.change_security_settings()
    settle(app, desk)
    save(window.last_message, "rights-notice.png")
    window.last_message.close()

    # A user with a device history (a lost card) and a card on its way, at 1024×700.
    with ctx.db.read() as s:
        holder = s.scalar(select(User.username).join(DeviceHolding, DeviceHolding.user_id == User.id)
                          .join(SecurityDevice, SecurityDevice.id == DeviceHolding.device_id)
                          .where(SecurityDevice.state.in_([DeviceState.lost, DeviceState.return_pending]),
                                 User.sls_state == SlsState.enrolled, User.role == UserRole.primary)
                          .order_by(User.username).limit(1))
    find(app, window, holder)
    window._go_to_first_match()
    wait_list(app, window)
    window.resize(1024, 700)
    app.processEvents()
    save(window, "detail-1024x700.png")
    window.resize(1280, 800)

    # Unlocking a locked device from the security settings.
    with ctx.db.write() as s:
        user = s.scalar(select(User).where(User.username == holder))
        device = next(h.device for h in user.holdings if h.device.state is DeviceState.active)
        device.locked, device.failed_attempts = True, 5
        device_id = device.id
    window.refresh()
    wait_list(app, window)
    window.change_security_settings()
    settle(app, desk)
    dialog = window.security_dialog
    if dialog is not None:
        dialog.pane.select_device(device_id)
        app.processEvents()
        save(dialog, "security-settings-locked.png")
        dialog.unlock_action.trigger()
        app.processEvents()
        save(dialog.unlock_dialog, "unlock-device.png")
        dialog.unlock_dialog.reject()
        dialog.reject()

    # Training: the client's devices on a demo database.
    with ctx.db.read() as s:
        ib_user = s.scalar(select(User.username).join(DeviceHolding, DeviceHolding.user_id == User.id)
                           .join(SecurityDevice, SecurityDevice.id == DeviceHolding.device_id)
                           .where(SecurityDevice.kind == DeviceKind.ib_key, SecurityDevice.state == DeviceState.active)
                           .order_by(User.username).limit(1))
    find(app, window, ib_user)
    window._go_to_first_match()
    wait_list(app, window)
    window.open_client_devices()
    app.processEvents()
    save(window.client_devices, "client-devices.png")
    window.client_devices.close()

    # Back office: the ship question shows equity and eligibility; the replacement shows the fee.
    bo_desk = Desk.build(Services.build(ctx, BACK_OFFICE))
    from console.views.devices_view import DevicesWindow

    devices = DevicesWindow(bo_desk)
    devices.show()
    bo_desk.services.devices.receive_stock(BACK_OFFICE, "DSC900100001-DSC900100003")
    devices.serial_edit.setText("DSC900100001")
    devices._go_to_first_match()
    devices.ship_action.trigger()
    ship = devices.dialog
    with ctx.db.read() as s:
        rich = s.scalar(select(User.username).join(User.account).where(User.sls_state == SlsState.enrolled)
                        .order_by(User.account.property.mapper.class_.equity_cents.desc()).limit(1))
    ship.username.setText(rich)
    ship.try_submit()
    settle(app, bo_desk)
    if ship.confirm_box is not None:
        save(ship.confirm_box, "ship-confirm.png")
        ship.confirm_box.reject()
    ship.reject()
    with ctx.db.read() as s:
        lost = s.scalar(select(SecurityDevice.serial).where(SecurityDevice.kind == DeviceKind.dsc_plus,
                                                            SecurityDevice.state == DeviceState.lost).limit(1))
    if lost:
        devices.serial_edit.setText(lost)
        devices._go_to_first_match()
        devices.replace_action.trigger()
        replace = devices.dialog
        replace.serial.setText("DSC900100002")
        app.processEvents()
        save(replace, "replacement.png")
        replace.reject()


if __name__ == "__main__":
    main()
