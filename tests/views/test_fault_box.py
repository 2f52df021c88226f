"""A fault while the desk works (the disk filled up under a write) is told in the window with the same sentence
the command line prints, not "something went wrong"."""

import sqlite3

from PySide6.QtWidgets import QWidget
from sqlalchemy import exc

from console.views.messages import show_error


def test_full_disk_during_a_write_is_told_plainly(qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    error = exc.OperationalError("INSERT", {}, sqlite3.OperationalError("database or disk is full"))
    box = show_error(parent, error)
    assert "is full" in box.text() and "free some space" in box.text()
    assert "Something went wrong" not in box.text() and "Traceback" not in box.text()
    box.close()
