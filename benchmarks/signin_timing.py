"""Benchmark: what a refused staff sign-in costs, by reason, with the real Argon2id parameters.

    python benchmarks/signin_timing.py [--rounds 30]

On a scratch SQLite database it adds an administrator and a help-desk member, locks the help-desk member, then
times refused sign-ins for an unknown username, a wrong password and the locked member (right password),
interleaved round by round, each through a fresh StaffService as a command-line run would build it. Prints
the median and the 10th/90th percentiles of each, and last `max_median_gap_ms=<largest difference between two
medians>`. A benchmark, not a test: tests/test_signin_leaks.py counts the Argon2 work instead of timing it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PASSWORD = "correct horse battery"


def main() -> int:
    import pyotp

    from console.app import open_context
    from console.models.clock import ManualClock
    from console.models.enums import StaffRole
    from console.models.errors import ConsoleError
    from console.models.sealing import SecretBox
    from console.models.staff import StaffService

    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clock = ManualClock()
        ctx = open_context(f"sqlite:///{Path(tmp) / 'signin.sqlite3'}", clock=clock, box=SecretBox(bytes(32)))
        staff = StaffService(ctx)
        alex = staff.add_first_administrator("alex", "Alex Admin", PASSWORD)
        admin = staff.sign_in("alex", PASSWORD, pyotp.TOTP(alex.totp_secret).at(clock.now()))
        staff.add(admin, "harriet", "Harriet Desk", StaffRole.help_desk, PASSWORD)
        for _ in range(5):
            clock.advance(seconds=61)
            try:
                staff.sign_in("harriet", "wrong password!", "000000")
            except ConsoleError:
                pass
        cases = {"unknown user": ("nobody", PASSWORD), "wrong password": ("alex", "wrong password!"),
                 "locked member": ("harriet", PASSWORD)}
        costs: dict[str, list[float]] = {case: [] for case in cases}
        messages: dict[str, set[str]] = {case: set() for case in cases}
        for _ in range(args.rounds):
            for case, (username, password) in cases.items():
                service = StaffService(ctx)  # fresh, as each command-line run is
                started = time.perf_counter()
                try:
                    service.sign_in(username, password, "000000")
                except ConsoleError as exc:
                    messages[case].add(str(exc))
                costs[case].append((time.perf_counter() - started) * 1000)
                clock.advance(seconds=4)  # stay under the firm-wide limit (20 a minute by default)
            clock.advance(minutes=1)
    for case, values in costs.items():
        deciles = statistics.quantiles(values, n=10)
        print(f"{case:<15} median {statistics.median(values):7.1f} ms   p10 {deciles[0]:7.1f}   p90 {deciles[-1]:7.1f}"
              f"   (n={len(values)})")
    print(f"distinct messages: {len(set().union(*messages.values()))}")
    medians = [statistics.median(v) for v in costs.values()]
    print(f"max_median_gap_ms={max(medians) - min(medians):.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
