"""Driving the real console in a real X window (Xvfb) from the keyboard: the process, its windows by title,
keys and text through xdotool. Shared by every end-to-end test (the display itself: conftest.py)."""

import base64
import os
import subprocess
import sys
import time

import pyotp

from tests.conftest import TEST_KEY

PASSWORD = "correct horse battery"


def wait_for_window(env, title: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", title], env=env,
                             capture_output=True, text=True)
        if out.stdout.strip():
            return out.stdout.split()[0]
        time.sleep(0.2)
    raise AssertionError(f"no window titled {title!r} appeared")


def press(env, *keys: str) -> None:
    for key in keys:
        # XTEST input to the focused window (events sent with --window are ignored by Qt).
        subprocess.run(["xdotool", "key", key], env=env, check=True, capture_output=True)
        time.sleep(0.15)


def type_text(env, text: str) -> None:
    subprocess.run(["xdotool", "type", "--delay", "30", text], env=env, check=True, capture_output=True)
    time.sleep(0.2)


class Console:
    """The console process on a display, signed in as one staff member."""

    def __init__(self, display_name: str, ctx, tmp_path) -> None:
        self.ctx = ctx
        self.env = dict(os.environ, DISPLAY=display_name, QT_QPA_PLATFORM="xcb",
                        SLS_CONSOLE_KEY=base64.urlsafe_b64encode(TEST_KEY).decode(),
                        XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "config"),
                        XDG_STATE_HOME=str(tmp_path / "state"), XDG_CACHE_HOME=str(tmp_path / "cache"))
        self.proc = subprocess.Popen([sys.executable, "-m", "console", "--database", ctx.db.url, "run",
                                      "--no-demo"], env=self.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)

    def window(self, title: str, timeout: float = 30) -> str:
        wid = wait_for_window(self.env, title, timeout)
        subprocess.run(["xdotool", "windowactivate", "--sync", wid], env=self.env, capture_output=True)
        subprocess.run(["xdotool", "windowfocus", "--sync", wid], env=self.env, capture_output=True)
        return wid

    def visible(self, title: str) -> bool:
        out = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", title], env=self.env,
                             capture_output=True, text=True)
        return bool(out.stdout.strip())

    def confirm(self, title: str, key: str) -> None:
        """Wait for the confirmation box over the dialog titled `title` (it has the same title), answer `key`."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            out = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", title], env=self.env,
                                 capture_output=True, text=True)
            if len(out.stdout.split()) >= 2:
                self.keys(key)
                return
            time.sleep(0.1)
        raise AssertionError(f"no confirmation over {title!r}")

    def keys(self, *keys: str) -> None:
        press(self.env, *keys)

    def type(self, text: str) -> None:
        type_text(self.env, text)

    def sign_in(self, username: str, secret: str, *, focus: bool = True) -> None:
        """Sign in from the keyboard; with focus=False the main window is only waited for, not focused by xdotool
        (there is no window manager: the console must take the keyboard itself)."""
        self.window("^Sign in — SLS Console$", timeout=90)  # a cold start on a busy machine
        self.type(username)
        self.keys("Tab")
        self.type(PASSWORD)
        self.keys("Tab")
        self.type(pyotp.TOTP(secret).now())
        self.keys("Return")
        if focus:
            self.window("^SLS Console$")
        else:
            wait_for_window(self.env, "^SLS Console$")

    def clipboard(self) -> str:
        """The X clipboard, read by a separate Qt client on the same display."""
        out = subprocess.run([sys.executable, "-c", "from PySide6.QtGui import QGuiApplication as A; "
                              "a = A([]); print(a.clipboard().text())"], env=self.env, capture_output=True,
                             text=True, timeout=30)
        return out.stdout.strip()

    def until(self, what: str, check, timeout: float = 30) -> None:
        """Wait for the database to show `check()` true (the console writes off its GUI thread)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}")

    def close(self) -> str:
        self.proc.terminate()
        try:
            return self.proc.communicate(timeout=15)[0]
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.communicate()[0]


