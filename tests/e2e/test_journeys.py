"""End-to-end journeys, one per role: the real console in a real X window (Xvfb), keyboard only (xdotool).

Each journey waits for windows by title and for the database to show what was done; codes are computed
here, independently of the console (pyotp), from what the screen shows.
"""

import re

import pyotp
import pytest
from sqlalchemy import func, select

from console.models.entities import Charge, SecurityDevice, User
from console.models.enums import ChargeStatus, DeviceKind, DeviceState, SlsState, StaffRole
from console.models.staff import StaffService
from console.models.verification import dsc_response
from tests.e2e.desktop import PASSWORD, Console
from tests.factories import add_device
from tests.lifecycle import card_seed, make_rich
from tests.sessions import signed_in

pytestmark = pytest.mark.e2e


def _staff(ctx, username: str, role: StaffRole) -> str:
    """A staff member of `role`; returns the authenticator secret."""
    service = StaffService(ctx)
    admin = service.add_first_administrator("alex", "Alex Admin", PASSWORD)
    if role is StaffRole.administrator:
        return admin.totp_secret
    made = service.add(signed_in(ctx, "alex", "Alex Admin", StaffRole.administrator), username, "Journey Staff",
                       role, PASSWORD)
    return made.totp_secret


def _state(ctx, user_id: int) -> SlsState:
    with ctx.db.read() as s:
        return s.get(User, user_id).sls_state


def test_help_desk_finds_by_surname_meets_the_notice_opens_the_holder_opts_in_and_out(display, ctx, world,
                                                                                       tmp_path):
    """Help desk: find "Smith", move to jsmit123, meet the rights notice, open the holder jsmit001, opt it in by
    IB Key with a code computed here from the key on screen, then opt it out again."""
    secret = _staff(ctx, "harriet", StaffRole.help_desk)
    console = Console(display, ctx, tmp_path)
    try:
        console.sign_in("harriet", secret)
        console.keys("ctrl+f")
        console.type("Smith")
        console.keys("Return", "Down", "ctrl+e")  # first match jsmit001, then jsmit123 below it
        console.window("^Security rights needed$")
        console.keys("Return")  # the default: open the holder
        console.window(r"^Security settings — Jane Smith \(jsmit001\)$")
        console.keys("ctrl+i")
        console.window("^Opt jsmit001 back into the Secure Login System$")
        console.keys("space", "Return")  # the first option (IB Key), Next
        console.until("a pending IB Key", lambda: _state(ctx, world.primary_id) is SlsState.pending)
        console.keys("alt+k", "ctrl+a", "ctrl+c")
        key = re.sub(r"\s", "", console.clipboard())
        assert re.fullmatch(r"[A-Z2-7]{16,}", key), key
        console.keys("Return")  # Next: the verify page
        console.type(pyotp.TOTP(key).now())
        console.keys("Return")  # Check code
        console.until("jsmit001 enrolled", lambda: _state(ctx, world.primary_id) is SlsState.enrolled)
        console.keys("Return")  # Finish
        console.window(r"^Security settings — Jane Smith \(jsmit001\)$")
        console.keys("ctrl+shift+o")
        console.window("^Opt jsmit001 out of the Secure Login System$")
        console.keys("alt+a", "ctrl+Return")
        console.until("jsmit001 opted out", lambda: _state(ctx, world.primary_id) is SlsState.opted_out)
    finally:
        output = console.close()
    assert "Traceback" not in output, output


