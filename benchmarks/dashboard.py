"""Benchmark: the dashboard, work list and monthly report figures on a large database (SQLite or PostgreSQL).

    python benchmarks/dashboard.py --database sqlite:////tmp/insight-1m.sqlite3
    python benchmarks/dashboard.py --database postgresql+psycopg://user:pass@127.0.0.1/db

Build the database once with `sls-console --database URL demo --users 1000000`. For each period the dashboard
offers, the figures of every panel (as an administrator sees them) are read ROUNDS times on a fresh connection
and the median and worst are printed; then the work list, the window itself opened offscreen (figures and
charts drawn), and the figures checked against direct aggregate queries (so the speed is not of wrong numbers).
Last line: `dashboard_open_s=<worst seconds to open the window> figures_ok=<yes|no>`.
A benchmark, not a test: see docs/benchmarks.md for the measured results.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ROUNDS = 5
PERIOD_WEEKS = (1, 4, 12, 26, 52)


def _context(url: str):
    from console.app import open_context
    from console.models.sealing import SecretBox

    # Figures never open a sealed secret: any key will do, and the database's own key is not needed.
    return open_context(url, box=SecretBox(bytes(range(32))), migrate=True)


def _timed(fn, rounds: int = ROUNDS) -> tuple[float, float, object]:
    times, result = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), max(times), result


def _check(ctx, panels) -> bool:
    """The figures against direct aggregates over the big tables (slow on purpose: a GROUP BY over everything)."""
    from sqlalchemy import func, select

    from console.models.entities import SecurityDevice, User
    from console.models.insight import kind_short

    by_key = {p.key: p for p in panels}
    ok = True
    with ctx.db.read() as s:
        for state, n in s.execute(select(User.sls_state, func.count()).group_by(User.sls_state)):
            ok &= by_key["states"].value("Users", state.label) == n
        for kind, state, n in s.execute(select(SecurityDevice.kind, SecurityDevice.state, func.count())
                                        .group_by(SecurityDevice.kind, SecurityDevice.state)):
            ok &= by_key["devices"].value(kind_short(kind), state.label) == n
    return bool(ok)


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", required=True, metavar="URL")
    args = parser.parse_args()

    from sqlalchemy import func, select

    from console.models.context import Actor
    from console.models.entities import AuditEntry, SecurityDevice, User
    from console.models.enums import StaffRole
    from console.models.insight import InsightService
    from console.models.work_list import WorkListService

    ctx = _context(args.database)
    admin = Actor("bench", "Benchmark Admin", StaffRole.administrator)
    with ctx.db.read() as s:
        users = s.scalar(select(func.count()).select_from(User))
        devices = s.scalar(select(func.count()).select_from(SecurityDevice))
        entries = s.scalar(select(func.count()).select_from(AuditEntry))
    print(f"database: {ctx.db.display_name} ({ctx.db.engine.dialect.name})")
    print(f"rows: {users:,} users, {devices:,} devices, {entries:,} audit entries")
    print(f"load: {Path('/proc/loadavg').read_text().split()[:3] if Path('/proc/loadavg').exists() else '?'}")
    service = InsightService(ctx)
    today = ctx.clock.now().date()
    print(f"\n{'what':<44}{'median ms':>12}{'worst ms':>12}")
    panels = []
    for weeks in PERIOD_WEEKS:
        since = today - dt.timedelta(weeks=weeks) + dt.timedelta(days=1)
        median, worst, panels = _timed(lambda since=since: service.panels(admin, since, today))
        print(f"{f'all panels, last {weeks} weeks':<44}{median * 1000:>12.1f}{worst * 1000:>12.1f}")
    since = today - dt.timedelta(weeks=12) + dt.timedelta(days=1)
    for key in [p.key for p in panels]:
        median, worst, _ = _timed(lambda key=key: service.panel(admin, key, since, today))
        print(f"{f'  panel {key}, 12 weeks':<44}{median * 1000:>12.1f}{worst * 1000:>12.1f}")
    median, worst, sections = _timed(lambda: WorkListService(ctx).today(admin))
    print(f"{'work list (every source, 200 rows each)':<44}{median * 1000:>12.1f}{worst * 1000:>12.1f}")
    print("   " + ", ".join(f"{x.source}={x.total:,}" for x in sections))

    from PySide6.QtWidgets import QApplication

    from console.app import Services
    from console.views.dashboard import DashboardWindow
    from console.views.desk import Desk

    app = QApplication.instance() or QApplication([])
    desk = Desk.build(Services.build(ctx, admin))
    opens = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        window = DashboardWindow(desk)
        window.show()
        while window.loading or not window.cards:  # the figures are read off the GUI thread
            app.processEvents()
            time.sleep(0.001)
        window.grab()  # every chart painted once
        opens.append(time.perf_counter() - started)
        window.close()
        window.deleteLater()
        app.processEvents()
    print(f"{'dashboard window opened and painted':<44}{statistics.median(opens) * 1000:>12.1f}"
          f"{max(opens) * 1000:>12.1f}")
    started = time.perf_counter()
    ok = _check(ctx, service.panels(admin, since, today))
    print(f"\nfigures equal direct GROUP BY queries: {'yes' if ok else 'NO'} "
          f"(the direct queries took {time.perf_counter() - started:.1f} s)")
    print(f"dashboard_open_s={max(opens):.3f} figures_ok={'yes' if ok else 'no'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
