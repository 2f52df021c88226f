"""Printables as PDF: the temporary-passcode letter and the Online Security Code Card, checked after rendering.

The PDFs are read back with poppler-utils (pdftotext for the words, pdftoppm for the page image): QtPdf is
not in PySide6-Essentials. scripts/setup.sh installs poppler-utils; without it these tests are skipped.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton, QRadioButton, QWizard
from sqlalchemy import select

from console.app import Services
from console.models.entities import User
from console.models.enums import SlsState
from console.models.firm import FIRM_NAME_ENV
from console.views.desk import Desk
from console.views.device_dialogs import PasscodeDialog
from console.views.opt_in_wizard import OptInWizard
from console.views.passcode_letter import letter_for, save_letter_pdf
from tests.views.desks import settle

needs_poppler = pytest.mark.skipif(not (shutil.which("pdftotext") and shutil.which("pdftoppm")),
                                   reason="poppler-utils (pdftotext, pdftoppm) not installed; scripts/setup.sh "
                                          "installs it")


def pdf_text(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def pdf_page_image(path, tmp_path) -> QImage:
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-singlefile", str(path), str(tmp_path / "page")], check=True)
    return QImage(str(tmp_path / "page.png"))


def ink_fraction(image: QImage) -> float:
    """Share of sampled pixels that are not white: text and lines actually drawn on the page."""
    dark = total = 0
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            total += 1
            dark += QColor(image.pixel(x, y)).lightness() < 200
    return dark / total


@pytest.fixture
def issued(qapp, ctx, world, agent):
    services = Services.build(ctx, agent)
    return services, services.temporary_access.issue_temporary_passcode(agent, world.secondary_id,
                                                                       identity_verified=True)


@needs_poppler
def test_passcode_letter_pdf_names_firm_user_passcode_and_expiry(issued, tmp_path, monkeypatch):
    """The letter's PDF, read back, carries the firm, the user, the passcode and the expiry date."""
    monkeypatch.setenv(FIRM_NAME_ENV, "Harbour Street Brokerage")
    services, passcode = issued
    details = services.directory.details(passcode.user_id)
    path = save_letter_pdf(letter_for(services, passcode, details), str(tmp_path / "letter.pdf"))
    text = pdf_text(path)
    assert "Harbour Street Brokerage" in text
    assert "John Smith" in text and "jsmit123" in text and "U1234567" in text
    assert passcode.grouped in text
    assert f"Expires: {passcode.expires_at:%d %b %Y}" in text
    assert ink_fraction(pdf_page_image(path, tmp_path)) > 0.005


@needs_poppler
def test_passcode_dialog_saves_the_letter(issued, qtbot, tmp_path):
    """The dialog that shows a new passcode offers the letter; its PDF names the user."""
    services, passcode = issued
    desk = Desk.build(services)
    dialog = PasscodeDialog(desk, passcode)
    qtbot.addWidget(dialog)
    settle(qtbot, desk)  # the letter's user is read off the GUI thread
    assert dialog.findChild(QPushButton, "printLetter") is not None
    assert dialog.findChild(QPushButton, "saveLetterPdf") is not None
    path = dialog.letter.save_pdf(str(tmp_path / "l.pdf"))
    assert "jsmit123" in pdf_text(path)


@pytest.fixture
def wizard(qtbot, ctx, world, agent):
    w = OptInWizard(Desk.build(Services.build(ctx, agent)), world.primary_id, "jsmit001")
    qtbot.addWidget(w)
    w.show()
    return w


def next_page(qtbot, w) -> None:
    qtbot.mouseClick(w.button(QWizard.WizardButton.NextButton), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(w.desk.runner.is_idle)  # the wizard's service calls run off the GUI thread


def card_values_from_pdf(text: str) -> dict[int, str]:
    """Index -> value pairs as a client reads them off the printed card (below the instructions)."""
    grid = text.split("no space.", 1)[1].split("Keep this card private", 1)[0]
    pairs = re.findall(r"\b(\d{1,3})\s+([A-Z2-9]{3})\b", grid)
    return {int(p): v for p, v in pairs}


@needs_poppler
def test_printed_card_answers_the_opt_in_wizards_challenge(qtbot, ctx, world, wizard, tmp_path):
    """The values read from the card's PDF, at the two index numbers the wizard asks for, enroll the user."""
    qtbot.mouseClick(wizard.findChild(QRadioButton, "option_card"), Qt.MouseButton.LeftButton)
    next_page(qtbot, wizard)
    assert wizard.card_page.card is not None
    path = wizard.card_page.save_pdf(str(tmp_path / "card.pdf"))
    text = pdf_text(path)
    assert "Online Security Code Card" in text and "jsmit001" in text
    printed = card_values_from_pdf(text)
    assert sorted(printed) == list(range(1, 101))
    assert ink_fraction(pdf_page_image(path, tmp_path)) > 0.01
    next_page(qtbot, wizard)
    a, b = (int(n) for n in re.findall(r"Index (\d+)", wizard.findChild(QLabel, "challengeText").text()))
    qtbot.keyClicks(wizard.findChild(QLineEdit, "answer"), printed[a] + printed[b])
    next_page(qtbot, wizard)
    assert wizard.last_error is None, wizard.last_error
    with ctx.db.read() as s:
        assert s.scalar(select(User.sls_state).where(User.id == world.primary_id)) is SlsState.enrolled