def test_back_office_receives_ships_activates_reports_replaces_and_waives(display, ctx, world, tmp_path):
    """Back office: receive two cards, ship one to jsmit001 and activate it with its response, report it lost,
    order a replacement naming the second card (exactly that card ships), waive the charge with a reason."""
    make_rich(ctx, world.account_id)
    with ctx.db.write() as s:  # the rights holder, enrolled with an IB Key: the card ships to the holder
        jane = s.get(User, world.primary_id)
        add_device(s, ctx, jane, DeviceKind.ib_key)
        jane.sls_state = SlsState.enrolled
    secret = _staff(ctx, "bob", StaffRole.back_office)
    console = Console(display, ctx, tmp_path)

    def device(serial: str) -> SecurityDevice | None:
        with ctx.db.read() as s:
            d = s.scalar(select(SecurityDevice).where(SecurityDevice.serial == serial))
            if d is not None:
                s.expunge(d)
            return d

    try:
        console.sign_in("bob", secret)
        console.keys("ctrl+shift+d")
        console.window("^Devices")
        console.keys("ctrl+shift+r")
        console.window("^Receive DSC\\+ cards into stock$")
        console.type("DSC000000801")
        console.keys("Return")
        console.type("DSC000000802")
        console.keys("ctrl+Return")
        console.until("two cards in stock", lambda: device("DSC000000802") is not None)
        console.window("^Devices")
        console.keys("alt+e")  # the serial box; Enter finds the card and selects it
        console.type("DSC000000801")
        console.keys("Return", "ctrl+shift+s")
        console.window("^Ship DSC\\+ DSC000000801$")
        console.type("jsmit001")
        console.keys("Return")  # the question names card, user and the account's equity
        console.confirm("^Ship DSC\\+ DSC000000801$", "alt+s")
        console.until("shipped", lambda: device("DSC000000801").state is DeviceState.shipped)
        console.window("^Devices")
        console.keys("ctrl+shift+a")
        console.window("^Activate DSC\\+ DSC000000801$")
        card = device("DSC000000801")

        def challenge() -> str | None:
            from console.models.entities import Challenge

            with ctx.db.read() as s:
                return s.scalar(select(Challenge.text).where(Challenge.device_id == card.id,
                                                             Challenge.answered_at.is_(None))
                                .order_by(Challenge.id.desc()))

        console.until("a challenge", lambda: challenge() is not None)
        console.type(dsc_response(card_seed(ctx, card.id), challenge()))
        console.keys("Return")
        console.until("activated", lambda: device("DSC000000801").state is DeviceState.active)
        console.window("^Devices")
        console.keys("ctrl+shift+l")
        console.window("^Report DSC\\+ DSC000000801$")
        console.keys("ctrl+Return")  # lost (the first reason)
        console.confirm("^Report DSC\\+ DSC000000801$", "alt+r")
        console.until("reported lost", lambda: device("DSC000000801").state is DeviceState.lost)
        console.window("^Devices")
        console.keys("ctrl+shift+p")
        console.window("^Replace DSC\\+ DSC000000801$")
        console.keys("alt+s")  # Card from stock: the serial the agent holds in hand
        console.type("DSC000000802")
        console.keys("Return")
        console.confirm("^Replace DSC\\+ DSC000000801$", "alt+s")  # the question names DSC000000802
        console.until("replacement shipped", lambda: device("DSC000000802").state is DeviceState.shipped)
        assert device("DSC000000802").replaces_id == card.id
        console.window("^Devices")
        console.keys("Escape")
        console.until("the devices window closed", lambda: not console.visible("^Devices"))
        console.window("^SLS Console$")
        console.keys("ctrl+shift+c")
        console.window("^Charges")
        console.keys("alt+a", "ctrl+a")
        console.type("U1234567")
        console.keys("Return", "ctrl+shift+w")
        console.window("^Waive a charge$")
        console.type("Long-standing client, first loss")
        console.keys("ctrl+Return")
        console.confirm("^Waive a charge$", "alt+w")

        def charge():
            with ctx.db.read() as s:
                return s.execute(select(Charge.status, Charge.waived_reason)
                                 .where(Charge.device_id == card.id)).first()

        console.until("charge waived", lambda: charge() is not None and charge()[0] is ChargeStatus.waived)
        assert charge()[1] == "Long-standing client, first loss"
    finally:
        output = console.close()
    assert "Traceback" not in output, output
    with ctx.db.read() as s:  # exactly the card named shipped; the other stays as it was
        assert s.scalar(select(func.count()).select_from(SecurityDevice)
                        .where(SecurityDevice.state == DeviceState.shipped)) == 1


def test_auditor_verifies_the_trail_and_is_offered_nothing_forbidden(display, ctx, world, tmp_path):
    """Auditor: open the audit trail and verify the chain; the shortcuts of actions the role may not take
    (change security settings, staff) do nothing, because those actions are hidden, while allowed ones work."""
    from console.models.entities import AuditEntry

    secret = _staff(ctx, "ada", StaffRole.auditor)
    with ctx.db.read() as s:
        entries = s.scalar(select(func.count()).select_from(AuditEntry))
    console = Console(display, ctx, tmp_path)
    try:
        console.sign_in("ada", secret)
        console.keys("ctrl+shift+a")
        console.window("^Audit trail — SLS Console$")
        console.keys("ctrl+shift+v")
        console.window("^Audit trail intact$")
        console.keys("Return")
        console.window("^Audit trail — SLS Console$")
        console.keys("Escape")
        console.until("the audit trail closed", lambda: not console.visible("^Audit trail"))
        console.window("^SLS Console$")
        console.keys("ctrl+f")
        console.type("jsmit001")
        console.keys("Return", "ctrl+e", "ctrl+shift+s", "ctrl+shift+d")
        console.window("^Devices and stock")  # the allowed shortcut, pressed last, was heard
        for forbidden in ("^Security settings", "^Security rights needed$", "^Staff"):
            assert not console.visible(forbidden), forbidden
    finally:
        output = console.close()
    assert "Traceback" not in output, output
    with ctx.db.read() as s:  # signing in is the only thing recorded: looking changes nothing
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == entries + 1
