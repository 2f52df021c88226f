"""Benchmark: preview and import a generated CSV of N users (default 100,000) into a fresh SQLite file.

    PYTHONPATH=. python benchmarks/import_csv.py [--users 100000] [--database URL] [--keep]

Prints the time of each phase, and checks that a cancelled import leaves the database unchanged.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import string
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from console.models.clock import SystemClock
from console.models.context import ServiceContext
from console.models.db import Database
from console.models.entities import User
from console.models.enums import StaffRole
from console.models.importing import ImportCancelled, ImportService, write_sample
from console.models.schema import upgrade
from console.models.sealing import SecretBox
from tests.sessions import signed_in


def generate_rows(users: int, seed: int = 7):
    rng = random.Random(seed)
    made, account = 0, 10_000_000
    used: set[str] = set()
    while made < users:
        account += 1
        kind = rng.choice(("individual", "individual", "joint", "organization"))
        n = {"individual": 1, "joint": 2, "organization": 3}[kind]
        for i in range(min(n, users - made)):
            while True:
                name = "".join(rng.choice(string.ascii_lowercase) for _ in range(5)) + f"{rng.randrange(1000):03d}"
                if name not in used:
                    used.add(name)
                    break
            yield {"account_number": f"U{account}", "account_kind": kind, "account_title": f"Account {account}",
                   "username": name, "full_name": f"Person {name}", "role": "primary" if i == 0 else "secondary",
                   "date_of_birth": dt.date(1950 + rng.randrange(50), 1 + rng.randrange(12), 1 + rng.randrange(28)),
                   "citizenship": "US", "country_of_residence": "US", "id_document_type": "passport",
                   "id_document_number": f"P{made:09d}"}
            made += 1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--database", default=None)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sls-import-bench-"))
    csv_path = work / "users.csv"
    t = time.perf_counter()
    write_sample(generate_rows(args.users), csv_path)
    print(f"generated {args.users:,} rows ({csv_path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t:.1f} s")

    db = Database(args.database or f"sqlite:///{work / 'bench.sqlite3'}")
    upgrade(db)
    ctx = ServiceContext(db, SecretBox(bytes(32)), SystemClock())
    actor = signed_in(ctx, "bench", "Benchmark", StaffRole.back_office)
    service = ImportService(ctx)

    t = time.perf_counter()
    plan = service.preview(actor, csv_path)
    print(f"preview: {time.perf_counter() - t:.1f} s  {plan.summary()}")

    calls = []

    def cancel_halfway(phase, done, total):
        calls.append((phase, done))
        return not (phase == "Writing" and done > total // 2)

    t = time.perf_counter()
    try:
        service.apply(actor, csv_path, cancel_halfway)
    except ImportCancelled as exc:
        print(f"cancel halfway: {time.perf_counter() - t:.1f} s, {len(calls)} progress reports; {exc}")
    with db.read() as s:
        print(f"users after cancel: {s.scalar(select(func.count()).select_from(User))}")

    t = time.perf_counter()
    reports = []
    result = service.apply(actor, csv_path, lambda *a: reports.append(a))
    print(f"import: {time.perf_counter() - t:.1f} s, {len(reports)} progress reports; {result}")
    with db.read() as s:
        print(f"users after import: {s.scalar(select(func.count()).select_from(User)):,}")


if __name__ == "__main__":
    main()
