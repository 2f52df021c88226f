"""End to end: the real console process in a real X window (Xvfb), driven by keystrokes with xdotool."""

import pytest
from sqlalchemy import func, select

from console.models.entities import AuditEntry, User
from console.models.enums import SlsState
from console.models.staff import StaffService
from tests.e2e.desktop import PASSWORD, Console

pytestmark = pytest.mark.e2e


def test_typing_right_after_sign_in_goes_to_find(display, ctx, world, tmp_path):
    """Right after sign-in the keyboard is in Find, with no Ctrl+F and nothing focusing the window from outside
    (Xvfb has no window manager): the agent types a username and Enter, then Ctrl+E opens that user."""
    staff = StaffService(ctx).add_first_administrator("alex", "Alex Admin", PASSWORD)
    console = Console(display, ctx, tmp_path)
    try:
        console.sign_in("alex", staff.totp_secret, focus=False)
        console.type("jsmit001")
        console.keys("Return", "ctrl+e")
        console.window(r"Security settings — Jane Smith \(jsmit001\)")
    finally:
        output = console.close()
    assert "Traceback" not in output, output


def test_agent_is_stopped_with_notice_then_holder_opens_settings(display, ctx, world, tmp_path):
    """In the real window: a secondary user gets the rights notice; the holder gets the settings dialog;
    nothing in the database changes."""
    staff = StaffService(ctx).add_first_administrator("alex", "Alex Admin", PASSWORD)
    with ctx.db.read() as s:
        audit_before = s.scalar(select(func.count()).select_from(AuditEntry))
    console = Console(display, ctx, tmp_path)
    try:
        console.sign_in("alex", staff.totp_secret)
        console.keys("ctrl+f")
        console.type("jsmit123")
        console.keys("Return", "ctrl+e")
        console.window("Security rights needed")
        console.keys("Return")
        console.window("^SLS Console$")
        console.keys("ctrl+f", "ctrl+a")
        console.type("jsmit001")
        console.keys("Return", "ctrl+e")
        console.window(r"Security settings — Jane Smith \(jsmit001\)")
    finally:
        output = console.close()
    assert "Traceback" not in output, output
    with ctx.db.read() as s:
        assert s.get(User, world.secondary_id).sls_state is SlsState.enrolled
        # The only new entry is the sign-in itself: looking and being refused change nothing.
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == audit_before + 1
        assert s.scalars(select(AuditEntry.action).order_by(AuditEntry.id.desc())).first() == "staff.signed_in"
