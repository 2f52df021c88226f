"""A database the console cannot use shows one box at start-up, with the sentence the command line prints and
where the log is, instead of a crash; closing it ends the console with exit code 2."""

import os
import sqlite3

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

import console.gui as gui
from console.models.db import Database
from console.models.schema import upgrade


def start_and_read_the_box(qtbot, monkeypatch, tmp_path, url, shot=None):
    monkeypatch.setattr(gui, "setup_logging", lambda: tmp_path / "sls-console.log")
    seen = {}

    def read_and_close():
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(50, read_and_close)
            return
        seen.update(name=box.objectName(), title=box.windowTitle(), text=box.text(), details=box.informativeText())
        if shot:
            box.grab().save(str(shot))
        box.done(QMessageBox.StandardButton.Close)
    QTimer.singleShot(50, read_and_close)
    seen["exit"] = gui.run_gui(url, demo_if_empty=False)
    return seen


def test_damaged_database_file_shows_one_box(qtbot, monkeypatch, tmp_path):
    """Random bytes instead of a database: "damaged … restore it from your latest backup", the log's path."""
    path = tmp_path / "junk.sqlite3"
    path.write_bytes(os.urandom(8192))
    seen = start_and_read_the_box(qtbot, monkeypatch, tmp_path, f"sqlite:///{path}",
                                  shot=tmp_path / "start-fault.png")
    assert seen["exit"] == 2 and seen["name"] == "startFault"
    assert seen["title"] == "SLS Console cannot start"
    assert str(path) in seen["text"] and "damaged" in seen["text"] and "backup" in seen["text"]
    assert "Traceback" not in seen["text"]
    assert seen["details"] == f"Details are in the log: {tmp_path / 'sls-console.log'}."


def test_newer_schema_shows_one_box(qtbot, monkeypatch, tmp_path):
    path = tmp_path / "newer.sqlite3"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    seen = start_and_read_the_box(qtbot, monkeypatch, tmp_path, f"sqlite:///{path}")
    assert seen["exit"] == 2 and "newer SLS Console" in seen["text"]


@pytest.mark.skipif(os.geteuid() != 0, reason="made read-only with chattr, which needs root")
def test_read_only_database_file_shows_one_box_before_sign_in(qtbot, monkeypatch, tmp_path):
    """A file the desk may read but not write is told at start, not at the first sign-in."""
    import subprocess

    path = tmp_path / "ro.sqlite3"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("no chattr here")
    try:
        seen = start_and_read_the_box(qtbot, monkeypatch, tmp_path, f"sqlite:///{path}")
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)
    assert seen["exit"] == 2 and "read-only" in seen["text"]
