"""The console window refuses to start on a key file it cannot use: the one start-up box, with the sentence
that names the file and its fix, and exit 2."""

import base64

import pytest

from tests.views.test_start_fault import start_and_read_the_box


@pytest.mark.parametrize("content,mode,expected", [
    (None, 0o644, "chmod 600"),
    (b"\x00\x17 junk", 0o600, "is damaged"),
])
def test_bad_key_file_shows_one_message_box_and_ends(qtbot, tmp_path, monkeypatch, content, mode, expected):
    key = tmp_path / "master.key"
    key.write_bytes(base64.urlsafe_b64encode(bytes(range(32))) if content is None else content)
    key.chmod(mode)
    monkeypatch.setenv("SLS_CONSOLE_KEY_FILE", str(key))
    monkeypatch.delenv("SLS_CONSOLE_KEY", raising=False)
    seen = start_and_read_the_box(qtbot, monkeypatch, tmp_path, f"sqlite:///{tmp_path / 'desk.sqlite3'}",
                                  shot=tmp_path / f"start-refused-{mode:o}.png")
    assert seen["exit"] == 2 and seen["name"] == "startFault" and seen["title"] == "SLS Console cannot start"
    assert expected in seen["text"] and str(key) in seen["text"] and "Traceback" not in seen["text"]
