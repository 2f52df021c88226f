"""The monthly report drawn as a PDF with QPdfWriter: each panel's chart, the table behind it, and the record."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMarginsF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPageLayout, QPageSize, QPainter, QPdfWriter
from PySide6.QtWidgets import QGraphicsScene

from console.models.reporting import Report
from console.views.charts import build_chart, format_value

RESOLUTION = 150  # dots per inch: sharp charts, small files
MAX_TABLE_ROWS = 18  # rows of numbers under a chart; the CSV report carries every figure


def render_pdf(report: Report, path: Path) -> None:
    """Write `report` to `path`: a title block, then one panel per half page (light colours, for paper)."""
    writer = QPdfWriter(str(path))
    writer.setResolution(RESOLUTION)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                     QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter))
    writer.setTitle(report.title)
    writer.setCreator("SLS Console")
    painter = QPainter(writer)
    try:
        _Pages(painter, writer.width(), writer.height(), report).draw()
    finally:
        painter.end()


def _font(points: int, weight: QFont.Weight = QFont.Weight.Normal) -> QFont:
    font = QFont("DejaVu Sans", points, weight)
    # No "ffi"/"ff" ligatures: the PDF's text stays searchable and copyable as typed (pdftotext, Ctrl+F).
    font.setFeature(QFont.Tag("liga"), 0)
    return font


class _Pages:
    def __init__(self, painter: QPainter, width: int, height: int, report: Report) -> None:
        self.p, self.w, self.h, self.report = painter, width, height, report
        self.y = 0
        self.page = 1
        self.body = _font(9)
        self.small = _font(7)
        self.heading = _font(12, QFont.Weight.Bold)
        self.title = _font(16, QFont.Weight.Bold)

    def line(self, text: str, font: QFont, colour: str = "#202124", gap: float = 1.4) -> None:
        """A paragraph at the current height, wrapped to the page width."""
        self.p.setFont(font)
        self.p.setPen(QColor(colour))
        flags = int(Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap)
        bound = self.p.boundingRect(QRect(0, self.y, self.w, self.h), flags, text)
        self.p.drawText(bound, flags, text)
        self.y += int(bound.height() + self.p.fontMetrics().height() * (gap - 1))

    def footer(self) -> None:
        self.p.setFont(self.small)
        self.p.setPen(QColor("#5f6368"))
        r = self.report
        flags = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom)
        self.p.drawText(QRect(0, self.h - 40, self.w, 40), flags,
                        f"{r.title} · {r.firm} · produced by {r.produced_by} · page {self.page}")

    def new_page(self) -> None:
        self.footer()
        self.p.device().newPage()
        self.page += 1
        self.y = 0

    def draw(self) -> None:
        r = self.report
        self.line(f"{r.firm} — Secure Login System", self.body, "#5f6368")
        self.line(r.title, self.title)
        self.line(f"Period {r.first_day:%Y-%m-%d} to {r.last_day:%Y-%m-%d} (UTC). Present-day figures (states, "
                  f"devices, shipped, returns, temporary access) as of {r.produced_at:%Y-%m-%d %H:%M} UTC.", self.body)
        self.line(f"Produced by {r.produced_by} at {r.produced_at:%Y-%m-%d %H:%M:%S} UTC.", self.body)
        self.line(f"Audit chain head: {r.audit_head_hash} ({r.audit_entries:,} entries before this report; "
                  f"check with: sls-console audit verify).", self.small)
        self.y += 20
        half = (self.h - 60) // 2
        for panel in r.panels:
            if self.y + half > self.h - 60:
                self.new_page()
            self.panel(panel, half)
        self.footer()

    def panel(self, panel, height: int) -> None:
        top = self.y
        self.line(panel.title, self.heading)
        self.line(panel.note, self.body, "#3c4043")
        chart_width = int(self.w * 0.58)
        chart_height = height - (self.y - top) - 20
        chart = build_chart(panel, dark=False)
        scene = QGraphicsScene()
        scene.addItem(chart)
        # Laid out at screen size, then scaled onto the page, so labels keep their proportions.
        size = QRectF(0, 0, 640, 640 * chart_height / chart_width)
        chart.setGeometry(size)
        scene.setSceneRect(size)
        scene.render(self.p, QRectF(0, self.y, chart_width, chart_height), size)
        self.table(panel, chart_width + 30, self.y, self.w - chart_width - 30, chart_height)
        self.y = top + height

    def table(self, panel, x: int, y: int, width: int, height: int) -> None:
        rows = [(s.name, c, format_value(panel, f.value)) for s in panel.series
                for c, f in zip(panel.categories, s.figures, strict=True) if f.value]
        self.p.setFont(self.small)
        line = int(self.p.fontMetrics().height() * 1.3)
        self.p.setPen(QColor("#202124"))
        shown = rows[:MAX_TABLE_ROWS]
        cells = [("Series", "Category", "Value"), *shown]
        for i, (name, category, value) in enumerate(cells):
            top = y + i * line
            if top + line > y + height:
                break
            flags = int(Qt.AlignmentFlag.AlignVCenter)
            self.p.drawText(QRect(x, top, int(width * 0.37), line), flags | int(Qt.AlignmentFlag.AlignLeft),
                            name)
            self.p.drawText(QRect(x + int(width * 0.38), top, int(width * 0.37), line),
                            flags | int(Qt.AlignmentFlag.AlignLeft), category)
            self.p.drawText(QRect(x + int(width * 0.75), top, int(width * 0.25), line),
                            flags | int(Qt.AlignmentFlag.AlignRight), value)
        if not rows:
            self.p.drawText(QRect(x, y + line, width, line), int(Qt.AlignmentFlag.AlignLeft), "Nothing in this period.")
        elif len(rows) > len(shown):
            self.p.drawText(QRect(x, y + (len(shown) + 1) * line, width, line), int(Qt.AlignmentFlag.AlignLeft),
                            f"… and {len(rows) - len(shown)} more (every figure is in the CSV report)")
