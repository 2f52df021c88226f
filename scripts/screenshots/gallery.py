"""Render the console's main screens to docs/gallery/*.png for the README, on demo data.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots/gallery.py          # no display needed
    xvfb-run -a .venv/bin/python scripts/screenshots/gallery.py --platform xcb          # a real X server (Xvfb)

Each theme and scale runs in its own process (Qt reads the scale factor once, at start): light and dark at
100 %, and light at 125 % and 150 % to check nothing is cut off when the desktop is scaled.
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "gallery"
RUNS = (("light", "1"), ("dark", "1"), ("light", "1.25"), ("light", "1.5"))


def render(theme: str, scale: str) -> list[Path]:
    """In this process: build demo data, open each screen, grab it."""
    sys.path.insert(0, str(ROOT))
    from PySide6.QtWidgets import QApplication

    from console.app import Services, open_context
    from console.models.demo import generate
    from console.models.enums import StaffRole
    from console.models.settings import Figures
    from console.views.desk import Desk
    from console.views.main_window import MainWindow
    from console.views.style import allow_fractional_scaling, apply_theme
    from tests.sessions import signed_in

    allow_fractional_scaling()
    app = QApplication.instance() or QApplication([])
    apply_theme(app, dark=(theme == "dark"))
    tmp = Path(tempfile.mkdtemp(prefix="sls-gallery-"))
    ctx = open_context(f"sqlite:///{tmp / 'gallery.sqlite3'}")
    generate(ctx, Figures(), 2000, seed=11)
    services = Services.build(ctx, signed_in(ctx, "alex", "Alex Admin", StaffRole.administrator))
    suffix = "" if (theme, scale) == ("light", "1") else f"-{theme}" + ("" if scale == "1" else f"-{scale}x")
    written: list[Path] = []

    def shot(widget, name: str) -> None:
        app.processEvents()
        path = OUT / f"{name}{suffix}.png"
        widget.grab().save(str(path))
        written.append(path)

    window = MainWindow(Desk.build(services))
    window.resize(1280, 800)
    window.show()
    window.desk.runner.wait_idle()  # the list is read off the GUI thread
    window.filter_edit.setText("smith")
    window.apply_filter()
    while window.model.loading or window.model.state_counts is None:  # a text search runs in the background
        QApplication.processEvents()
    if window.model.rowCount():
        window.table.selectRow(0)
        window.table.setCurrentIndex(window.model.index(0, 0))
    shot(window, "main-window")

    settings = window.back_office.open_settings()
    window.desk.runner.wait_idle()  # the figures are read off the GUI thread
    shot(settings, "settings")
    settings.reject()
    help_browser = window.back_office.open_help("temporary-passcode")
    shot(help_browser, "help")
    help_browser.close()
    if scale != "1":
        return written

    dialog = window.back_office.open_import()
    bad = tmp / "accounts-with-a-mistake.csv"
    sample = (ROOT / "resources" / "sample-import.csv").read_text(encoding="utf-8").splitlines()
    sample[3] = sample[3].replace(",JP,JP,", ",Japan,JP,").replace("ytana002", "ytana02")
    bad.write_text("\n".join(sample) + "\n", encoding="utf-8")
    for path, name in ((ROOT / "resources" / "sample-import.csv", "import-preview"), (bad, "import-errors")):
        dialog.load(path)
        while dialog.busy():
            app.processEvents()
        shot(dialog, name)
    # A 20,000-user file, so the progress dialog is caught mid-way.
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from import_csv import generate_rows

    from console.models.importing import write_sample

    big = tmp / "twenty-thousand-users.csv"
    write_sample(generate_rows(20_000), big)
    dialog.load(big)
    while dialog.busy():
        app.processEvents()
    dialog.start_import()
    while dialog.busy() and not ("Writing" in dialog.progress_dialog.labelText()
                                 and dialog.progress_dialog.value() > dialog.progress_dialog.maximum() // 3):
        app.processEvents()
    if dialog.busy():
        shot(dialog.progress_dialog, "import-progress")
    while dialog.busy():
        app.processEvents()
    if dialog.last_message is not None:
        dialog.last_message.accept()
    dialog.reject()
    if theme == "light":
        written += _letter(services)
    return written


def _letter(services) -> list[Path]:
    """The passcode letter as printed: its PDF rendered by pdftoppm when available."""
    import shutil

    from console.views.passcode_letter import letter_for, save_letter_pdf

    with services.ctx.db.read() as s:
        from sqlalchemy import select

        from console.models.entities import User
        from console.models.enums import SlsState

        user_id = s.scalar(select(User.id).where(User.sls_state == SlsState.enrolled).order_by(User.id).limit(1))
    issued = services.temporary_access.issue_temporary_passcode(services.actor, user_id, identity_verified=True)
    pdf = OUT / "passcode-letter.pdf"
    save_letter_pdf(letter_for(services, issued), str(pdf))
    out = [pdf]
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-singlefile", str(pdf), str(OUT / "passcode-letter")],
                       check=True)
        out.append(OUT / "passcode-letter.png")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--platform", default=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
                    help="Qt platform plugin: offscreen (default) or xcb under Xvfb")
    ap.add_argument("--one", nargs=2, metavar=("THEME", "SCALE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.one:
        for path in render(*args.one):
            print(path.relative_to(ROOT))
        return 0
    env = dict(os.environ, QT_QPA_PLATFORM=args.platform)
    env.setdefault("SLS_CONSOLE_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
    env.setdefault("SLS_CONSOLE_KEY_FILE", str(Path(tempfile.mkdtemp()) / "gallery.key"))
    for theme, scale in RUNS:
        run_env = dict(env, QT_SCALE_FACTOR=scale, SLS_CONSOLE_THEME=theme)
        subprocess.run([sys.executable, __file__, "--one", theme, scale], env=run_env, check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
