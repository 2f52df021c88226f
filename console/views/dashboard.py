"""The supervisors' dashboard: every panel the staff member's role may see, for a chosen period."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from console.models.insight import Panel
from console.models.permissions import Permission
from console.views.charts import ChartCard
from console.views.conventions import keyboard_conventions
from console.views.desk import Desk
from console.views.kept_current import KeptCurrent

PERIODS = ((1, "Last 7 days"), (4, "Last 4 weeks"), (12, "Last 12 weeks"), (26, "Last 26 weeks"), (52, "Last 52 weeks"))
COLUMNS = 2


class DashboardWindow(QMainWindow):
    """Charts over summary tables; a click on a bar, slice or table row asks for the list behind it (`drill`)."""

    drill = Signal(object)

    def __init__(self, desk: Desk, parent: QWidget | None = None, only: tuple[str, ...] = (), title: str = "Dashboard",
                 name: str = "dashboardWindow") -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setWindowTitle(f"{title} — SLS Console")
        self.desk = desk
        self.services = desk.services
        self.only = only
        self.last_message = None
        self.cards: dict[str, ChartCard] = {}
        self.period_combo = QComboBox()
        self.period_combo.setObjectName("dashboardPeriod")
        self.period_combo.setAccessibleName("Period of the history charts")
        for weeks, label in PERIODS:
            self.period_combo.addItem(label, weeks)
        self.period_combo.setCurrentIndex(2)
        self.period_combo.currentIndexChanged.connect(lambda _: self.refresh())
        period_label = QLabel("&Period:")
        period_label.setBuddy(self.period_combo)
        self.as_of = QLabel()
        self.as_of.setObjectName("dashboardAsOf")
        bar = QHBoxLayout()
        bar.addWidget(period_label)
        bar.addWidget(self.period_combo)
        bar.addStretch(1)
        bar.addWidget(self.as_of)
        self.grid = QGridLayout()
        body = QWidget()
        body.setLayout(self.grid)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addLayout(bar)
        layout.addWidget(scroll, 1)
        self.setCentralWidget(central)
        make = desk.actions.make
        self.refresh_action = make(self, "&Refresh", "F5", "Read the figures again", self.refresh,
                                   "refreshDashboard", Permission.view)
        self.close_action = make(self, "&Close", QKeySequence.StandardKey.Close, "Close the window", self.close,
                                 "closeDashboard", Permission.view)
        menu = self.menuBar().addMenu("&Dashboard")
        menu.addAction(self.refresh_action)
        menu.addSeparator()
        menu.addAction(self.close_action)
        # Any committed change may move a figure; changes are gathered over a few seconds into one read.
        self.reader = KeptCurrent(self, desk, self._work, self._show, self._failed, 3000)
        self.refresh()
        keyboard_conventions(self)  # Esc or Ctrl+W closes
        self.resize(1280, 900)

    def period(self) -> tuple[dt.date, dt.date]:
        today = self.services.clock.now().date()
        return today - dt.timedelta(weeks=self.period_combo.currentData()) + dt.timedelta(days=1), today

    @property
    def loading(self) -> bool:
        return self.reader.loading

    def refresh(self) -> None:
        """Read the panels off the GUI thread; they replace the charts when they arrive."""
        self.as_of.setText("Reading the figures…")
        self.reader.refresh()

    def _work(self) -> Callable[[], tuple[list[Panel], dt.date, dt.date]]:
        """The read for the period chosen now (asked on the GUI thread; the read itself runs off it)."""
        since, until = self.period()
        insight, actor, only = self.services.insight, self.services.actor, self.only
        return lambda: (insight.panels(actor, since, until, only), since, until)

    def _failed(self, exc: Exception) -> None:
        self.as_of.setText(f"The figures could not be read: {exc}")

    def _show(self, result: tuple[list[Panel], dt.date, dt.date]) -> None:
        panels, since, until = result
        for card in self.cards.values():
            self.grid.removeWidget(card)
            card.deleteLater()
        self.cards = {}
        columns = 1 if self.only else COLUMNS
        for i, panel in enumerate(panels):
            card = ChartCard(panel)
            card.drill.connect(self.drill.emit)
            self.grid.addWidget(card, i // columns, i % columns)
            self.cards[panel.key] = card
        now = self.services.clock.now()
        self.as_of.setText(f"As of {now:%Y-%m-%d %H:%M} UTC · history {since:%d %b} – {until:%d %b %Y}")
