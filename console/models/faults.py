"""Faults outside the console's rules (a damaged or read-only database file, a server that is down, a full
disk, a bad database URL, a file that cannot be read) told as one sentence: what happened and what to do.
The command line prints it and exits 2, the window shows it in a box; the log keeps the traceback."""

from __future__ import annotations

import errno
import re
import sqlite3

from sqlalchemy import exc
from sqlalchemy.engine import make_url

from console.models.errors import ConsoleError

URL_FORMS = ("sqlite:////path/to/console.sqlite3 or postgresql+psycopg://USER@HOST/DBNAME")


def describe_database(url: str | None) -> str:
    """How a message names the database: the SQLite file's path, else the server's URL without password."""
    if not url:
        return "the database"
    try:
        parsed = make_url(url)
    except Exception:  # a URL that does not parse is named as typed
        return repr(url)
    if parsed.get_backend_name() == "sqlite":
        return f"the database file {parsed.database}" if parsed.database not in (None, "", ":memory:") \
            else "the in-memory database"
    return f"the database {parsed.render_as_string(hide_password=True)}"


def explain(error: BaseException, url: str | None = None) -> str:
    """One sentence a person can act on, for any error; the console's own refusals are already such."""
    if isinstance(error, ConsoleError):
        return str(error)
    where = describe_database(url)
    if isinstance(error, exc.NoSuchModuleError | exc.ArgumentError):
        shown = re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", url or "")  # never echo a password
        return (f"{shown!r} is not a database URL the console can use; give --database (or "
                f"$SLS_CONSOLE_DATABASE_URL) as {URL_FORMS}.")
    if isinstance(error, exc.DBAPIError):
        return _database_fault(error, where)
    if isinstance(error, sqlite3.Error):
        return _sqlite_fault(error, str(error), where)
    if isinstance(error, OSError):
        return _os_fault(error)
    if isinstance(error, UnicodeDecodeError):
        return ("A file could not be read as text (it is not UTF-8): save it as UTF-8 CSV and try again.")
    if isinstance(error, EOFError):
        return ("The command needed a password or code but its input ended: run it in a terminal, or give the "
                "password and the code on two lines of its standard input.")
    if isinstance(error, MemoryError):
        return "The computer ran out of memory; nothing more was done. Close other programs or ask for less."
    # The error's own text stays in the log: it may hold internals (or client data) a desk should not show.
    return (f"The console met an unexpected fault ({type(error).__name__}) and stopped; nothing was changed by the "
            f"step that failed. Please report it with the log.")


def _database_fault(error: exc.DBAPIError, where: str) -> str:
    orig = error.orig
    text = str(orig)
    if isinstance(orig, sqlite3.Error):
        return _sqlite_fault(orig, text, where)
    lowered = text.lower()
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        return (f"The server refused the user name or password in the URL of {where}; check them in --database "
                f"(or $SLS_CONSOLE_DATABASE_URL) and try again.")
    if "does not exist" in lowered and "database" in lowered:
        return f"The server has no such database ({where}); check its name in the URL, or ask for it to be created."
    if "permission denied" in lowered:
        return (f"The database user may not do this on {where} ({text.splitlines()[0]}); ask the database "
                f"administrator to run `sls-console db grant` for it.")
    if isinstance(error, exc.OperationalError | exc.InterfaceError) or error.connection_invalidated:
        return (f"Cannot reach the database server for {where}: it is down, restarting or unreachable. Start it "
                f"(or check the host and port in the URL and the network), then try again.")
    return (f"The database refused the request on {where} ({text.splitlines()[0] if text else type(orig).__name__});"
            f" nothing was changed. Please report it with the log.")


def _sqlite_fault(error: sqlite3.Error, text: str, where: str) -> str:
    name = getattr(error, "sqlite_errorname", "") or ""
    lowered = text.lower()
    if name.startswith("SQLITE_READONLY") or "readonly database" in lowered:
        return (f"{_cap(where)} is read-only for this user, so the console cannot write to it; give this user "
                f"write permission on the file and its folder, or open a copy.")
    if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")) or "not a database" in lowered or "malformed" in lowered:
        return (f"{_cap(where)} is damaged (SQLite cannot read it as a database); restore it from your latest "
                f"backup.")
    if name.startswith("SQLITE_FULL") or "disk is full" in lowered:
        return f"The disk holding {where} is full, so nothing was written; free some space there and try again."
    if name.startswith("SQLITE_IOERR") or "disk i/o error" in lowered:
        return (f"{_cap(where)} could not be written or read (a disk I/O error: the disk may be full, at a size "
                f"limit, failing or removed), so nothing was written; free space or check the disk, then try again.")
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in lowered:
        return (f"{_cap(where)} cannot be opened (its folder is missing or not accessible to this user); check the "
                f"path in --database and the folder's permissions.")
    if "database is locked" in lowered or name.startswith("SQLITE_BUSY"):
        return (f"{_cap(where)} stayed busy with another desk's change for too long; nothing was changed, try "
                f"again in a moment.")
    return f"{_cap(where)} could not be used ({text}); please report it with the log."


def _os_fault(error: OSError) -> str:
    target = f" {error.filename}" if error.filename else ""
    code = error.errno
    if code == errno.ENOSPC or code == errno.EDQUOT:
        return f"The disk is full (writing{target}), so nothing was written; free some space and try again."
    if code == errno.EFBIG:
        return f"The file{target} reached the size this system allows, so nothing was written; free space or raise " \
               f"the limit and try again."
    if code == errno.EROFS:
        return f"The file system is read-only (writing{target}); choose a place you may write to."
    if code in (errno.EACCES, errno.EPERM):
        return f"This user may not open{target or ' a file'}; check its permissions (and its folder's), or choose " \
               f"another place."
    if code == errno.ENOENT:
        return f"There is no file or folder{target}; check the name and the folder."
    if code == errno.EISDIR:
        return f"{target.strip() or 'The name'} is a folder, not a file; give a file's name."
    return f"A file could not be used{target} ({error.strerror or error}); check the disk and the name, then try again."


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]
