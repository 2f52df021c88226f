"""Render the withdrawal limits in the detail pane, SMS, the printed Security Code Card and the compliance queue
of sharing requests to docs/screenshots/.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots/sls_rules.py
"""

import base64
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("SLS_CONSOLE_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pyotp  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402
from sqlalchemy import select  # noqa: E402

from console.app import Services, open_context  # noqa: E402
from console.models import vault  # noqa: E402
from console.models.context import Actor  # noqa: E402
from console.models.demo import generate  # noqa: E402
from console.models.entities import Account, DeviceHolding, Person, SecurityDevice, User  # noqa: E402
from console.models.enums import AccountKind, DeviceKind, DeviceState, SlsState, StaffRole, UserRole  # noqa: E402
from console.models.settings import Figures  # noqa: E402
from console.views.desk import Desk  # noqa: E402
from console.views.main_window import MainWindow  # noqa: E402
from tests.sessions import signed_in  # noqa: E402  (a real staff session, as a sign-in makes)

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
AGENT: Actor  # signed in by main(), once the database exists
REVIEWER: Actor


def second_entity(ctx, user_id: int, number: str, username: str) -> tuple[int, str]:
    """Another account of the same person, a separate entity with the same identification data, holding an
    active IB Key: (device id, seed)."""
    with ctx.db.write() as s:
        user = s.get(User, user_id)
        p = user.person
        p.date_of_birth = p.date_of_birth or __import__("datetime").date(1970, 5, 17)
        p.ssn = p.ssn or f"123-45-{user_id % 10000:04d}"
        twin = Person(full_name=p.full_name, date_of_birth=p.date_of_birth, ssn=p.ssn)
        now = ctx.clock.now()
        acct = Account(number=number, kind=AccountKind.individual, title=f"{p.full_name} (IRA)", created_at=now)
        other = User(username=username, full_name=p.full_name, name_key=p.full_name.lower(), account=acct,
                     person=twin, role=UserRole.primary, sls_state=SlsState.enrolled, active_devices=1, created_at=now)
        seed = pyotp.random_base32()
        device = SecurityDevice(kind=DeviceKind.ib_key, state=DeviceState.active, account=acct, issued_at=now,
                                activated_at=now)
        s.add_all([twin, acct, other, device])
        s.flush()
        vault.store_seed(s, ctx.box, device, seed)
        s.add(DeviceHolding(user=other, device=device, preferred=True, since=now))
        return device.id, seed


def opted_out_rights_holders(ctx, count: int) -> list[int]:
    with ctx.db.read() as s:
        users = s.scalars(select(User).join(Account, Account.id == User.account_id)
                          .where(User.sls_state == SlsState.opted_out, User.role == UserRole.primary,
                                 Account.kind == AccountKind.individual).order_by(User.id).limit(count)).all()
        return [u.id for u in users]


def shot(app, widget, name: str) -> None:
    widget.show()
    app.processEvents()
    widget.grab().save(str(OUT / name))


def main() -> None:
    app = QApplication([])
    tmp = tempfile.mkdtemp()
    ctx = open_context(f"sqlite:///{tmp}/shots.sqlite3")
    global AGENT, REVIEWER
    AGENT = signed_in(ctx, "hdesk01", "Harriet Desk", StaffRole.help_desk)
    REVIEWER = signed_in(ctx, "comp01", "Carla Compliance", StaffRole.compliance)
    admin = signed_in(ctx, "admin01", "Alex Admin", StaffRole.administrator)
    generate(ctx, Figures(), 300, seed=5, actor=admin)  # the database has staff: an administrator adds demo data
    services = Services.build(ctx, AGENT)
    desk = Desk.build(services)
    main_window = MainWindow(desk)
    main_window.show()
    desk.runner.wait_idle()  # the list is read off the GUI thread

    # Limits: a user with an active DSC+ and another device (M2FS), the best one named first.
    with ctx.db.read() as s:
        many = s.scalar(select(User.id).join(DeviceHolding, DeviceHolding.user_id == User.id)
                        .join(SecurityDevice, SecurityDevice.id == DeviceHolding.device_id)
                        .where(User.sls_state == SlsState.enrolled, User.active_devices >= 2,
                               SecurityDevice.kind == DeviceKind.dsc_plus,
                               SecurityDevice.state == DeviceState.active).order_by(User.id))
    main_window.select_user(many)
    desk.runner.wait_idle()
    shot(app, main_window, "detail-limits.png")

    # SMS for an enrolled user after a loss: report the only device lost with a passcode, then set up SMS.
    with ctx.db.read() as s:
        lone = s.scalars(select(User).join(Account, Account.id == User.account_id)
                         .where(User.sls_state == SlsState.enrolled, User.active_devices == 1)
                         .order_by(User.id)).first()
        device_id = s.scalar(select(SecurityDevice.id).join(DeviceHolding)
                             .where(DeviceHolding.user_id == lone.id, SecurityDevice.state == DeviceState.active))
        lone_id = lone.id
    try:
        services.devices.report(AGENT, device_id, "lost", user_id=lone_id, issue_temporary_passcode=True,
                                identity_verified=True)
    except Exception:  # noqa: BLE001 - a demo account whose last temporary access was a passcode: no SMS shot
        lone_id = None
    if lone_id is not None:
        main_window.refresh()
        desk.runner.wait_idle()
        main_window.select_user(lone_id)
        desk.runner.wait_idle()  # the detail pane reads the user off the GUI thread
        dialog = main_window.sls_actions.issue_sms()
        dialog.phone.setText("+41 79 123 45 67")
        dialog.identity.setChecked(True)
        shot(app, dialog, "sms-issue.png")
        dialog.try_submit()
        for _ in range(3):  # the write, then the windows' refresh it announces (read off the GUI thread)
            desk.runner.wait_idle()
            app.processEvents()
        shot(app, main_window, "sms-detail.png")

    # A printed card for an opted-out user who holds the rights: issued (values shown once), then activated.
    first, second, third = opted_out_rights_holders(ctx, 3)
    main_window.refresh()
    desk.runner.wait_idle()
    main_window.select_user(first)
    desk.runner.wait_idle()
    card_dialog = main_window.sls_actions.issue_printed_card()
    card_dialog.try_submit()
    desk.runner.wait_idle()
    app.processEvents()
    card_dialog.confirm_box.button(QMessageBox.StandardButton.Yes).click()  # "Print and mail …?" Yes
    desk.runner.wait_idle()
    app.processEvents()
    shot(app, card_dialog, "printed-card.png")
    card_dialog.save_pdf(str(OUT / "printed_security_code_card.pdf"))
    card_dialog.try_submit()
    desk.runner.wait_idle()
    main_window.select_user(first)
    desk.runner.wait_idle()
    main_window.detail.select_device(card_dialog.card.device_id)
    activate = main_window.sls_actions.activate_printed_card()
    desk.runner.wait_idle()
    app.processEvents()
    shot(app, activate, "printed-card-activate.png")
    activate.reject()

    # Two sharing requests waiting for compliance, then the reviewer's queue and decision.
    for user_id, number, name in ((second, "U9000001", "twina901"), (third, "U9000002", "twinb902")):
        dev, seed = second_entity(ctx, user_id, number, name)
        services.enrollment.start_shared(AGENT, user_id, name)
        services.enrollment.confirm(AGENT, user_id, dev, pyotp.TOTP(seed).at(ctx.clock.now()))
    review_desk = Desk.build(Services.build(ctx, REVIEWER))
    reviewer_window = MainWindow(review_desk)
    queue = reviewer_window.sls_actions.show_queue()
    review_desk.runner.wait_idle()
    app.processEvents()
    shot(app, queue, "sharing-queue.png")
    decision = queue.decide(True)
    decision.reason.setPlainText("SSN and date of birth match the other entity's records")
    shot(app, decision, "sharing-decision.png")
    print("wrote detail-limits, sms-issue, sms-detail, printed-card, printed-card-activate, sharing-queue, "
          "sharing-decision to", OUT)


if __name__ == "__main__":
    main()
