"""A second desk for the two-process tests: one service call in a process of its own, started on a signal.

    python -m tests.desk_process URL NOW SYNC_DIR NAME OPERATION ARGS_JSON

It builds its own engine and services (as a console on another desk does), announces it is ready
(SYNC_DIR/NAME.ready), waits for SYNC_DIR/go, makes the call and prints one JSON line: {"outcome": "done",
"result": ...} or {"outcome": "refused", "error": <class>, "message": <what the agent reads>}. A domain
refusal is an answer, not a failure; anything else ends in a traceback on stderr and exit status 1, which the
tests treat as a defect. Each write transaction waits a moment before it commits, so the two desks' writes
overlap if nothing keeps them apart.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

from console.models.clock import ManualClock
from console.models.context import Actor, ServiceContext
from console.models.db import Database
from console.models.enums import StaffRole
from console.models.errors import ConsoleError
from console.models.sealing import SecretBox
from tests.sessions import signed_in

ROOT = Path(__file__).resolve().parent.parent
TEST_KEY = bytes(range(32))  # the same key as tests/conftest.py
COMMIT_DELAY = 0.3


def _operations(ctx: ServiceContext, actor: Actor, args: dict):
    from console.models.devices import DeviceService
    from console.models.enrollment import EnrollmentService
    from console.models.importing import ImportService
    from console.models.settings_service import SettingsService
    from console.models.sharing_review import SharingReviewService
    from console.models.staff import StaffService
    from console.models.temporary_access import TemporaryAccessService

    version = args.get("expected_version")
    return {
        "deactivate": lambda: StaffService(ctx).deactivate(actor, args["username"]),
        "change_role": lambda: StaffService(ctx).change_role(actor, args["username"],
                                                             StaffRole[args["role_to"]]).new_role.name,
        "opt_out": lambda: EnrollmentService(ctx).opt_out(
            actor, args["user_id"], "The client accepts the risks of logging in without a second factor.", True,
            expected_version=version).user_id,
        "temporary_passcode": lambda: TemporaryAccessService(ctx).issue_temporary_passcode(
            actor, args["user_id"], identity_verified=True, reason="device lost", expected_version=version).device_id,
        "start_ib_key": lambda: EnrollmentService(ctx).start_ib_key(
            actor, args["user_id"], expected_version=version).device_id,
        "setting": lambda: SettingsService(ctx).update(actor, args["key"], args["value"], shown=args.get("shown")),
        "receive": lambda: DeviceService(ctx).receive_stock(actor, args["serials"]),
        "import": lambda: ImportService(ctx).apply(actor, args["path"]).users_created,
        "approve": lambda: SharingReviewService(ctx).approve(actor, args["request_id"], args["reason"],
                                                             expected_version=version).state.name,
        "reject": lambda: SharingReviewService(ctx).reject(actor, args["request_id"], args["reason"],
                                                           expected_version=version).state.name,
    }


def run_desks(db, clock, tmp_path, *calls: tuple[str, dict]) -> list[dict]:
    """Run each (operation, args) in its own desk process, all released at the same moment; their answers.
    A traceback in any of them fails the test."""
    sync = Path(tempfile.mkdtemp(prefix="desks-", dir=tmp_path))
    procs = [subprocess.Popen([sys.executable, "-m", "tests.desk_process", db.url, clock.now().isoformat(),
                               str(sync), f"desk{i}", operation, json.dumps(args)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i, (operation, args) in enumerate(calls)]
    deadline = time.monotonic() + 60
    while len(list(sync.glob("*.ready"))) < len(procs) and time.monotonic() < deadline:
        time.sleep(0.01)
    (sync / "go").touch()
    answers = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0 and "Traceback" not in err, err
        answers.append(json.loads(out.strip().splitlines()[-1]))
    return answers


def main(url: str, now: str, sync_dir: str, name: str, operation: str, raw_args: str) -> int:
    args = json.loads(raw_args)
    ctx = ServiceContext(db=Database(url), box=SecretBox(TEST_KEY), clock=ManualClock(dt.datetime.fromisoformat(now)))
    actor = signed_in(ctx, args.get("actor", "admin01"), args.get("actor_name", "Alex Admin"),
                      StaffRole[args.get("role", "administrator")])
    call = _operations(ctx, actor, args)[operation]

    @event.listens_for(Session, "before_commit")
    def _linger(session: Session) -> None:
        time.sleep(COMMIT_DELAY)

    sync = Path(sync_dir)
    (sync / f"{name}.ready").touch()
    deadline = time.monotonic() + 30
    while not (sync / "go").exists():
        if time.monotonic() > deadline:
            raise SystemExit("no go signal")
        time.sleep(0.005)
    try:
        result = call()
    except ConsoleError as exc:
        print(json.dumps({"outcome": "refused", "error": type(exc).__name__, "message": str(exc)}), flush=True)
    else:
        print(json.dumps({"outcome": "done", "result": result}, default=str), flush=True)
    finally:
        ctx.db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
