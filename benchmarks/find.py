"""Benchmark: the Find box's default search at a million users, on one or more databases side by side.

    python benchmarks/find.py --database sqlite:////tmp/1m.sqlite3
    python benchmarks/find.py --database sqlite:////tmp/1m.sqlite3 --database postgresql+psycopg://u:p@host/db

Build each database once with `sls-console --database URL demo --users 1000000`. For each text (common and rare
surnames, first names, a username stem, account numbers with and without their U, two words) it measures what the list
needs before it can show a result: the row count and the first window of 100 rows, from cold caches
(`UserDirectory.invalidate()`), ROUNDS times on one connection; it prints the matches, the median and the worst
in milliseconds, and the median CPU time of this process (on SQLite the whole query runs in it, so that column
is what the search costs when no other job waits for the cores; on PostgreSQL it is only the client's share).
The goal (docs/benchmarks.md) is 50 ms. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TEXTS = ("smi", "smith", "tanaka", "lee", "wil", "joh", "gar", "u12", "687", "U6870", "mary s")
ROUNDS = 5
WINDOW = 100


def measure(url: str) -> dict[str, tuple[int, float, float, float]]:
    from console.app import open_context
    from console.models.directory import UserDirectory, UserQuery
    from console.models.enums import StaffRole
    from console.models.sealing import SecretBox
    from tests.sessions import signed_in

    # Find never opens a sealed secret: any key will do.
    ctx = open_context(url, box=SecretBox(bytes(range(32))), migrate=True)
    # As a desk searches: each read first checks a signed-in help-desk member's session.
    directory = UserDirectory(ctx.for_desk(signed_in(ctx, "bench01", "Benchmark Desk", StaffRole.help_desk)))
    directory.count(UserQuery())  # connection, repair check and the kept counts, as at the list's start
    out = {}
    for text in TEXTS:
        query = UserQuery(text=text)
        times, cpu, count = [], [], 0
        for _ in range(ROUNDS):
            directory.invalidate()
            started, started_cpu = time.perf_counter(), time.process_time()
            count = directory.count(query)
            directory.window(query, 0, WINDOW)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        out[text] = (count, statistics.median(times), max(times), statistics.median(cpu))
    ctx.db.dispose()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", action="append", required=True, metavar="URL")
    args = parser.parse_args()
    results = [(url.split(":", 1)[0].split("+", 1)[0], measure(url)) for url in args.database]
    header = f"{'text':10}" + "".join(f" | {name + ' matches':>18} | {'median ms':>9} | {'worst ms':>8} | {'cpu ms':>6}"
                                      for name, _ in results)
    print(header)
    print("-" * len(header))
    for text in TEXTS:
        print(f"{text:10}" + "".join(f" | {r[text][0]:>18,} | {r[text][1]:>9.1f} | {r[text][2]:>8.1f}"
                                     f" | {r[text][3]:>6.1f}" for _, r in results))
    worst = max(r[text][1] for _, r in results for text in TEXTS)
    print(f"find_worst_median_ms={worst:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
