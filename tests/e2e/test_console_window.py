"""End to end: the real console process in a real X window (Xvfb), driven by keystrokes with xdotool."""

import base64
import os
import subprocess
import sys
import time

import pyotp
import pytest
from sqlalchemy import func, select

from console.models.entities import AuditEntry, User
from console.models.enums import SlsState
from console.models.staff import StaffService
from tests.conftest import TEST_KEY

pytestmark = pytest.mark.e2e


def _wait_for_window(env, title: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", title], env=env,
                             capture_output=True, text=True)
        if out.stdout.strip():
            return out.stdout.split()[0]
        time.sleep(0.2)
    raise AssertionError(f"no window titled {title!r} appeared")


def _keys(env, window: str, *keys: str) -> None:
    for key in keys:
        # XTEST input to the focused window (events sent with --window are ignored by Qt).
        subprocess.run(["xdotool", "key", key], env=env, check=True, capture_output=True)
        time.sleep(0.15)


def _type(env, text: str) -> None:
    subprocess.run(["xdotool", "type", "--delay", "30", text], env=env, check=True, capture_output=True)
    time.sleep(0.2)


def test_agent_is_stopped_with_notice_then_holder_opens_settings(display, ctx, world, tmp_path):
    """In the real window: a secondary user gets the rights notice; the holder gets the settings dialog;
    nothing in the database changes."""
    staff = StaffService(ctx).add_first_administrator("alex", "Alex Admin", "correct horse battery")
    with ctx.db.read() as s:
        audit_before = s.scalar(select(func.count()).select_from(AuditEntry))
    env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb",
               SLS_CONSOLE_KEY=base64.urlsafe_b64encode(TEST_KEY).decode(),
               XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_STATE_HOME=str(tmp_path / "state"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    proc = subprocess.Popen([sys.executable, "-m", "console", "--database", ctx.db.url, "run", "--no-demo"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        sign_in = _wait_for_window(env, "^Sign in — SLS Console$")
        subprocess.run(["xdotool", "windowfocus", "--sync", sign_in], env=env, capture_output=True)
        _type(env, "alex")
        _keys(env, sign_in, "Tab")
        _type(env, "correct horse battery")
        _keys(env, sign_in, "Tab")
        _type(env, pyotp.TOTP(staff.totp_secret).now())
        _keys(env, sign_in, "Return")
        main = _wait_for_window(env, "^SLS Console$")
        subprocess.run(["xdotool", "windowfocus", "--sync", main], env=env, capture_output=True)
        _keys(env, main, "ctrl+f")
        _type(env, "jsmit123")
        _keys(env, main, "Return", "ctrl+e")
        notice = _wait_for_window(env, "Security rights needed")
        subprocess.run(["xdotool", "windowfocus", "--sync", notice], env=env, capture_output=True)
        _keys(env, notice, "Return")
        subprocess.run(["xdotool", "windowfocus", "--sync", main], env=env, capture_output=True)
        _keys(env, main, "ctrl+f", "ctrl+a")
        _type(env, "jsmit001")
        _keys(env, main, "Return", "ctrl+e")
        _wait_for_window(env, r"Security settings — Jane Smith \(jsmit001\)")
    finally:
        proc.terminate()
        output = proc.communicate(timeout=10)[0]
    assert "Traceback" not in output, output
    with ctx.db.read() as s:
        assert s.get(User, world.secondary_id).sls_state is SlsState.enrolled
        # The only new entry is the sign-in itself: looking and being refused change nothing.
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == audit_before + 1
        assert s.scalars(select(AuditEntry.action).order_by(AuditEntry.id.desc())).first() == "staff.signed_in"
