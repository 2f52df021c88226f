"""Printing an Online Security Code Card for the client: on paper, or saved as a PDF."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QMarginsF, QRectF, Qt
from PySide6.QtGui import QFont, QPagedPaintDevice, QPageLayout, QPageSize, QPainter, QPdfWriter, QPen

from console.models.enrollment import CardStart
from console.models.firm import firm_name

COLUMNS = 5  # index/value pairs per row on paper: wide enough to read, 20 rows for a 100-value card


class PageText:
    """Text flowing down a printed page, sized in thousandths of the page width (any printer resolution)."""

    def __init__(self, painter: QPainter, page: QRectF) -> None:
        self.painter = painter
        self.page = page
        self.scale = page.width() / 1000.0
        self.y = page.top()

    def font(self, points: float, bold: bool = False, mono: bool = False) -> QFont:
        f = QFont("DejaVu Sans Mono" if mono else "DejaVu Sans")
        if mono:
            f.setStyleHint(QFont.StyleHint.Monospace)
        f.setPixelSize(max(1, int(points * self.scale)))
        f.setBold(bold)
        return f

    def line(self, text: str, points: float, bold: bool = False, gap: float = 1.5, mono: bool = False) -> None:
        self.painter.setFont(self.font(points, bold, mono))
        height = points * self.scale * gap
        self.painter.drawText(QRectF(self.page.left(), self.y, self.page.width(), height),
                              Qt.AlignmentFlag.AlignLeft, text)
        self.y += height

    def paragraph(self, text: str, points: float, gap: float = 0.6) -> None:
        """Wrapped text; the cursor moves below it."""
        self.painter.setFont(self.font(points))
        flags = Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap
        bound = self.painter.boundingRect(QRectF(self.page.left(), self.y, self.page.width(), 10_000), flags, text)
        self.painter.drawText(QRectF(self.page.left(), self.y, self.page.width(), bound.height()), flags, text)
        self.y += bound.height() + points * self.scale * gap

    def space(self, points: float) -> None:
        self.y += points * self.scale


def paint_card(painter: QPainter, page: QRectF, card: CardStart, printed: bool = False) -> None:
    """Draw the card on `page` (device coordinates): firm, user, serial, expiry, then the index/value grid.
    `printed`: a mailed Security Code Card, whose `expires_at` is its activation deadline (it never expires)."""
    text = PageText(painter, page)
    scale, font, line = text.scale, text.font, text.line
    line(firm_name(), 34, bold=True)
    line(card_title(printed), 26, bold=True)
    line(f"Username: {card.username}    ({card.full_name}, account {card.account_number})", 17)
    line(f"Card serial: {card.serial}", 17)
    if printed:
        line(f"Mailed {card.issued_at:%d %b %Y}.  Call us to activate it by {card.expires_at:%d %b %Y}.", 17)
    else:
        line(f"Issued {card.issued_at:%d %b %Y}.  Valid until {card.expires_at:%d %b %Y %H:%M} UTC.", 17)
    line("At login you are shown two index numbers. Type the 3-character value printed next to each, "
         "one after the other with no space.", 14, gap=2.2)
    text.space(8)
    y = text.y

    rows = (len(card.values) + COLUMNS - 1) // COLUMNS
    cell_w = page.width() / COLUMNS
    cell_h = min(42 * scale, (page.bottom() - y - 60 * scale) / max(rows, 1))
    painter.setPen(QPen(Qt.GlobalColor.gray, max(1.0, scale)))
    for r in range(rows + 1):
        painter.drawLine(int(page.left()), int(y + r * cell_h), int(page.right()), int(y + r * cell_h))
    painter.setPen(QPen(Qt.GlobalColor.black))
    # Column-major, like a printed card: 1..20 down the first column.
    for i, position in enumerate(sorted(card.values)):
        col, row = divmod(i, rows)
        cell = QRectF(page.left() + col * cell_w, y + row * cell_h, cell_w, cell_h)
        painter.setFont(font(cell_h / scale * 0.45))
        painter.drawText(cell.adjusted(10 * scale, 0, -cell_w / 2, 0),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, str(position))
        painter.setFont(font(cell_h / scale * 0.55, bold=True, mono=True))
        painter.drawText(cell.adjusted(cell_w / 2 + 10 * scale, 0, 0, 0),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, card.values[position])
    y += rows * cell_h + 20 * scale
    painter.setFont(font(13))
    painter.drawText(QRectF(page.left(), y, page.width(), 40 * scale), Qt.AlignmentFlag.AlignLeft,
                     "Keep this card private. Staff will never ask you to read out the whole card.")


def render_page(device: QPagedPaintDevice, paint: Callable[[QPainter, QRectF], None]) -> None:
    """One A4 page with 15 mm margins onto a printer or PDF writer; `paint` draws inside the margins."""
    device.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                     QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter))
    painter = QPainter(device)
    try:
        paint(painter, QRectF(painter.viewport()))
    finally:
        painter.end()


def save_pdf(path: str, title: str, paint: Callable[[QPainter, QRectF], None]) -> None:
    writer = QPdfWriter(path)
    writer.setResolution(300)
    writer.setTitle(title)
    writer.setCreator(firm_name())
    render_page(writer, paint)


def card_title(printed: bool) -> str:
    return "Security Code Card" if printed else "Online Security Code Card"


def render_card(device: QPagedPaintDevice, card: CardStart, printed: bool = False) -> None:
    """Paint the card onto a printer or PDF writer, one page."""
    render_page(device, lambda painter, page: paint_card(painter, page, card, printed))


def save_card_pdf(card: CardStart, path: str, printed: bool = False) -> None:
    save_pdf(path, f"{card_title(printed)} {card.serial}",
             lambda painter, page: paint_card(painter, page, card, printed))
