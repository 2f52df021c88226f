"""The temporary-passcode letter: firm, user, passcode and its two windows on one printed page or PDF."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from PySide6.QtCore import QObject, QRectF
from PySide6.QtGui import QAction, QKeySequence, QPainter
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QFileDialog, QPushButton, QWidget

from console.models.firm import firm_name
from console.views.desk import Desk
from console.views.documents import in_documents
from console.views.printing import PageText, render_page, save_pdf
from console.views.style import icon


@dataclass(frozen=True)
class PasscodeLetter:
    firm: str
    username: str
    full_name: str
    account_number: str
    passcode: str  # grouped for reading, e.g. "ABCD EFGH"
    printed_at: dt.datetime
    full_access_until: dt.datetime
    expires_at: dt.datetime
    issued_by: str


def letter_for(services, issued, details) -> PasscodeLetter:
    """The letter for a passcode just issued (IssuedPasscode); the user's name and account from its `details`, read
    from the directory."""
    return PasscodeLetter(firm_name(), issued.username, details.full_name, details.account_number, issued.grouped,
                          services.clock.now(), issued.full_access_until, issued.expires_at,
                          services.actor.full_name)


def _utc(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%d %b %Y %H:%M UTC")


def paint_letter(painter: QPainter, page: QRectF, letter: PasscodeLetter) -> None:
    text = PageText(painter, page)
    text.line(letter.firm, 34, bold=True)
    text.line("Temporary passcode", 26, bold=True)
    text.line(f"Printed {_utc(letter.printed_at)} by {letter.issued_by}", 15)
    text.space(20)
    text.line(f"For: {letter.full_name}", 18)
    text.line(f"Username: {letter.username}    Account: {letter.account_number}", 18)
    text.space(20)
    text.line("Your temporary passcode:", 18)
    text.line(letter.passcode, 40, bold=True, mono=True)
    text.space(10)
    text.line(f"Full access to the portal and trading until {_utc(letter.full_access_until)}.", 18)
    text.line(f"Portal only after that, until {_utc(letter.expires_at)}.", 18)
    text.line(f"Expires: {letter.expires_at.astimezone(dt.UTC):%d %b %Y}", 20, bold=True)
    text.space(15)
    text.paragraph("During the portal-only days you can use the passcode only to print or save an Online "
                   "Security Code Card. After the expiry date it stops working by itself. We never issue two "
                   "temporary passcodes in a row: before it expires, print the Online Security Code Card or "
                   "activate your security device.", 17)
    text.paragraph("Keep this letter private. Our staff will never ask you to read this passcode back to them.", 17)


def render_letter(device, letter: PasscodeLetter) -> None:
    render_page(device, lambda painter, page: paint_letter(painter, page, letter))


def save_letter_pdf(letter: PasscodeLetter, path: str) -> str:
    save_pdf(path, f"Temporary passcode for {letter.username}",
             lambda painter, page: paint_letter(painter, page, letter))
    return path


class LetterActions(QObject):
    """Print / Save as PDF for a passcode dialog; the letter is built once, when the dialog opens, from the user's
    details read off the GUI thread (the actions wait for them)."""

    def __init__(self, desk: Desk, issued, parent: QWidget) -> None:
        super().__init__(parent)
        self.parent_widget = parent
        self.letter: PasscodeLetter | None = None
        self.print_action = QAction(icon("print"), "&Print letter…", parent)
        self.print_action.setObjectName("printPasscodeLetter")
        self.print_action.setShortcut(QKeySequence.StandardKey.Print)
        self.print_action.setStatusTip("Print the temporary-passcode letter for the client's file")
        self.print_action.triggered.connect(self.print_letter)
        self.pdf_action = QAction(icon("export"), "Save letter as P&DF…", parent)
        self.pdf_action.setObjectName("savePasscodeLetterPdf")
        self.pdf_action.setShortcut(QKeySequence("Ctrl+Shift+S"))
        self.pdf_action.setStatusTip("Save the temporary-passcode letter as a PDF file")
        self.pdf_action.triggered.connect(lambda: self.save_pdf())
        parent.addAction(self.print_action)
        parent.addAction(self.pdf_action)
        for action in (self.print_action, self.pdf_action):
            action.setEnabled(False)
        services = desk.services
        directory = services.directory
        desk.runner.query(parent, lambda: directory.details(issued.user_id),
                          success=lambda details: self._details_read(letter_for(services, issued, details)))

    def _details_read(self, letter: PasscodeLetter) -> None:
        self.letter = letter
        for action in (self.print_action, self.pdf_action):
            action.setEnabled(True)

    def buttons(self) -> list[QPushButton]:
        out = []
        for action, name in ((self.print_action, "printLetter"), (self.pdf_action, "saveLetterPdf")):
            b = QPushButton(action.icon(), action.text())
            b.setObjectName(name)
            b.setToolTip(f"{action.statusTip()} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})")
            b.clicked.connect(action.trigger)
            b.setEnabled(action.isEnabled())
            action.changed.connect(lambda b=b, action=action: b.setEnabled(action.isEnabled()))
            out.append(b)
        return out

    def print_letter(self) -> None:
        if self.letter is None:
            return
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        dialog = QPrintDialog(printer, self.parent_widget)
        if dialog.exec() == QPrintDialog.DialogCode.Accepted:
            render_letter(printer, self.letter)

    def save_pdf(self, path: str | None = None) -> str | None:
        if self.letter is None:
            return None
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self.parent_widget, "Save passcode letter",
                                                  in_documents(f"temporary-passcode-{self.letter.username}.pdf"),
                                                  "PDF (*.pdf)")
        if not path:
            return None
        return save_letter_pdf(self.letter, path)
