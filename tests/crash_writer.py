"""Child process for the crash test: commits numbered changes forever, printing each number after its commit."""

from __future__ import annotations

import sys

from console.models import audit
from console.models.clock import SystemClock
from console.models.db import Database
from console.models.entities import Setting


def main(url: str) -> None:
    db = Database(url)
    clock = SystemClock()
    n = 0
    while True:
        n += 1
        with db.write() as s:
            # Several rows per transaction, so the kill often lands in the middle of one.
            for k in range(20):
                audit.record(s, at=clock.now(), actor="crash", action="test.write", summary=f"change {n}.{k}",
                             details={"n": n, "k": k, "pad": "x" * 500})
            s.merge(Setting(key=f"crash_{n}", value=str(n), updated_at=clock.now(), updated_by="crash"))
        print(n, flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
