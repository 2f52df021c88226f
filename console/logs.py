"""The console's log file: where the detail of every fault goes (the person reads one sentence)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

_path: Path | None = None


def setup_logging() -> Path | None:
    """Log to the user's log folder; the file's path, or None when it cannot be written (a full or read-only
    disk must not turn into a second fault)."""
    global _path
    if _path is not None:
        return _path
    import platformdirs

    try:
        log_dir = Path(platformdirs.user_log_dir("sls-console", "SLS"))
        path = log_dir / "sls-console.log"
        _owner_only(log_dir, path)
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        logging.getLogger().addHandler(logging.NullHandler())  # no traceback on stderr from "last resort"
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    _path = path
    return path


def _owner_only(folder: Path, path: Path) -> None:
    """The log names staff, clients and faults: its folder 0700 and the file 0600 from the first byte (an
    older, wider file or folder is narrowed)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
    if os.name == "posix":
        os.chmod(folder, 0o700)
        os.chmod(path, 0o600)


def log_path() -> Path | None:
    """The log file set up in this process, if any."""
    return _path


def where_details_are(path: Path | None) -> str:
    return f"Details are in the log: {path}." if path is not None else "No log could be written."
