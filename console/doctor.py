"""`sls-console doctor`: what an installer or a desk needs, checked one line at a time, each problem with
its fix. Changes nothing (apart from a probe file it writes and removes in the data directory); Qt is tried
in a child process, so a broken Qt installation is reported rather than crashing the check."""

from __future__ import annotations

import enum
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from console.models.db import Database
from console.models.keys import NO_KEYRING_ENV, KeyFileError, default_store, keyring_available, read_lookup_row
from console.models.schema import current_revision, head_revision, known_revisions
from console.models.sealing import LOOKUP_KEY_CONTEXT, SealingError, SecretBox, key_id_of
from console.models.settings import load_figures
from console.models.verification import TOTP_STEP_SECONDS

# The shared libraries Qt's xcb plugin loads from the system, and the Debian/Ubuntu package of each.
XCB_LIBRARY_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0", "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0", "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0", "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0", "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0", "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xkb.so.1": "libxcb-xkb1", "libX11-xcb.so.1": "libx11-xcb1", "libxcb.so.1": "libxcb1",
    "libEGL.so.1": "libegl1", "libGL.so.1": "libgl1", "libOpenGL.so.0": "libopengl0", "libGLX.so.0": "libglx0",
    "libfontconfig.so.1": "libfontconfig1", "libfreetype.so.6": "libfreetype6", "libdbus-1.so.3": "libdbus-1-3",
}
QT_START_TIMEOUT = 30  # seconds for the child process that starts Qt
CLOCK_WARN_SECONDS = 5.0


class Status(enum.Enum):
    ok = "ok"
    note = "note"  # works, but worth knowing (not a failure)
    fail = "FAIL"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""

    def line(self) -> str:
        fix = f" Fix: {self.fix}" if self.fix and self.status is not Status.ok else ""
        return f"[{self.status.value:^4}] {self.name:<20} {self.detail}{fix}"


# --- Qt --------------------------------------------------------------------------------------------------
def qt_platform() -> str:
    """The platform plugin Qt will use: $QT_QPA_PLATFORM, else the desktop's default."""
    wanted = os.environ.get("QT_QPA_PLATFORM", "")
    if wanted:
        return wanted.split(";")[0].split(":")[0]
    if sys.platform == "darwin":
        return "cocoa"
    if sys.platform == "win32":
        return "windows"
    return "wayland" if os.environ.get("WAYLAND_DISPLAY") else "xcb"


def _qt_dir() -> Path | None:
    spec = importlib.util.find_spec("PySide6")  # finds the package without loading Qt
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "Qt"


