"""One dashboard panel drawn with QtCharts: the chart, its numbers one click away, and a click that drills down."""

from __future__ import annotations

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QHorizontalStackedBarSeries,
    QPieSeries,
    QPieSlice,
    QStackedBarSeries,
    QValueAxis,
)
from PySide6.QtCore import QMargins, Qt, Signal
from PySide6.QtGui import QColor, QCursor, QFont, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from console.models.insight import Drill, Figure, Panel
from console.views.style import is_dark, theme_signals

# Colours that stay apart on a light and on a dark background (Okabe-Ito, for colour-blind readers too).
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999")
PIE_PANELS = ("states",)
STACKED_PANELS = ("enrollment", "devices", "signins", "activity", "activity_by_staff")
# Bars laid sideways where the category names are long (device states): each name gets a line of its own.
HORIZONTAL_PANELS = ("devices",)


def format_value(panel: Panel, value: int) -> str:
    return f"{value / 100:,.2f} USD" if panel.unit == "cents" else f"{value:,}"


def build_chart(panel: Panel, dark: bool | None = None) -> QChart:
    """The panel as a QChart themed for the palette (or for paper: dark=False); pie for shares, bars otherwise."""
    dark = is_dark() if dark is None else dark
    chart = QChart()
    chart.setTheme(QChart.ChartTheme.ChartThemeDark if dark else QChart.ChartTheme.ChartThemeLight)
    chart.setBackgroundVisible(False)
    chart.setMargins(QMargins(4, 4, 4, 4))
    chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
    text = QApplication.palette().color(QPalette.ColorRole.WindowText) if dark is is_dark() else \
        QColor("#e8eaed" if dark else "#202124")
    chart.legend().setLabelColor(text)
    chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
    if panel.key in PIE_PANELS:
        pie = QPieSeries()
        pie.setPieSize(0.55)  # room for the slice labels inside the card
        total = sum(f.value for f in panel.series[0].figures) or 1
        for i, f in enumerate(panel.series[0].figures):
            piece = pie.append(f"{f.label} {f.value / total:.0%}", f.value)
            piece.setColor(QColor(COLOURS[i % len(COLOURS)]))
            piece.setLabelColor(text)
            piece.setLabelVisible(f.value > 0)
        chart.addSeries(pie)
        return chart
    if panel.key in HORIZONTAL_PANELS:
        series = QHorizontalStackedBarSeries()
    else:
        series = QStackedBarSeries() if panel.key in STACKED_PANELS else QBarSeries()
    top = 0
    for i, s in enumerate(panel.series):
        bar_set = QBarSet(s.name)
        bar_set.append([float(f.value / 100 if panel.unit == "cents" else f.value) for f in s.figures])
        bar_set.setColor(QColor(COLOURS[i % len(COLOURS)]))
        bar_set.setBorderColor(QColor(COLOURS[i % len(COLOURS)]))
        series.append(bar_set)
    for c in range(len(panel.categories)):
        column = [s.figures[c].value for s in panel.series]
        top = max(top, sum(column) if panel.key in STACKED_PANELS else max(column, default=0))
    chart.addSeries(series)
    x = QBarCategoryAxis()
    x.append(list(panel.categories))
    x.setLabelsColor(text)
    x.setTruncateLabels(False)
    if len(panel.categories) > 8:
        x.setLabelsAngle(-90)
    elif len(panel.categories) > 5:  # long state names side by side would hide each other
        x.setLabelsAngle(-30)
    y = QValueAxis()
    top = top / 100 if panel.unit == "cents" else top
    y.setRange(0, max(top, 1))
    y.applyNiceNumbers()
    if top < 5:  # whole numbers only: 0..4 with a tick per unit
        y.setRange(0, max(int(top) + 1, 1))
        y.setTickCount(max(int(top) + 2, 2))
    y.setLabelFormat("%.0f")
    y.setLabelsColor(text)
    y.setGridLineColor(QColor(text.red(), text.green(), text.blue(), 40))
    sideways = panel.key in HORIZONTAL_PANELS
    if sideways:
        x.setLabelsAngle(0)
    chart.addAxis(x, Qt.AlignmentFlag.AlignLeft if sideways else Qt.AlignmentFlag.AlignBottom)
    chart.addAxis(y, Qt.AlignmentFlag.AlignBottom if sideways else Qt.AlignmentFlag.AlignLeft)
    series.attachAxis(x)
    series.attachAxis(y)
    chart.legend().setVisible(len(panel.series) > 1)
    return chart


