"""Today's work: one tree of what needs someone, by kind, each row opening the place to act."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from console.models.permissions import Permission
from console.models.work_list import ROWS_PER_SOURCE, WorkItem, WorkSection
from console.views.conventions import keyboard_conventions
from console.views.desk import Desk
from console.views.kept_current import KeptCurrent

ITEM_ROLE = Qt.ItemDataRole.UserRole


OPENS = {"device": "device", "staff": "Staff window", "sharing_request": "sharing request", "user": "user"}


class WorkListWindow(QMainWindow):
    """`open_item` asks for the screen of a row (Enter or double-click): the device, or the user."""

    open_item = Signal(object)

    def __init__(self, desk: Desk, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("workListWindow")
        self.setWindowTitle("Work list — SLS Console")
        self.desk = desk
        self.services = desk.services
        self.last_message = None
        self.tree = QTreeWidget()
        self.tree.setObjectName("workListTree")
        self.tree.setAccessibleName("Work needing someone today; Enter opens the place to act")
        self.tree.setColumnCount(4)
        self.tree.setHeaderLabels(["What", "Client", "Account", "Details"])
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.itemActivated.connect(self._activated)
        self.summary = QLabel()
        self.summary.setObjectName("workListSummary")
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.summary)
        self.setCentralWidget(central)
        make = desk.actions.make
        self.open_action = make(self, "&Open", "Return", "Open the selected row where the work is done",
                                self.open_current, "openWorkItem", Permission.view)
        self.refresh_action = make(self, "&Refresh", "F5", "Read the work list again", self.refresh,
                                   "refreshWorkList", Permission.view)
        self.close_action = make(self, "&Close", QKeySequence.StandardKey.Close, "Close the work list", self.close,
                                 "closeWorkList", Permission.view)
        menu = self.menuBar().addMenu("&Work")
        for a in (self.open_action, self.refresh_action):
            menu.addAction(a)
        menu.addSeparator()
        menu.addAction(self.close_action)
        # Work done elsewhere leaves the list; a burst of changes (an import, another desk) reads it once.
        work_list, actor = self.services.work_list, self.services.actor
        self.reader = KeptCurrent(self, desk, lambda: lambda: work_list.today(actor), self._show, self._failed, 1000)
        self.refresh()
        keyboard_conventions(self)  # Esc or Ctrl+W closes
        self.resize(1100, 640)

    @property
    def loading(self) -> bool:
        return self.reader.loading

    def refresh(self) -> None:
        """Read the work list off the GUI thread, keeping the row the agent was on when it is still there."""
        self.reader.refresh()

    def _failed(self, exc: Exception) -> None:
        self.summary.setText(f"The work list could not be read: {exc}")

    def _show(self, sections: list[WorkSection]) -> None:
        current = self.tree.currentItem()
        was = current.data(0, ITEM_ROLE) if current is not None else None
        self.tree.clear()
        first = None
        for section in sections:
            more = f" (the first {ROWS_PER_SOURCE} shown)" if section.total > len(section.items) else ""
            head = QTreeWidgetItem([f"{section.title}: {section.total:,}{more}"])
            head.setFirstColumnSpanned(True)
            font = head.font(0)
            font.setBold(True)
            head.setFont(0, font)
            self.tree.addTopLevelItem(head)
            for item in section.items:
                row = QTreeWidgetItem([item.title, item.username or "", item.account_number or "", item.detail])
                row.setData(0, ITEM_ROLE, item)
                row.setToolTip(0, f"Enter or double-click opens the {OPENS.get(item.opens, 'user')}")
                head.addChild(row)
                first = first or row
            head.setExpanded(True)
        for col, width in enumerate((540, 110, 100)):  # room for a locked staff member's whole line
            self.tree.setColumnWidth(col, width)
        total = sum(x.total for x in sections)
        self.summary.setText("Nothing needs anyone today." if not total else "1 thing needs someone today"
                             if total == 1 else f"{total:,} things need someone today")
        if was is None or not self.select_item(lambda i: (i.source, i.device_id, i.user_id)
                                               == (was.source, was.device_id, was.user_id)):
            if first is not None:
                self.tree.setCurrentItem(first)

    def items(self) -> list[WorkItem]:
        out = []
        for i in range(self.tree.topLevelItemCount()):
            head = self.tree.topLevelItem(i)
            out += [head.child(j).data(0, ITEM_ROLE) for j in range(head.childCount())]
        return out

    def select_item(self, predicate) -> bool:
        for i in range(self.tree.topLevelItemCount()):
            head = self.tree.topLevelItem(i)
            for j in range(head.childCount()):
                if predicate(head.child(j).data(0, ITEM_ROLE)):
                    self.tree.setCurrentItem(head.child(j))
                    return True
        return False

    def open_current(self) -> None:
        current = self.tree.currentItem()
        if current is not None:
            self._activated(current, 0)

    def _activated(self, row: QTreeWidgetItem, _column: int) -> None:
        item = row.data(0, ITEM_ROLE)
        if isinstance(item, WorkItem):
            self.open_item.emit(item)