def missing_libraries(paths: list[Path]) -> list[str]:
    """Shared libraries `ldd` cannot find for these files (Linux); empty where ldd is not available."""
    if not shutil.which("ldd"):
        return []
    missing: list[str] = []
    for path in paths:
        if not path.exists():
            continue
        out = subprocess.run(["ldd", str(path)], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if "not found" in line:
                name = line.split()[0]
                if name not in missing:
                    missing.append(name)
    return missing


def check_qt_plugin() -> Check:
    name = "Qt platform plugin"
    qt = _qt_dir()
    if qt is None:
        return Check(name, Status.fail, "PySide6 is not installed in this environment.",
                     "reinstall the console (pip install sls-console), which brings PySide6-Essentials.")
    platform = qt_platform()
    plugins = qt / "plugins" / "platforms"
    if sys.platform.startswith("linux"):
        plugin = plugins / f"libq{platform}.so"
        if not plugin.exists():
            known = sorted(p.name[4:-3] for p in plugins.glob("libq*.so"))
            return Check(name, Status.fail, f"there is no {platform!r} plugin in {plugins}.",
                         f"set QT_QPA_PLATFORM to one of {', '.join(known)}, or reinstall PySide6-Essentials.")
        extra = [qt / "lib" / "libQt6XcbQpa.so.6"] if platform == "xcb" else []
        missing = missing_libraries([plugin, *extra])
        if missing:
            packages = sorted({XCB_LIBRARY_PACKAGES.get(m, m) for m in missing})
            return Check(name, Status.fail, f"{platform}: system libraries missing: {', '.join(missing)}.",
                         f"sudo apt-get install {' '.join(packages)} (Debian/Ubuntu package names).")
    return Check(name, Status.ok, f"{platform}, with the system libraries it loads")


def _start_qt() -> tuple[bool, str]:
    """Start a Qt GUI application in a child process; (started, platform name or Qt's last words)."""
    code = ("import sys\nfrom PySide6.QtGui import QGuiApplication\n"
            "app = QGuiApplication(sys.argv[:1])\nprint(app.platformName())\n")
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=QT_START_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return False, f"Qt did not start within {QT_START_TIMEOUT} s"
    if done.returncode == 0:
        return True, done.stdout.strip()
    lines = [ln.strip() for ln in done.stderr.splitlines() if ln.strip()]
    said = next((ln for ln in lines if "could not" in ln.lower() or "cannot" in ln.lower()), lines[-1] if lines
                else f"exit status {done.returncode}")
    return False, said


def check_display() -> Check:
    name = "Display"
    platform = qt_platform()
    if platform in ("offscreen", "minimal", "vnc"):
        started, said = _start_qt()
        if not started:
            return Check(name, Status.fail, f"Qt could not start even offscreen: {said}",
                         "reinstall PySide6-Essentials.")
        return Check(name, Status.ok, f"none needed (QT_QPA_PLATFORM={platform}); Qt starts")
    if platform == "xcb" and not os.environ.get("DISPLAY"):
        return Check(name, Status.fail, "no X display: DISPLAY is not set.",
                     "run from a desktop session (or ssh -X); without a screen use `xvfb-run -a sls-console`.")
    if platform == "wayland" and not os.environ.get("WAYLAND_DISPLAY"):
        return Check(name, Status.fail, "no Wayland display: WAYLAND_DISPLAY is not set.",
                     "run from a desktop session, or set QT_QPA_PLATFORM=xcb with an X display.")
    started, said = _start_qt()
    if not started:
        where = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or "the desktop"
        return Check(name, Status.fail, f"Qt could not open {where}: {said}",
                     "check the display is running and that you may use it (xhost, XAUTHORITY).")
    return Check(name, Status.ok, f"Qt opens {os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY') or said}")


# --- database, key, keyring ------------------------------------------------------------------------------
def _sqlite_file(db: Database) -> Path | None:
    name = db.engine.url.database
    return Path(name) if db.is_sqlite and name not in (None, "", ":memory:") else None


def check_database(db: Database) -> Check:
    name = "Database"
    where = db.display_name
    path = _sqlite_file(db)
    if path is not None and not path.exists():
        return Check(name, Status.fail, f"{path} does not exist yet.",
                     "start the console once, or run `sls-console upgrade`, to create it.")
    try:
        revision = current_revision(db)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return Check(name, Status.fail, f"cannot reach {where}: {reason}",
                     "check the URL (--database or SLS_CONSOLE_DATABASE_URL), that the server runs, and the "
                     "user's password and rights.")
    head = head_revision()
    if revision == head:
        return Check(name, Status.ok, f"{where} reachable, at the current migration {head}")
    if revision is None:
        return Check(name, Status.fail, f"{where} holds no SLS Console schema.",
                     "run `sls-console upgrade` (or start the console once).")
    if revision in known_revisions():
        return Check(name, Status.fail, f"{where} is at migration {revision}; this console needs {head}.",
                     "run `sls-console upgrade` (every desk on it must then run this version).")
    return Check(name, Status.fail, f"{where} is at migration {revision}, newer than this console ({head}).",
                 "install the console version the other desks use.")


def check_master_key(db: Database, database_ok: bool) -> Check:
    name = "Master key"
    try:
        store = default_store()
        keys = store.load()
    except KeyFileError as exc:  # its sentence already names the fix
        return Check(name, Status.fail, str(exc))
    except SealingError as exc:
        return Check(name, Status.fail, str(exc), "restore the key from your backup or another desk.")
    ids = ", ".join(key_id_of(k).hex() for k in keys)
    if not database_ok:
        found = f"key {ids} in {store.describe()}" if keys else f"none yet in {store.describe()}"
        return Check(name, Status.note, f"{found}; not tried against the database (see the line above)")
    with db.read() as s:
        sealed = read_lookup_row(s)
    if not keys:
        if sealed is None:
            return Check(name, Status.ok, f"none yet; the console creates one in {store.describe()} on first start")
        wanted = SecretBox.sealed_key_id(sealed).hex()
        return Check(name, Status.fail, f"no master key in {store.describe()}, but this database's secrets are "
                                        f"sealed with key {wanted}.",
                     "restore that key: set SLS_CONSOLE_KEY or SLS_CONSOLE_KEY_FILE, or copy the key file "
                     "another desk uses.")
    if sealed is None:
        return Check(name, Status.ok, f"key {ids} in {store.describe()}; nothing sealed yet")
    box = SecretBox(keys[-1], others=keys)
    try:
        box.open(sealed, LOOKUP_KEY_CONTEXT)
    except SealingError:
        wanted = SecretBox.sealed_key_id(sealed).hex()
        return Check(name, Status.fail, f"key {ids} in {store.describe()} does not open this database's sealed "
                                        f"values (sealed with key {wanted}).",
                     "copy that key from the desk that last rotated it (see docs/trust.md, Keys); starting the "
                     "console without it changes nothing but fails.")
    return Check(name, Status.ok, f"key {SecretBox.sealed_key_id(sealed).hex()} (current) in {store.describe()} "
                                  f"opens a sealed value" + (f"; also holds {len(keys) - 1} other" if len(keys) > 1
                                                             else ""))


def check_keyring() -> Check:
    name = "OS keyring"
    if os.environ.get(NO_KEYRING_ENV):
        return Check(name, Status.note, f"not used ({NO_KEYRING_ENV} is set)")
    try:
        import keyring

        backend = type(keyring.get_keyring()).__module__.removeprefix("keyring.backends.")
    except Exception as exc:  # noqa: BLE001 - a broken backend is what this line reports
        backend = f"unusable ({exc})"
    if keyring_available():
        return Check(name, Status.ok, f"answers ({backend})")
    return Check(name, Status.note, f"none answers ({backend}): the master key lives in an owner-only key file.",
                 "to keep it in a keyring instead, run a Secret Service (e.g. gnome-keyring) or KWallet.")


# --- files and clock ------------------------------------------------------------------------------------
def data_directories(db: Database) -> list[Path]:
    import platformdirs

    dirs = [Path(platformdirs.user_data_dir("sls-console", "SLS"))]
    path = _sqlite_file(db)
    if path is not None and path.parent.resolve() not in [d.resolve() for d in dirs]:
        dirs.append(path.parent)
    return dirs


def check_data_directory(dirs: list[Path], probe: dict[Path, float]) -> Check:
    """Write, sync and remove a probe file in each directory; remember how far each file's modification time
    is ahead of this machine's clock (on a network share it is the file server's clock)."""
    name = "Data directory"
    for d in dirs:
        try:
            d.mkdir(parents=True, exist_ok=True, mode=0o700)  # the console's own folder is the owner's alone
            path = d / f".sls-console-doctor-{os.getpid()}"
            with open(path, "w") as f:
                f.write("probe")
                f.flush()
                os.fsync(f.fileno())
            probe[d] = path.stat().st_mtime - time.time()
            path.unlink()
        except OSError as exc:
            return Check(name, Status.fail, f"cannot write in {d}: {exc.strerror or exc}.",
                         f"give your user write access to {d} (or point --database / XDG_DATA_HOME elsewhere).")
    return Check(name, Status.ok, f"writable: {', '.join(str(d) for d in dirs)}")


def check_file_modes(db: Database) -> Check:
    """The database file, its -wal and -shm, and the console's data folder: the owner's alone."""
    from console.app import exposed_data_files

    name = "File permissions"
    exposed = exposed_data_files(db)
    if exposed:
        return Check(name, Status.note, " ".join(exposed))
    return Check(name, Status.ok, "the database's files and the data folder are the owner's alone")


def _ntp_synchronised() -> bool | None:
    if not shutil.which("timedatectl"):
        return None
    try:
        out = subprocess.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"], capture_output=True,
                             text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = out.stdout.strip()
    return {"yes": True, "no": False}.get(value)


def server_clock_offset(db: Database) -> float | None:
    """Seconds the database server's clock is ahead of ours (PostgreSQL), or None where there is no server."""
    if db.is_sqlite:
        return None
    with db.engine.connect() as conn:
        before = time.time()
        server = conn.execute(text("SELECT extract(epoch FROM clock_timestamp())")).scalar_one()
        after = time.time()
    return float(server) - (before + after) / 2


def check_clock(db: Database, database_ok: bool, probe: dict[Path, float]) -> Check:
    name = "Clock"
    tolerance = float(TOTP_STEP_SECONDS)
    if database_ok:
        with db.read() as s:
            tolerance = TOTP_STEP_SECONDS * max(load_figures(s).totp_window_steps, 1)
    offset = server_clock_offset(db) if database_ok else None
    source = "the database server's clock"
    if offset is None and probe:
        # A file just written carries its file system's time: on a network share, the file server's clock;
        # on a local disk, this machine's own (then there is nothing else to compare with offline).
        directory, offset = next(iter(probe.items()))
        source = f"the file times in {directory}"
    ntp = _ntp_synchronised()
    fix = "enable time synchronisation (e.g. `timedatectl set-ntp true`, or your domain's time service)."
    if offset is not None and abs(offset) > tolerance:
        return Check(name, Status.fail, f"{abs(offset):.0f} s {'behind' if offset > 0 else 'ahead of'} {source}: "
                                        f"IB Key codes (valid {tolerance:.0f} s either side) will be refused.", fix)
    compared = f"within {abs(offset):.1f} s of {source}" if offset is not None else "no other clock to compare"
    if ntp is False:
        return Check(name, Status.note, f"{compared}, but not synchronised by NTP (timedatectl).", fix)
    if offset is not None and abs(offset) > CLOCK_WARN_SECONDS:
        return Check(name, Status.note, f"{compared}; codes still pass (tolerance {tolerance:.0f} s).", fix)
    synced = "; NTP synchronised" if ntp else ""
    local = "" if source == "the database server's clock" else " (no server clock to compare with: a local check)"
    return Check(name, Status.ok, f"{compared}{synced}{local}")


def run(url: str, out: Callable[[str], None] = print) -> int:
    """Every check, one line each; 0 when none failed, 1 otherwise."""
    checks = [check_qt_plugin(), check_display()]
    for check in checks:
        out(check.line())
    db = Database(url)
    try:
        database = check_database(db)
        out(database.line())
        database_ok = database.status is Status.ok
        probe: dict[Path, float] = {}
        rest = [check_master_key(db, database_ok), check_keyring(), check_data_directory(data_directories(db), probe)]
        rest.append(check_clock(db, database_ok, probe))
        rest.append(check_file_modes(db))
        for check in rest:
            out(check.line())
    finally:
        db.dispose()
    failed = [c for c in [*checks, database, *rest] if c.status is Status.fail]
    return 1 if failed else 0
