"""The X display every end-to-end test runs on: its own Xvfb server."""

import os
import shutil
import subprocess

import pytest

TOOLS = ("Xvfb", "xdotool")


def _missing_tools():
    return [t for t in TOOLS if shutil.which(t) is None]


@pytest.fixture
def display():
    missing = _missing_tools()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must install {missing} (see .ci/run)")
        pytest.skip(f"needs {missing}: run scripts/test, which installs them")
    # -displayfd: Xvfb picks a free display and writes its number once it is ready, so parallel runs never
    # share a server.
    read_end, write_end = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1280x800x24",
                               "-nolisten", "tcp"], pass_fds=(write_end,),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    with os.fdopen(read_end) as ready:
        number = ready.readline().strip()
    if not number:
        pytest.fail("Xvfb did not start")
    yield f":{number}"
    server.terminate()
    server.wait(5)
