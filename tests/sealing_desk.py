"""A desk that keeps sealing while another process rotates the master key (tests/test_key_rotation_live.py).

    python -m tests.sealing_desk URL LOG STOP

It opens the database as a console does (the key file named by $SLS_CONSOLE_KEY_FILE), signs in an
administrator and, until the file STOP exists, receives DSC+ cards into stock (a new sealed seed each) and
adds staff members (a new sealed TOTP secret each), alternately. Each success is one JSON line in LOG (what
was sealed, and the plain secret for staff, so the test can check it opens); each refusal too. An
unexpected error ends in a traceback and exit status 1.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from console.app import open_context
from console.models.devices import DeviceService
from console.models.enums import StaffRole
from console.models.errors import ConsoleError
from console.models.staff import StaffService
from tests.sessions import signed_in


def main(url: str, log_path: str, stop_path: str) -> int:
    ctx = open_context(url, migrate=False)
    actor = signed_in(ctx, "sealer01", "Sam Sealer", StaffRole.administrator)
    devices, staff = DeviceService(ctx), StaffService(ctx)
    stop = Path(stop_path)
    n = 0
    with open(log_path, "a", encoding="utf-8") as log:
        while not stop.exists():
            n += 1
            try:
                if n % 2:
                    serial = f"DSC7{n:08d}"
                    devices.receive_stock(actor, [serial])
                    line = {"kind": "device", "serial": serial}
                else:
                    username = f"seal{n:04d}"
                    enrollment = staff.add(actor, username, "Sealed Member", StaffRole.help_desk,
                                           "correct horse battery 42")
                    line = {"kind": "staff", "username": username, "secret": enrollment.totp_secret}
            except ConsoleError as exc:
                line = {"kind": "refused", "error": type(exc).__name__, "message": str(exc)}
            log.write(json.dumps(line) + "\n")
            log.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:4]))
