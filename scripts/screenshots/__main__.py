"""Regenerate every image the README and docs/ show, on demo data: one command, one scene per file here.

    .venv/bin/python scripts/screenshots                        # every scene, offscreen (no display needed)
    .venv/bin/python scripts/screenshots main trust             # only these scenes
    xvfb-run -a .venv/bin/python scripts/screenshots --platform xcb   # in a real X server (Xvfb)

Each scene runs in its own process (Qt reads the platform and scale once, at start) on a fresh demo database
with a throw-away master key, and writes into docs/screenshots/ (gallery: docs/gallery/, light and dark, 125 %
and 150 %). `users_at_scale` first builds a million users (minutes); give it a DATABASE path to reuse one.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENES = {
    "main": "main window and the security-rights notice",
    "trust": "sign-in (also on a demo database), audit trail, staff",
    "enrollment": "opt-in wizard, opt-out, security settings, the printable card",
    "devices": "devices window, report a loss, temporary passcode, online card, charges",
    "desk": "a ship confirmation naming card, client and reserve, then its report; help desk's Devices menu",
    "insight": "dashboard (light, dark), work list, staff activity, monthly report page",
    "sls_rules": "withdrawal limits in the detail pane, SMS, printed card, compliance queue and decision",
    "look": "the theme chosen in Settings (light, dark) and the detail pane at 1024×700",
    "gallery": "main window, import, service figures, help and the passcode letter in both themes and scales",
    "users_at_scale": "a million users: the last row and a substring search",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("scenes", nargs="*", metavar="SCENE",
                        help=f"scenes to render (default: all): {', '.join(SCENES)}")
    parser.add_argument("--platform", default=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
                        help="Qt platform plugin: offscreen (default) or xcb under Xvfb")
    args = parser.parse_args(argv)
    unknown = [s for s in args.scenes if s not in SCENES]
    if unknown:
        parser.error(f"no scene called {', '.join(unknown)}; choose from {', '.join(SCENES)}")
    env = dict(os.environ, QT_QPA_PLATFORM=args.platform)
    failed = []
    for scene in args.scenes or list(SCENES):
        started = time.monotonic()
        print(f"--- {scene}: {SCENES[scene]}", flush=True)
        extra = ["--platform", args.platform] if scene == "gallery" else []
        done = subprocess.run([sys.executable, str(HERE / f"{scene}.py"), *extra], env=env, check=False)
        print(f"    {'ok' if done.returncode == 0 else 'FAILED'} in {time.monotonic() - started:.0f} s", flush=True)
        if done.returncode != 0:
            failed.append(scene)
    if failed:
        print(f"Failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
