"""Checks on the files a command reads or writes, made before anyone is asked to sign in: a missing input or an
unwritable folder is told at once, in one sentence, with nothing changed."""

from __future__ import annotations

import os
from pathlib import Path

from console.models.errors import InvalidInput


def readable_input(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise InvalidInput(f"There is no file {p}; check the name and the folder. Nothing was imported.")
    if p.is_dir():
        raise InvalidInput(f"{p} is a folder, not a file; give the CSV file's name. Nothing was imported.")
    if not os.access(p, os.R_OK):
        raise InvalidInput(f"This user may not read {p}; check its permissions. Nothing was imported.")
    return p


def writable_output(path: str | Path) -> Path:
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise InvalidInput(f"{p} is a folder; give the name of the file to write inside it. Nothing was written.")
    if not folder.is_dir():
        raise InvalidInput(f"There is no folder {folder}; create it or choose another. Nothing was written.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InvalidInput(f"This user may not write in {folder}; choose a folder you may write to. Nothing was "
                           f"written.")
    return p


def exposed_files(paths: list[Path]) -> list[str]:
    """One sentence for each existing file or folder that users other than its owner may read (group or others),
    naming the `chmod` that fixes it: files holding client data must be the owner's alone (docs/trust.md)."""
    out = []
    for p in paths:
        try:
            mode = p.stat().st_mode
        except OSError:
            continue
        if os.name != "posix" or not mode & 0o044:
            continue
        fix = "700" if p.is_dir() else "600"
        kind = "folder" if p.is_dir() else "file"
        out.append(f"The {kind} {p} can be read by other users of this machine (mode {mode & 0o777:04o}); "
                   f"run `chmod {fix} {p}`.")
    return out


def database_files(database_file: Path | None) -> list[Path]:
    """A SQLite database's file, its write-ahead log and its shared-memory index."""
    if database_file is None:
        return []
    return [database_file, Path(f"{database_file}-wal"), Path(f"{database_file}-shm")]
