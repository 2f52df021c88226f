"""End to end: a supervisor opens the work list and the dashboard from the keyboard in a real X window."""

import pytest

from console.models.entities import SecurityDevice
from console.models.staff import StaffService
from tests.e2e.desktop import PASSWORD, Console

pytestmark = pytest.mark.e2e


def test_work_list_row_opens_the_locked_device_and_the_dashboard_opens(display, ctx, world, tmp_path):
    """Ctrl+Alt+W lists the locked device; Enter opens it in the devices window; Ctrl+Alt+B opens the dashboard."""
    staff = StaffService(ctx).add_first_administrator("alex", "Alex Admin", PASSWORD)
    with ctx.db.write() as s:
        s.get(SecurityDevice, world.secondary_device_id).locked = True
    console = Console(display, ctx, tmp_path)
    try:
        console.sign_in("alex", staff.totp_secret)
        console.keys("ctrl+alt+w")
        console.window("^Work list — SLS Console$")
        console.keys("Return")  # the first row: the locked device
        console.window("^Devices and stock — SLS Console$")
        console.window("^SLS Console$")
        console.keys("ctrl+alt+b")
        console.window("^Dashboard — SLS Console$")
    finally:
        output = console.close()
    assert "Traceback" not in output, output
