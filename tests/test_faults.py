"""Faults told as one sentence: what happened and what to do, never a traceback or a password."""

import errno
import sqlite3

import pytest
from sqlalchemy import exc

from console.models.errors import InvalidInput
from console.models.faults import explain

FILE_URL = "sqlite:////data/console.sqlite3"


def db_error(message, orig_type=sqlite3.OperationalError):
    return exc.OperationalError("INSERT INTO audit_entries ...", {}, orig_type(message))


@pytest.mark.parametrize(("error", "words"), [
    (db_error("database or disk is full"), ("disk holding the database file /data/console.sqlite3 is full",
                                            "free some space")),
    (db_error("attempt to write a readonly database"), ("read-only", "write permission")),
    (db_error("file is not a database", sqlite3.DatabaseError), ("damaged", "backup")),
    (db_error("database disk image is malformed", sqlite3.DatabaseError), ("damaged", "backup")),
    (db_error("disk I/O error"), ("disk I/O error", "check the disk")),
    (db_error("unable to open database file"), ("cannot be opened", "folder")),
    (OSError(errno.ENOSPC, "No space left on device", "/data/users.csv"), ("disk is full", "/data/users.csv")),
    (OSError(errno.EFBIG, "File too large", "/data/users.csv"), ("size this system allows",)),
    (PermissionError(errno.EACCES, "Permission denied", "/data/users.csv"), ("may not open", "permissions")),
    (FileNotFoundError(errno.ENOENT, "No such file", "/data/none.csv"), ("There is no file or folder",)),
    (EOFError(), ("input ended",)),
    (KeyError("client jsmit123"), ("unexpected fault (KeyError)", "nothing was changed", "report it with the log")),
])
def test_each_fault_is_one_sentence_saying_what_to_do(error, words):
    text = explain(error, FILE_URL)
    for word in words:
        assert word in text
    assert "Traceback" not in text and "\n" not in text and text.endswith(".") and "jsmit123" not in text


def test_the_consoles_own_refusals_are_shown_as_written():
    assert explain(InvalidInput("Give the staff member's full name.")) == "Give the staff member's full name."


def test_a_bad_url_is_named_without_its_password():
    text = explain(exc.ArgumentError("Could not parse"), "postgresql://desk:hunter2@db.example/sls x")
    assert "hunter2" not in text and "***" in text and "sqlite:///" in text


def test_a_server_that_is_gone():
    class PsycopgLike(Exception):
        pass
    error = exc.OperationalError("SELECT 1", {}, PsycopgLike("connection refused"))
    text = explain(error, "postgresql+psycopg://desk:pw@db.example:5432/sls")
    assert "Cannot reach the database server" in text and "pw@" not in text
