"""The console window refuses to start on a key file it cannot use: one message box with the fix, exit 2."""

import base64

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

import console.gui as gui


@pytest.mark.parametrize("content,mode,expected", [
    (None, 0o644, "chmod 600"),
    (b"\x00\x17 junk", 0o600, "is damaged"),
])
def test_bad_key_file_shows_one_message_box_and_ends(qapp, tmp_path, monkeypatch, content, mode, expected):
    key = tmp_path / "master.key"
    key.write_bytes(base64.urlsafe_b64encode(bytes(range(32))) if content is None else content)
    key.chmod(mode)
    monkeypatch.setenv("SLS_CONSOLE_KEY_FILE", str(key))
    monkeypatch.delenv("SLS_CONSOLE_KEY", raising=False)
    monkeypatch.setattr(gui, "_setup_logging", lambda: tmp_path / "console.log")
    seen = []

    def read_and_close():
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, read_and_close)
            return
        seen.append((box.objectName(), box.windowTitle(), box.text()))
        box.grab().save(str(tmp_path / f"start-refused-{mode:o}.png"))
        box.button(QMessageBox.StandardButton.Close).click()

    QTimer.singleShot(0, read_and_close)
    assert gui.run_gui(f"sqlite:///{tmp_path / 'desk.sqlite3'}", demo_if_empty=False) == 2
    (name, title, text), = seen
    assert name == "startFault" and title == "SLS Console cannot start"
    assert expected in text and str(key) in text
