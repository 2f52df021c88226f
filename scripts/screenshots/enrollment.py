"""Screenshots of the opt-in wizard pages and the opt-out dialog, rendered offscreen from a throw-away database.

Run from the repository root, in a real X window under Xvfb (as the README shots were taken):
    Xvfb :78 &  DISPLAY=:78 QT_QPA_PLATFORM=xcb .venv/bin/python scripts/screenshots/enrollment.py
or offscreen: QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots/enrollment.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pyotp  # noqa: E402
from PySide6.QtWidgets import QApplication, QLineEdit, QRadioButton  # noqa: E402

from console.models.clock import ManualClock  # noqa: E402
from console.models.context import ServiceContext  # noqa: E402
from console.models.db import Database  # noqa: E402
from console.models.enrollment import EnrollmentService  # noqa: E402
from console.models.enums import DeviceKind, StaffRole  # noqa: E402
from console.models.schema import upgrade  # noqa: E402
from console.models.sealing import SecretBox  # noqa: E402
from console.views.desk import Desk  # noqa: E402
from tests.sessions import signed_in  # noqa: E402  (a real staff session, as a sign-in makes)

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _context(tmp: str) -> ServiceContext:
    db = Database(f"sqlite:///{tmp}/shots.sqlite3")
    upgrade(db)
    return ServiceContext(db=db, box=SecretBox(bytes(range(32))), clock=ManualClock())


def _grab(widget, name: str) -> None:
    QApplication.processEvents()
    widget.grab().save(str(OUT / f"{name}.png"))
    print("wrote", OUT / f"{name}.png")


def _card_preview(card, name: str) -> None:
    """The printed card as an image (A4 at 100 dpi, 15 mm margins), to look at without a PDF viewer."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QColor, QImage, QPainter

    from console.views.printing import paint_card

    image = QImage(827, 1169, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    paint_card(painter, QRectF(59, 59, 827 - 118, 1169 - 118), card)
    painter.end()
    image.save(str(OUT / f"{name}.png"))
    print("wrote", OUT / f"{name}.png")


def make_screenshots() -> None:
    from console.views.opt_in_wizard import OptInWizard
    from tests.factories import add_same_person_username, build_world

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        ctx = _context(tmp)
        AGENT = signed_in(ctx, "hdesk01", "Harriet Desk", StaffRole.help_desk)
        world = build_world(ctx)
        twin = add_same_person_username(ctx, world.primary_id, "jsmit777", "U2222222",
                                        (DeviceKind.dsc_plus, DeviceKind.ib_key))
        svc = EnrollmentService(ctx)
        from console.app import Services
        from console.views.security_settings import SecuritySettingsDialog

        desk = Desk.build(Services.build(ctx, AGENT))

        class Wizard(OptInWizard):
            """The wizard calls its services off the GUI thread: each step waits for them here, as the agent does."""

            def next(self) -> None:
                super().next()
                self.settle()

            def reject(self) -> None:
                super().reject()
                self.settle()

            def settle(self) -> None:
                desk.runner.wait_idle()
                for _ in range(5):
                    QApplication.processEvents()

        def wizard() -> Wizard:
            w = Wizard(desk, world.primary_id, "jsmit001")
            w.resize(860, 640)
            w.show()
            return w

        settings = SecuritySettingsDialog(desk, world.primary_id)
        settings.show()
        desk.runner.wait_idle()  # the user is read off the GUI thread
        _grab(settings, "security_settings_opted_out")

        # 1. Choose, then the IB Key set-up, a wrong code, and the done page.
        w = wizard()
        w.findChild(QRadioButton, "option_ib_key").setChecked(True)
        _grab(w, "opt_in_1_choose")
        w.next()
        _grab(w, "opt_in_2_ib_key")
        key = w.ib_key_page.start.secret
        w.next()
        w.findChild(QLineEdit, "answer").setText("123456")
        w.next()  # refused: the page shows why
        _grab(w, "opt_in_5_wrong_code")
        w.findChild(QLineEdit, "answer").setText(pyotp.TOTP(key).at(ctx.clock.now()))
        w.next()
        _grab(w, "opt_in_7_done")
        w.close()
        settings.refresh()
        desk.runner.wait_idle()
        _grab(settings, "security_settings_enrolled")
        settings.close()

        # 2. The Online Security Code Card and its two-value check.
        from console.views.opt_out_dialog import OptOutDialog

        d = OptOutDialog(settings.desk, world.primary_id, "jsmit001", "Jane Smith")
        d.show()
        _grab(d, "opt_out_dialog")
        d.reject()
        svc.opt_out(AGENT, world.primary_id, "screenshot", True)
        w = wizard()
        w.findChild(QRadioButton, "option_card").setChecked(True)
        w.next()
        _grab(w, "opt_in_3_card")
        w.card_page.save_pdf(str(OUT / "online_security_code_card.pdf"))
        _card_preview(w.card_page.card, "online_security_code_card_print")
        w.next()
        _grab(w, "opt_in_6_verify_card")
        w.reject()

        # 3. Sharing the DSC+ of another username of the same person.
        w = wizard()
        w.findChild(QRadioButton, "option_shared").setChecked(True)
        w.next()
        w.findChild(QLineEdit, "otherUsername").setText("jsmit777")
        w.share_page.find_devices()
        w.settle()
        _grab(w, "opt_in_4_share")
        w.next()
        _grab(w, "opt_in_6_verify_dsc")
        w.reject()
        w = wizard()
        w.findChild(QRadioButton, "option_shared").setChecked(True)
        w.next()
        w.findChild(QLineEdit, "otherUsername").setText("jsmit123")
        w.share_page.find_devices()
        w.settle()
        _grab(w, "opt_in_4_share_refused")
        w.reject()
        ctx.db.dispose()
    del app, twin


if __name__ == "__main__":
    make_screenshots()
