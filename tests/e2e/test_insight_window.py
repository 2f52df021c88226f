"""End to end: a supervisor opens the work list and the dashboard from the keyboard in a real X window."""

import base64
import os
import subprocess
import sys

import pyotp
import pytest

from console.models.entities import SecurityDevice
from console.models.staff import StaffService
from tests.conftest import TEST_KEY
from tests.e2e.test_console_window import _keys, _type, _wait_for_window  # the Xvfb display: tests/e2e/conftest.py

pytestmark = pytest.mark.e2e


def test_work_list_row_opens_the_locked_device_and_the_dashboard_opens(display, ctx, world, tmp_path):  # noqa: F811
    """Ctrl+Alt+W lists the locked device; Enter opens it in the devices window; Ctrl+Alt+B opens the dashboard."""
    staff = StaffService(ctx).add_first_administrator("alex", "Alex Admin", "correct horse battery")
    with ctx.db.write() as s:
        s.get(SecurityDevice, world.secondary_device_id).locked = True
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
        _keys(env, main, "ctrl+alt+w")
        work = _wait_for_window(env, "^Work list — SLS Console$")
        subprocess.run(["xdotool", "windowfocus", "--sync", work], env=env, capture_output=True)
        _keys(env, work, "Return")  # the first row: the locked device
        _wait_for_window(env, "^Devices and stock — SLS Console$")
        subprocess.run(["xdotool", "windowfocus", "--sync", main], env=env, capture_output=True)
        _keys(env, main, "ctrl+alt+b")
        _wait_for_window(env, "^Dashboard — SLS Console$")
    finally:
        proc.terminate()
        output = proc.communicate(timeout=10)[0]
    assert "Traceback" not in output, output
