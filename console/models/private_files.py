"""Files that hold client data or keys: created readable and writable by their owner only."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

OWNER_ONLY = 0o600


def open_private(path: str | Path) -> IO[str]:
    """Open `path` for writing text (UTF-8, CSV-friendly newlines), owner-only from the first byte. An
    existing file is truncated and its permissions narrowed too."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_ONLY)
    try:
        if os.name == "posix":
            os.fchmod(fd, OWNER_ONLY)
        return os.fdopen(fd, "w", newline="", encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise


def create_private(path: str | Path) -> None:
    """Create an empty owner-only file if none exists yet (a new SQLite database: SQLite gives its journal
    and WAL files the database file's permissions). An existing file is left as it is."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY))
    except FileExistsError:
        pass


def owner_only_if_new(path: str | Path) -> None:
    """A database file SQLite has just created (still empty) is narrowed to its owner before any data or
    WAL file exists; a file that already holds data is left as its owner set it."""
    if os.name != "posix":
        return
    try:
        info = os.stat(path)
    except OSError:
        return
    if info.st_size == 0 and info.st_uid == os.getuid() and info.st_mode & 0o077:
        os.chmod(path, OWNER_ONLY)
