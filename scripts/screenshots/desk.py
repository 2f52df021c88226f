"""Render the desk's shared conventions to docs/screenshots/: a confirmation that names what it acts on, the
report of what was done in the status bar, the replacement dialog's distinct mnemonics, and the main window's
menus for a help-desk agent (what the role may not do is hidden).

Run under Xvfb (a confirmation box is grabbed from the screen): xvfb-run -a .venv/bin/python scripts/screenshots desk
--platform xcb
"""

import base64
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("SLS_CONSOLE_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from console.app import Services, open_context  # noqa: E402
from console.models.demo import generate  # noqa: E402
from console.models.devices import DeviceQuery  # noqa: E402
from console.models.enums import DeviceKind, DeviceState, StaffRole  # noqa: E402
from console.models.settings import Figures  # noqa: E402
from console.views.desk import Desk  # noqa: E402
from console.views.devices_view import DevicesWindow  # noqa: E402
from console.views.main_window import MainWindow  # noqa: E402
from tests.sessions import signed_in  # noqa: E402  (a real staff session, as a sign-in makes)

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def grab_screen(widget, name: str) -> None:
    """The window with whatever is open over it (a confirmation box), as the agent sees it."""
    QApplication.processEvents()
    screen = widget.screen()
    geometry = widget.frameGeometry()
    screen.grabWindow(0, geometry.x(), geometry.y(), geometry.width(), geometry.height()).save(str(OUT / name))


def client_for_a_dsc(ctx) -> str:
    """The first demo client (by id) the ship rule allows: an open account whose equity reaches the DSC+ figure,
    and the user who holds its security rights (the rule's own test, not a copy of it)."""
    from sqlalchemy import select

    from console.models.entities import Account, User
    from console.models.rights import holds_rights
    from console.models.settings import load_figures

    with ctx.db.read() as s:
        fig = load_figures(s)
        candidates = s.scalars(select(User).join(Account, Account.id == User.account_id)
                               .where(Account.equity_cents >= fig.dsc_min_equity_cents, Account.closed_at.is_(None))
                               .order_by(User.id))
        for user in candidates:
            if holds_rights(s, user):
                return user.username
    raise SystemExit("no demo client may be shipped a DSC+: the demo data changed")


def main() -> None:
    app = QApplication([])
    tmp = tempfile.mkdtemp()
    ctx = open_context(f"sqlite:///{tmp}/shots.sqlite3")
    generate(ctx, Figures(), 2000, seed=11)
    staff = signed_in(ctx, "boff01", "Bob Office", StaffRole.back_office)
    services = Services.build(ctx, staff)
    services.devices.receive_stock(staff, "DSC900000001-DSC900000004")
    desk = Desk.build(services)

    window = DevicesWindow(desk)
    window.resize(1240, 640)  # every column shows without scrolling sideways
    window.kind_combo.setCurrentIndex(window.kind_combo.findData(DeviceKind.dsc_plus))
    window.state_combo.setCurrentIndex(window.state_combo.findData(DeviceState.in_stock))
    window.show()
    window.move(20, 20)
    desk.runner.wait_idle()  # the devices are read off the GUI thread
    card = services.devices.window(DeviceQuery(DeviceKind.dsc_plus, DeviceState.in_stock, "DSC900000002"), 0, 1)[0]
    window.select_device(card.id)
    desk.runner.wait_idle()  # its row, when it is not among the rows read yet
    username = client_for_a_dsc(ctx)
    window.ship_action.trigger()
    ship = window.dialog
    ship.username.setText(username)
    ship.try_submit()
    desk.runner.wait_idle()
    if ship.confirm_box is None or not ship.confirm_box.isVisible():  # refused: no shot of a ship that never was
        raise SystemExit(f"the ship to {username} was refused: {ship.refusal.text()}")
    grab_screen(window, "desk-ship-confirm.png")
    ship.confirm_box.button(QMessageBox.StandardButton.Yes).click()
    desk.runner.wait_idle()
    for _ in range(20):
        app.processEvents()
    if services.devices.get(card.id).state is not DeviceState.shipped:
        raise SystemExit(f"DSC900000002 was not shipped to {username}: {ship.refusal.text()}")
    grab_screen(window, "desk-ship-done.png")

    window.state_combo.setCurrentIndex(0)
    window.close()

    agent = signed_in(ctx, "hdesk01", "Harriet Desk", StaffRole.help_desk)
    main_window = MainWindow(Desk.build(Services.build(ctx, agent)))
    main_window.resize(1280, 760)
    main_window.show()
    main_window.move(20, 20)
    main_window.desk.runner.wait_idle()  # the list is read off the GUI thread
    main_window.select_user(1)
    main_window.desk.runner.wait_idle()  # the detail pane reads the user off the GUI thread
    main_window.devices_menu.popup(main_window.mapToGlobal(main_window.menuBar().actionGeometry(
        main_window.devices_menu.menuAction()).bottomLeft()))
    grab_screen(main_window, "desk-help-desk-devices-menu.png")
    main_window.devices_menu.close()
    print("wrote desk-ship-confirm.png, desk-ship-done.png, desk-help-desk-devices-menu.png to", OUT)


if __name__ == "__main__":
    main()
