"""Benchmark: the users list at one million users, ours against Qt's QSqlQueryModel and a full ORM load.

    python benchmarks/users_list.py                # builds benchmarks/data/users-1m.sqlite3 once, then reuses it
    python benchmarks/users_list.py --users 100000 --db /tmp/users-100k.sqlite3
    python benchmarks/users_list.py --database postgresql+psycopg://u:p@host/db   # PostgreSQL (pg_trgm)
    python benchmarks/users_list.py --database sqlite:////tmp/1m.sqlite3 --database postgresql+psycopg://…
                                                   # both, and our list's figures side by side

A database given by URL is filled with demo users (COPY on PostgreSQL) when it holds fewer than --users.
QSqlQueryModel and the ORM load are measured on SQLite only (they are the SQLite baselines).

Each contender runs in its own child process on the same database file, so its peak memory (VmHWM from
/proc/self/status) is its own. "Ours" is the console's UsersModel (console/views/users_model.py) over
UserDirectory, driven through its Qt interface; the whole main window is measured as well. Measured for
each: time to the first rows, time to show the last row, filter latency (a username/name prefix; a name
substring), peak resident memory. Then `audit verify` over the database's whole trail, with its rate and
peak memory. Prints a table, the ratios, and as its last line `ratio_last_row_vs_qsql=<number>`.
See docs/benchmarks.md for the measured results.

A benchmark, not a test: it takes minutes (the demo build ~2 min, the ORM full load ~1 min).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_DB = ROOT / "benchmarks" / "data" / "users-1m.sqlite3"
BENCH_KEY = bytes(range(32))  # demo seeds are sealed with a throwaway key; nothing here opens them
WINDOW = 100  # rows a list shows (and fetches) at a time
# What the Find box matches by default: a username stem, first names, surnames (any word of the name), account
# numbers with and without their U.
PREFIXES = ("smi", "joh", "gar", "wil", "u12", "tanaka", "687")
SUBSTRINGS = ("ohnso", "mith", "arcia", "illia")  # inside surnames
ONE_LETTER = "s"  # the worst prefix: ~13% of all users
ROUNDS = 3  # each filter measured this many times (ours from cold caches each time); medians reported


# --- memory ------------------------------------------------------------------------------------------
def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_rss_mb() -> float:
    kb = _status_kb("VmHWM")
    if kb is None:  # not Linux: ru_maxrss (kB on Linux/BSD, bytes on macOS)
        import resource

        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if sys.platform == "darwin":
            kb //= 1024
    return kb / 1024


def rss_mb() -> float:
    kb = _status_kb("VmRSS")
    return kb / 1024 if kb is not None else peak_rss_mb()


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


# --- the database ------------------------------------------------------------------------------------
def _children_cpu() -> float:
    """CPU seconds of finished child processes (the demo loader's writer process)."""
    try:
        import resource
    except ImportError:
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _url(target: str | Path) -> str:
    """A database URL, or a SQLite file's path."""
    return str(target) if "://" in str(target) else f"sqlite:///{target}"


def _is_sqlite(target: str | Path) -> bool:
    return _url(target).startswith("sqlite")


def _context(path: str | Path):
    from console.models.context import ServiceContext
    from console.models.db import Database
    from console.models.sealing import SecretBox

    return ServiceContext(db=Database(_url(path)), box=SecretBox(BENCH_KEY))


def _desk_context(path: str | Path):
    """As a desk reads: every read checks a signed-in help-desk member's session first."""
    from console.models.enums import StaffRole
    from tests.sessions import signed_in

    ctx = _context(path)
    actor = signed_in(ctx, "bench01", "Benchmark Desk", StaffRole.help_desk)
    ctx.db.engine.dispose()  # the list's first read connects again, inside its timing, as before
    return ctx.for_desk(actor)


def ensure_server_database(url: str, users: int) -> dict:
    """A PostgreSQL database with at least `users` users: reused, or emptied and filled by the demo loader."""
    import hashlib

    from sqlalchemy import func, select, text

    from console.models import demo, schema
    from console.models.entities import User
    from console.models.settings import Figures

    info_path = ROOT / "benchmarks" / "data" / f"users-{hashlib.sha256(url.encode()).hexdigest()[:12]}.json"
    ctx = _context(url)
    try:
        if schema.current_revision(ctx.db) is not None:
            schema.upgrade(ctx.db)  # a database built before the latest migration is upgraded, not rebuilt
            with ctx.db.read() as s:
                have = s.scalar(select(func.count()).select_from(User))
            if have >= users:  # built earlier, by this script or by `sls-console demo`
                return {**_recorded_build(info_path, have, ctx), "reused": True}
        with ctx.db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        schema.upgrade(ctx.db)
        print(f"building {users:,} demo users in {ctx.db.display_name} ...", file=sys.stderr, flush=True)
        summary = demo.generate(ctx, Figures(), users, seed=20261126)
        with ctx.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    finally:
        ctx.db.dispose()
    info = {"users": summary.users, "accounts": summary.accounts, "devices": summary.devices,
            "charges": summary.charges, "audit_entries": summary.audit_entries,
            "build_seconds": round(summary.seconds, 1), "cpus": os.cpu_count(),
            "load_average_after": os.getloadavg() if hasattr(os, "getloadavg") else None}
    info_path.parent.mkdir(parents=True, exist_ok=True)
    info_path.write_text(json.dumps(info, indent=2))
    return {**info, "reused": False}


def _recorded_build(info_path: Path, users: int, ctx) -> dict:
    """What this script recorded when it built the database, if it did and the record still matches (same user
    count); else only what the database holds now (built by `sls-console demo`, or by another run since)."""
    if info_path.exists():
        recorded = json.loads(info_path.read_text())
        if recorded.get("users") == users:
            return {**recorded, "audit_entries": _audit_entries(ctx)}  # sign-ins since have added entries
    return {"users": users, "audit_entries": _audit_entries(ctx)}


def _audit_entries(ctx) -> int:
    from console.models.entities import AuditHead

    with ctx.db.read() as s:
        head = s.get(AuditHead, 1)
        return head.count if head else 0


def ensure_database(path: str | Path, users: int) -> dict:
    """Reuse the file when it holds enough users at the current schema; else build it with the demo loader."""
    from sqlalchemy import func, select

    from console.models import demo, schema
    from console.models.entities import User
    from console.models.settings import Figures

    if not _is_sqlite(path):
        return ensure_server_database(_url(path), users)
    path = Path(str(path).removeprefix("sqlite:///"))
    info_path = path.with_suffix(".json")
    if path.exists():
        ctx = _context(path)
        try:
            if schema.current_revision(ctx.db) == schema.head_revision():
                with ctx.db.read() as s:
                    have = s.scalar(select(func.count()).select_from(User))
                if have >= users:  # built earlier, by this script or by `sls-console demo`
                    return {**_recorded_build(info_path, have, ctx), "reused": True}
        finally:
            ctx.db.dispose()
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    ctx = _context(path)
    schema.upgrade(ctx.db)
    print(f"building {users:,} demo users in {path} ...", file=sys.stderr, flush=True)
    cpu, children_cpu = time.process_time(), _children_cpu()
    summary = demo.generate(ctx, Figures(), users, seed=20261126,
                            progress=lambda done, total: print(f"  {done:,}/{total:,}", file=sys.stderr,
                                                               flush=True))
    with ctx.db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    ctx.db.dispose()
    info = {"users": summary.users, "accounts": summary.accounts, "devices": summary.devices,
            "charges": summary.charges, "audit_entries": summary.audit_entries,
            "build_seconds": round(summary.seconds, 1), "build_cpu_seconds_main": round(time.process_time() - cpu, 1),
            "build_cpu_seconds_writer": round(_children_cpu() - children_cpu, 1),
            "cpus": os.cpu_count(), "load_average_after": os.getloadavg() if hasattr(os, "getloadavg") else None}
    info_path.write_text(json.dumps(info, indent=2))
    info["reused"] = False
    return info


# --- contenders (each runs in a child process) --------------------------------------------------------
def measure_ours(path: Path) -> dict:
    """Our users list: the Qt model over UserDirectory when the GUI is present, else the directory itself."""
    try:
        from console.views import users_model  # noqa: F401
    except ImportError:
        return _measure_directory(path)
    return _measure_qt_model(path)


def _measure_directory(path: Path) -> dict:
    from sqlalchemy.orm import configure_mappers

    from console.models.directory import UserDirectory, UserQuery

    base = rss_mb()
    ctx = _desk_context(path)
    configure_mappers()
    t0 = time.perf_counter()
    d = UserDirectory(ctx)
    query = UserQuery()
    n = d.count(query)
    first = d.window(query, 0, WINDOW)
    t_first = time.perf_counter() - t0
    assert first
    t0 = time.perf_counter()
    last = d.window(query, n - WINDOW, WINDOW)
    t_last = time.perf_counter() - t0
    assert len(last) == WINDOW

    def filter_time(q) -> float:
        d.invalidate()
        t = time.perf_counter()
        d.count(q)
        d.window(q, 0, WINDOW)
        return time.perf_counter() - t

    prefix = [filter_time(UserQuery(text=p)) for _ in range(ROUNDS) for p in PREFIXES]
    substring = [filter_time(UserQuery(text=p, contains=True)) for _ in range(ROUNDS) for p in SUBSTRINGS]
    one_letter = filter_time(UserQuery(text=ONE_LETTER))
    return {"name": "ours (UserDirectory)", "rows": n, "first_rows_ms": _ms(t_first), "last_row_ms": _ms(t_last),
            "prefix_filter_ms": _ms(statistics.median(prefix)), "prefix_filter_max_ms": _ms(max(prefix)),
            "substring_filter_ms": _ms(statistics.median(substring)),
            "substring_filter_max_ms": _ms(max(substring)), "one_letter_prefix_ms": _ms(one_letter),
            "peak_rss_mb": round(peak_rss_mb(), 1), "rss_before_mb": round(base, 1)}


def _wait(app, done, timeout: float = 60.0) -> None:
    """Run the event loop until done() (the loader thread delivers through queued signals)."""
    deadline = time.perf_counter() + timeout
    while not done():
        app.processEvents()
        if time.perf_counter() > deadline:
            raise TimeoutError("the users list did not finish loading")
        time.sleep(0.0002)


def _measure_qt_model(path: Path) -> dict:
    from PySide6.QtCore import QCoreApplication
    from sqlalchemy.orm import configure_mappers

    from console.models.directory import UserDirectory, UserQuery
    from console.views.users_model import UsersModel

    app = QCoreApplication.instance() or QCoreApplication([])
    base = rss_mb()
    ctx = _desk_context(path)  # the engine connects lazily: opening the database is inside the timing
    configure_mappers()  # once per process, at start-up; not the list's work
    t0 = time.perf_counter()
    directory = UserDirectory(ctx)
    model = UsersModel(directory)
    # The first query runs on the list's loader thread, as in the window: the first rows count once they land.
    _wait(app, lambda: not model.loading and model.data(model.index(0, 0)) not in (None, "…"))
    first = model.data(model.index(0, 0))
    t_first = time.perf_counter() - t0
    assert first and first != "…"
    n = model.rowCount()
    t0 = time.perf_counter()
    last = model.index(n - 1, 0)
    model.data(last)  # what the view asks when the scrollbar reaches the bottom: a background window read
    _wait(app, lambda: model.data(last) != "…")
    t_last = time.perf_counter() - t0

    def filter_time(q) -> float:
        directory.invalidate()  # every round starts cold: no cached count or position
        t = time.perf_counter()
        model.set_query(q)
        _wait(app, lambda: not model.loading)
        model.data(model.index(0, 0))
        return time.perf_counter() - t

    prefix = [filter_time(UserQuery(text=p)) for _ in range(ROUNDS) for p in PREFIXES]
    substring = [filter_time(UserQuery(text=p, contains=True)) for _ in range(ROUNDS) for p in SUBSTRINGS]
    one_letter = filter_time(UserQuery(text=ONE_LETTER))
    return {"name": "ours (UsersModel)", "rows": n, "first_rows_ms": _ms(t_first), "last_row_ms": _ms(t_last),
            "prefix_filter_ms": _ms(statistics.median(prefix)), "prefix_filter_max_ms": _ms(max(prefix)),
            "substring_filter_ms": _ms(statistics.median(substring)),
            "substring_filter_max_ms": _ms(max(substring)), "one_letter_prefix_ms": _ms(one_letter),
            "peak_rss_mb": round(peak_rss_mb(), 1), "rss_before_mb": round(base, 1)}


def measure_console(path: Path) -> dict:
    """The whole console: main window offscreen on the database, driven to the last row and through filters."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from console.app import Services
    from console.models.enums import StaffRole
    from console.views.desk import Desk
    from console.views.main_window import MainWindow
    from tests.sessions import signed_in

    app = QApplication.instance() or QApplication([])
    t0 = time.perf_counter()
    ctx = _context(path)
    actor = signed_in(ctx, "bench01", "Benchmark Desk", StaffRole.help_desk)
    window = MainWindow(Desk.build(Services.build(ctx, actor)))
    window.show()
    model, table = window.model, window.table
    # Shown means shown with rows: the list's first query lands from its loader thread.
    _wait(app, lambda: not model.loading and model.rowCount() > 0 and model.data(model.index(0, 0)) != "…")
    t_shown = time.perf_counter() - t0
    n = model.rowCount()
    t0 = time.perf_counter()
    table.scrollToBottom()
    last = model.index(n - 1, 0)
    _wait(app, lambda: (app.processEvents() or True) and model.data(last) != "…")
    t_last = time.perf_counter() - t0
    for text in ("s", "sm", "smi", "smit"):  # an agent typing, faster than the filter's pause
        window.filter_edit.setText(text)
        app.processEvents()
    window.apply_filter()
    _wait(app, lambda: not model.loading)
    window.contains_check.setChecked(True)
    window.filter_edit.setText("ohnso")
    window.apply_filter()
    _wait(app, lambda: not model.loading)
    table.scrollToBottom()
    app.processEvents()
    result = {"name": "console window", "rows": n, "shown_ms": _ms(t_shown), "last_row_ms": _ms(t_last),
              "peak_rss_mb": round(peak_rss_mb(), 1), "rss_mb": round(rss_mb(), 1)}
    window.close()
    return result


def _equivalent_sql(where: str = "") -> str:
    """What our list shows, as one SQL statement for QSqlQueryModel (same joins, same order)."""
    return ("SELECT users.id, users.username, users.full_name, accounts.number, users.role, users.sls_state, "
            "users.active_devices FROM users JOIN accounts ON accounts.id = users.account_id "
            f"{where} ORDER BY users.username, users.id")


def _filter_sql(text: str, contains: bool) -> str:
    """The same filter conditions our directory uses (index ranges; the FTS5 trigram table)."""
    from sqlalchemy import select
    from sqlalchemy.dialects import sqlite

    from console.models.directory import UserQuery, filtered
    from console.models.entities import User

    stmt = filtered(select(User.id), UserQuery(text=text, contains=contains))
    where = str(stmt.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    return where[where.index("WHERE"):]


def measure_qsql(path: Path) -> dict:
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtSql import QSqlDatabase, QSqlQuery, QSqlQueryModel

    base = rss_mb()
    app = QCoreApplication.instance() or QCoreApplication([])  # noqa: F841 (QtSql needs an application)
    t0 = time.perf_counter()
    db = QSqlDatabase.addDatabase("QSQLITE", "bench")
    db.setDatabaseName(str(path).removeprefix("sqlite:///"))
    assert db.open(), db.lastError().text()
    model = QSqlQueryModel()

    def show(sql: str) -> None:
        model.setQuery(QSqlQuery(sql, db))
        assert not model.lastError().isValid(), model.lastError().text()
        if model.rowCount():
            model.data(model.index(0, 1))

    show(_equivalent_sql())
    t_first = time.perf_counter() - t0
    assert model.rowCount() > 0
    t0 = time.perf_counter()
    while model.canFetchMore():  # what a view does when the user drags the scrollbar to the bottom
        model.fetchMore()
    model.data(model.index(model.rowCount() - 1, 1))
    t_last = time.perf_counter() - t0
    n = model.rowCount()

    def filter_time(text: str, contains: bool) -> float:
        t = time.perf_counter()
        show(_equivalent_sql(_filter_sql(text, contains)))
        return time.perf_counter() - t

    prefix = [filter_time(p, False) for _ in range(ROUNDS) for p in PREFIXES]
    substring = [filter_time(p, True) for _ in range(ROUNDS) for p in SUBSTRINGS]
    one_letter = filter_time(ONE_LETTER, False)
    result = {"name": "QSqlQueryModel", "rows": n, "first_rows_ms": _ms(t_first), "last_row_ms": _ms(t_last),
              "prefix_filter_ms": _ms(statistics.median(prefix)), "prefix_filter_max_ms": _ms(max(prefix)),
              "substring_filter_ms": _ms(statistics.median(substring)),
              "substring_filter_max_ms": _ms(max(substring)), "one_letter_prefix_ms": _ms(one_letter),
              "peak_rss_mb": round(peak_rss_mb(), 1), "rss_before_mb": round(base, 1)}
    model.clear()
    db.close()
    return result


def measure_orm(path: Path) -> dict:
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload

    from console.models.entities import User

    base = rss_mb()
    ctx = _context(path)
    t0 = time.perf_counter()
    with ctx.db.read() as s:
        users = s.scalars(select(User).options(joinedload(User.account))
                          .order_by(User.username, User.id)).all()
        t_all = time.perf_counter() - t0  # nothing shows before everything is loaded
        t0 = time.perf_counter()
        last = users[-1].username, users[-1].account.number
        t_last = time.perf_counter() - t0
        assert last

        def filter_time(text: str, contains: bool) -> float:
            t = time.perf_counter()
            if contains:
                [u for u in users if text in u.name_key or text in u.username]
            else:
                [u for u in users if u.username.startswith(text) or u.name_key.startswith(text)
                 or f" {text}" in u.name_key or u.account.number.lower().lstrip("u").startswith(text.lstrip("u"))]
            return time.perf_counter() - t

        prefix = [filter_time(p, False) for p in PREFIXES]
        substring = [filter_time(p, True) for p in SUBSTRINGS]
        one_letter = filter_time(ONE_LETTER, False)
        n = len(users)
    return {"name": "ORM full load", "rows": n, "first_rows_ms": _ms(t_all), "last_row_ms": _ms(t_all + t_last),
            "prefix_filter_ms": _ms(statistics.median(prefix)), "prefix_filter_max_ms": _ms(max(prefix)),
            "substring_filter_ms": _ms(statistics.median(substring)),
            "substring_filter_max_ms": _ms(max(substring)), "one_letter_prefix_ms": _ms(one_letter),
            "peak_rss_mb": round(peak_rss_mb(), 1), "rss_before_mb": round(base, 1)}


def measure_audit(path: Path) -> dict:
    from console.models import audit

    base = rss_mb()
    ctx = _context(path)
    t0 = time.perf_counter()
    with ctx.db.read() as s:
        result = audit.verify(s)
    seconds = time.perf_counter() - t0
    return {"name": "audit verify", "ok": result.ok, "entries": result.count, "seconds": round(seconds, 2),
            "entries_per_second": round(result.count / seconds), "peak_rss_mb": round(peak_rss_mb(), 1),
            "rss_before_mb": round(base, 1)}


CONTENDERS = {"ours": measure_ours, "qsql": measure_qsql, "orm": measure_orm, "audit": measure_audit,
              "console": measure_console}


def _child(name: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", name, "--db", str(path)], capture_output=True,
                         text=True, env={**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM",
                                                                                          "offscreen")})
    if out.returncode != 0:
        raise SystemExit(f"{name} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- report ------------------------------------------------------------------------------------------
ROWS = (("time to first rows (ms)", "first_rows_ms"), ("time to show the last row (ms)", "last_row_ms"),
        (f"prefix filter, median of {len(PREFIXES)}x{ROUNDS} (ms)", "prefix_filter_ms"),
        ("prefix filter, worst (ms)", "prefix_filter_max_ms"),
        (f"substring filter, median of {len(SUBSTRINGS)}x{ROUNDS} (ms)", "substring_filter_ms"),
        ("substring filter, worst (ms)", "substring_filter_max_ms"),
        (f"one-letter prefix '{ONE_LETTER}' (ms)", "one_letter_prefix_ms"),
        ("peak resident memory (MB)", "peak_rss_mb"))


def report(info: dict, results: list[dict], audit_result: dict | None, console: dict | None, path) -> str:
    names = [r["name"] for r in results]
    width = max(len(label) for label, _ in ROWS) + 2
    lines = [database_line(info, path), ""]
    lines.append("| " + "measure".ljust(width) + " | " + " | ".join(n.rjust(20) for n in names) + " |")
    lines.append("|" + "-" * (width + 2) + "|" + "|".join("-" * 22 for _ in names) + "|")
    for label, key in ROWS:
        lines.append("| " + label.ljust(width) + " | " + " | ".join(f"{r[key]:>20,.2f}" for r in results) + " |")
    lines.append("")
    ours = results[0]
    for r in results[1:]:
        for label, key in (("first rows", "first_rows_ms"), ("last row", "last_row_ms"),
                           ("prefix filter", "prefix_filter_ms"), ("substring filter", "substring_filter_ms"),
                           ("peak memory", "peak_rss_mb")):
            lines.append(f"{r['name']} / ours, {label}: {r[key] / max(ours[key], 0.001):,.1f}x")
    if console:
        lines += ["", f"whole console (main window, offscreen) on {console['rows']:,} users: shown with rows in "
                      f"{console['shown_ms']:,.0f} ms, last row {console['last_row_ms']:,.1f} ms after End, "
                      f"peak resident memory {console['peak_rss_mb']} MB after typing filters and scrolling"]
    if audit_result:
        lines += ["", f"audit verify: {audit_result['entries']:,} entries in {audit_result['seconds']} s = "
                      f"{audit_result['entries_per_second']:,} entries/s, ok={audit_result['ok']}, "
                      f"peak memory {audit_result['peak_rss_mb']} MB (before: {audit_result['rss_before_mb']} MB)"]
    if len(results) > 1:
        lines += ["", f"ratio_last_row_vs_qsql={results[1]['last_row_ms'] / max(ours['last_row_ms'], 0.001):.1f}"]
    return "\n".join(lines)


def database_line(info: dict, path, cpus: int | None = None, load: tuple[float, ...] | None = None) -> str:
    """The database measured and how it came to be: the demo build this script timed (now, or earlier and
    reused), or an existing database it did not build (so no build time is claimed); then the machine the
    measurements ran on now (`cpus` and `load` default to this machine's)."""
    cpus = cpus if cpus is not None else os.cpu_count()
    load = load if load is not None else (os.getloadavg() if hasattr(os, "getloadavg") else None)
    text = f"database: {_display(path)} ({info['users']:,} users, {info['audit_entries']:,} audit entries; "
    if "build_seconds" in info:
        text += "reused the database this script built earlier: " if info.get("reused") else ""
        text += f"demo build {info['build_seconds']} s" + (f" on {info['cpus']} CPUs" if "cpus" in info else "")
        done = [f"CPU {info['build_cpu_seconds_main']} s building + {info['build_cpu_seconds_writer']} s writing"
                if "build_cpu_seconds_main" in info else "",
                f"load average after {_loads(info['load_average_after'])}" if info.get("load_average_after") else ""]
        text += f" ({', '.join(d for d in done if d)}); " if any(done) else "; "
    else:
        text += f"reused an existing database of {info['users']:,} users, not built by this script; "
    text += f"measured on {cpus} CPUs" + (f" at load average {_loads(load)}" if load else "") + ")"
    return text


def _loads(load) -> str:
    return ", ".join(f"{x:.1f}" for x in load)


def _display(target) -> str:
    from sqlalchemy.engine import make_url

    return make_url(_url(target)).render_as_string(hide_password=True)


def side_by_side(runs: list[tuple[str, dict, dict]]) -> str:
    """Our list's figures on each database, one column per database."""
    width = max(len(label) for label, _ in ROWS) + 2
    names = [make_name(target) for target, _, _ in runs]
    lines = ["", "ours (UsersModel), side by side:", "",
             "| " + "measure".ljust(width) + " | " + " | ".join(n.rjust(12) for n in names) + " |",
             "|" + "-" * (width + 2) + "|" + "|".join("-" * 14 for _ in names) + "|"]
    lines += ["| " + "users".ljust(width) + " | " + " | ".join(f"{info['users']:>12,}" for _, info, _ in runs) + " |"]
    for label, key in ROWS:
        lines.append("| " + label.ljust(width) + " | " + " | ".join(f"{ours[key]:>12,.2f}" for _, _, ours in runs)
                     + " |")
    return "\n".join(lines)


def make_name(target) -> str:
    return "SQLite" if _is_sqlite(target) else "PostgreSQL"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=str(DEFAULT_DB), help="a SQLite file (or a database URL)")
    parser.add_argument("--database", action="append", metavar="URL",
                        help="a database URL (SQLite or PostgreSQL); give two to compare them side by side")
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--skip-orm", action="store_true", help="leave out the (slow, memory-hungry) ORM load")
    parser.add_argument("--skip-audit", action="store_true")
    parser.add_argument("--child", choices=sorted(CONTENDERS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(CONTENDERS[args.child](args.db)))
        return 0
    runs = []
    for target in args.database or [args.db]:
        info = ensure_database(target, args.users)
        results = [_child("ours", target)]
        if _is_sqlite(target):
            results.append(_child("qsql", target))
            if not args.skip_orm:
                results.append(_child("orm", target))
        console = _child("console", target)
        audit_result = None if args.skip_audit else _child("audit", target)
        print(report(info, results, audit_result, console, target), flush=True)
        runs.append((target, info, results[0]))
    if len(runs) > 1:
        print(side_by_side(runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