class ChartCard(QFrame):
    """A panel's chart and table; `drill` carries the filter of the figure clicked (chart or table row)."""

    drill = Signal(object)

    def __init__(self, panel: Panel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dark = is_dark()
        self.setObjectName(f"panel_{panel.key}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.panel = panel
        title = QLabel(panel.title)
        font = QFont(title.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        title.setFont(font)
        self.numbers_button = QToolButton()
        self.numbers_button.setObjectName(f"numbers_{panel.key}")
        self.numbers_button.setText("Numbers")
        self.numbers_button.setCheckable(True)
        self.numbers_button.setToolTip("Show the numbers behind the chart as a table (click again for the chart)")
        self.numbers_button.setAccessibleName(f"Numbers of {panel.title}")
        self.numbers_button.toggled.connect(self.show_numbers)
        head = QHBoxLayout()
        head.addWidget(title, 1)
        head.addWidget(self.numbers_button)
        self.view = QChartView(build_chart(panel, self.dark))
        self.view.setObjectName(f"chart_{panel.key}")
        self.view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.view.setMinimumHeight(self.fontMetrics().height() * 12)
        self.view.setAccessibleName(f"{panel.title} chart; the Numbers button shows its table")
        self.table = self._table()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.view)
        self.stack.addWidget(self.table)
        self.note = QLabel(panel.note)
        self.note.setObjectName(f"note_{panel.key}")
        self.note.setWordWrap(True)
        # Every card the same height, in lines of text (so it grows with the font and the display scaling).
        self.setFixedHeight(self.fontMetrics().height() * 22)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.note)
        self._connect()
        theme_signals.changed.connect(self.follow_theme)

    def follow_theme(self, dark: bool) -> None:
        """The theme changed (Settings or the desktop): the chart is drawn again in the new colours."""
        if dark == self.dark:
            return
        self.dark = dark
        old = self.view.chart()
        self.view.setChart(build_chart(self.panel, dark))
        old.deleteLater()
        self._connect()

    # --- numbers -----------------------------------------------------------------------------------
    def _cells(self) -> list[tuple[str, str, Figure]]:
        """(series, category, figure) for every non-empty figure, in table order."""
        return [(s.name, c, f) for s in self.panel.series for c, f in zip(self.panel.categories, s.figures,
                                                                           strict=True) if f.value]

    def _table(self) -> QTableWidget:
        cells = self._cells()
        t = QTableWidget(len(cells), 3)
        t.setObjectName(f"table_{self.panel.key}")
        t.setAccessibleName(f"Numbers of {self.panel.title}; Enter opens the rows behind a figure")
        t.setHorizontalHeaderLabels(["Series", "Category", "Value"])
        t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        t.verticalHeader().setVisible(False)
        total = sum(f.value for _, _, f in cells) or 1
        for row, (name, category, figure) in enumerate(cells):
            text = format_value(self.panel, figure.value)
            if self.panel.key in PIE_PANELS:  # a share is part of the figure
                text += f" ({figure.value / total:.1%})"
            value = QTableWidgetItem(text)
            value.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            for col, item in enumerate((QTableWidgetItem(name), QTableWidgetItem(category), value)):
                t.setItem(row, col, item)
        t.resizeColumnsToContents()
        t.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        t.activated.connect(lambda index: self.open_figure(cells[index.row()][2]))
        return t

    def show_numbers(self, on: bool) -> None:
        self.stack.setCurrentIndex(1 if on else 0)
        if on:
            self.table.setFocus()

    def table_rows(self) -> list[tuple[str, str, str]]:
        t = self.table
        return [tuple(t.item(r, c).text() for c in range(3)) for r in range(t.rowCount())]  # type: ignore[misc]

    # --- hover and click ---------------------------------------------------------------------------
    def figure_at(self, series_index: int, category_index: int) -> Figure:
        return self.panel.series[series_index].figures[category_index]

    def open_figure(self, figure: Figure) -> None:
        if figure.drill is not None:
            self.drill.emit(figure.drill)

    def _connect(self) -> None:
        chart_series = self.view.chart().series()[0]
        if isinstance(chart_series, QPieSeries):
            for i, piece in enumerate(chart_series.slices()):
                figure = self.figure_at(0, i)
                piece.hovered.connect(lambda on, p=piece, f=figure: self._hover_slice(on, p, f))
                piece.clicked.connect(lambda f=figure: self.open_figure(f))
            return
        for i, bar_set in enumerate(chart_series.barSets()):
            bar_set.hovered.connect(lambda on, index, s=i: self._hover_bar(on, s, index))
            bar_set.clicked.connect(lambda index, s=i: self.open_figure(self.figure_at(s, index)))

    def _hover_slice(self, on: bool, piece: QPieSlice, figure: Figure) -> None:
        piece.setExploded(on)
        if on:
            QToolTip.showText(QCursor.pos(), f"{figure.label}: {format_value(self.panel, figure.value)} "
                                             f"({piece.percentage():.1%}) — click to list them")

    def _hover_bar(self, on: bool, series_index: int, index: int) -> None:
        if on:
            s = self.panel.series[series_index]
            QToolTip.showText(QCursor.pos(), f"{s.name}, {self.panel.categories[index]}: "
                                             f"{format_value(self.panel, s.figures[index].value)} — click to list them")

    def drill_for(self, series: str, category: str) -> Drill | None:
        for s in self.panel.series:
            if s.name == series:
                return s.figures[self.panel.categories.index(category)].drill
        return None
