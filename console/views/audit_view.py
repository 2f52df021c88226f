"""The audit trail screen: filters, a list read in keyset pages, entry details, CSV export, chain verification."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QDate, QModelIndex, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from console.models.audit_log import AuditFilter, AuditLog, AuditRow
from console.models.context import Actor
from console.models.errors import ConsoleError
from console.models.permissions import Permission, allowed
from console.views.change_bus import ChangeKind, Changes
from console.views.conventions import keyboard_conventions
from console.views.desk import Desk
from console.views.documents import in_documents
from console.views.messages import message_box, show_error
from console.views.operations import OperationRunner, Progress, Report
from console.views.permitted import PermittedAction, hide_empty_menus
from console.views.tables import list_table, set_column_widths

PAGE = 200
COLUMNS = (("id", "#"), ("at", "When (UTC)"), ("actor", "Staff"), ("action", "Action"), ("summary", "What"),
           ("username", "Client user"), ("account_number", "Account"), ("device", "Device"))
ACTION_GROUPS = ("user.", "device.", "charge.", "staff.", "key.")


def when(value: dt.datetime) -> str:
    """Audit times in UTC to the second: the same on every desk, and what the period filter uses."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


class AuditModel(QAbstractTableModel):
    """Entries newest first, fetched a page at a time as the view scrolls (never the whole trail). Every page is
    read off the GUI thread through the desk's runner; an answer for a filter no longer shown is dropped."""

    def __init__(self, log: AuditLog, actor: Actor, runner: OperationRunner, owner: QWidget) -> None:
        super().__init__(owner)
        self.log, self.actor, self._runner, self._owner = log, actor, runner, owner
        self.filter = AuditFilter()
        self.rows: list[AuditRow] = []
        self._more = True
        self._generation = 0  # of the newest filter asked for: older answers are dropped
        self.fetching = False

    def set_filter(self, f: AuditFilter, success: Callable[[], None], failure: Callable[[Exception], None]) -> None:
        """Read the first page of `f`; the list changes only when it arrives (a refusal leaves it as it was)."""
        self._generation += 1
        generation, log, actor = self._generation, self.log, self.actor

        def arrived(first: list[AuditRow]) -> None:
            if generation != self._generation:
                return
            self.beginResetModel()
            self.filter, self.rows, self._more, self.fetching = f, first, len(first) == PAGE, False
            self.endResetModel()
            success()

        def refused(exc: Exception) -> None:
            if generation == self._generation:
                failure(exc)

        self._runner.query(self._owner, lambda: log.window(actor, f, None, PAGE), success=arrived, failure=refused)

    def fetchMore(self, parent=QModelIndex()) -> None:
        if parent.isValid() or not self._more or not self.rows or self.fetching:
            return
        self._fetch(lambda log, actor, f, last: log.window(actor, f, last, PAGE))

    def fetch_down_to(self, entry_id: int, then: Callable[[], None]) -> None:
        """Read the pages down to `entry_id` (no further), then `then()`: to show an entry far down the list."""
        def pages(log: AuditLog, actor: Actor, f: AuditFilter, last: int) -> list[AuditRow]:
            out: list[AuditRow] = []
            while True:
                page = log.window(actor, f, last, PAGE)
                out += page
                if len(page) < PAGE or page[-1].id <= entry_id:
                    return out
                last = page[-1].id

        if self.rows and self._more and self.rows[-1].id > entry_id and not self.fetching:
            self._fetch(pages, then)
        else:
            then()

    def _fetch(self, read: Callable[[AuditLog, Actor, AuditFilter, int], list[AuditRow]],
               then: Callable[[], None] | None = None) -> None:
        self.fetching = True
        generation, log, actor, f, last = self._generation, self.log, self.actor, self.filter, self.rows[-1].id

        def arrived(more: list[AuditRow]) -> None:
            if generation != self._generation:
                return
            self.fetching = False
            self._more = len(more) >= PAGE and len(more) % PAGE == 0
            if more:
                self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows) + len(more) - 1)
                self.rows.extend(more)
                self.endInsertRows()
            if then is not None:
                then()

        def refused(exc: Exception) -> None:
            if generation == self._generation:
                self.fetching = False
                show_error(self._owner, exc)

        self._runner.query(self._owner, lambda: read(log, actor, f, last), success=arrived, failure=refused)

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def canFetchMore(self, parent=QModelIndex()) -> bool:
        return not parent.isValid() and self._more

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or role != Qt.ItemDataRole.DisplayRole:
            return None
        row = self.rows[index.row()]
        key = COLUMNS[index.column()][0]
        value = getattr(row, key)
        if key == "at":
            return when(value)
        return "" if value is None else value

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][1]
        return None

    def row_of_entry(self, entry_id: int) -> int | None:
        for r, row in enumerate(self.rows):
            if row.id == entry_id:
                return r
        return None


class AuditView(QMainWindow):
    """Given the audit log service and the signed-in actor; export and verify follow the actor's role."""

    def __init__(self, desk: Desk, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("auditView")
        self.setWindowTitle("Audit trail — SLS Console")
        self.desk = desk
        log, actor = self.log, self.actor = desk.services.audit_log, desk.actor
        self.last_message = None
        self.model = AuditModel(log, actor, desk.runner, self)
        self._build_filters()
        self._build_table()
        self.details = QPlainTextEdit()
        self.details.setObjectName("auditDetails")
        self.details.setAccessibleName("Selected audit entry")
        self.details.setReadOnly(True)
        self.verify_result = QLabel("Chain not verified in this session.")
        self.verify_result.setObjectName("auditVerifyResult")
        self.verify_result.setWordWrap(True)
        self.verify_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addLayout(self.filter_bar)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.verify_result)
        self.setCentralWidget(central)
        self._build_actions()
        self._fill_filter_choices()
        self.apply_filters()
        desk.bus.changed.connect(self.on_changes)
        self.statusBar()  # where the window says what was done
        keyboard_conventions(self)
        self.resize(1100, 700)

    def on_changes(self, changes: Changes) -> None:
        """Every write appends to the trail: new entries appear at the top, the selection stays."""
        if changes.touches(ChangeKind.audit):
            self.refresh()

    # --- construction ----------------------------------------------------------------------------
    def _build_filters(self) -> None:
        self.staff_filter = QComboBox()
        self.staff_filter.setObjectName("auditStaffFilter")
        self.staff_filter.setAccessibleName("Filter by staff member")
        self.staff_filter.setEditable(True)
        self.action_filter = QComboBox()
        self.action_filter.setObjectName("auditActionFilter")
        self.action_filter.setAccessibleName("Filter by action")
        self.action_filter.setEditable(True)
        self.user_filter = QLineEdit()
        self.user_filter.setObjectName("auditUserFilter")
        self.user_filter.setAccessibleName("Filter by client username")
        self.user_filter.setPlaceholderText("client username")
        self.user_filter.setClearButtonEnabled(True)
        self.period_check = QCheckBox("&Between")
        self.period_check.setObjectName("auditPeriodCheck")
        self.period_check.setAccessibleName("Filter by period")
        today = QDate.currentDate()
        self.from_date = QDateEdit(today.addDays(-7))
        self.from_date.setObjectName("auditFromDate")
        self.from_date.setAccessibleName("From date (UTC)")
        self.to_date = QDateEdit(today)
        self.to_date.setObjectName("auditToDate")
        self.to_date.setAccessibleName("To date (UTC), inclusive")
        for d in (self.from_date, self.to_date):
            d.setCalendarPopup(True)
            d.setDisplayFormat("yyyy-MM-dd")
            d.setEnabled(False)
        self.period_check.toggled.connect(self.from_date.setEnabled)
        self.period_check.toggled.connect(self.to_date.setEnabled)

        bar = QHBoxLayout()
        for text, widget in (("S&taff:", self.staff_filter), ("Act&ion:", self.action_filter),
                             ("&Client:", self.user_filter)):
            label = QLabel(text)
            label.setBuddy(widget)
            bar.addWidget(label)
            bar.addWidget(widget, 1)
        bar.addWidget(self.period_check)
        bar.addWidget(self.from_date)
        bar.addWidget(QLabel("and"))
        bar.addWidget(self.to_date)
        self.staff_filter.lineEdit().setPlaceholderText("any staff member")
        self.action_filter.lineEdit().setPlaceholderText("any action (e.g. user. for all user actions)")
        self.filter_bar = bar
        self.user_filter.returnPressed.connect(self.apply_filters)
        self.staff_filter.lineEdit().returnPressed.connect(self.apply_filters)
        self.action_filter.lineEdit().returnPressed.connect(self.apply_filters)

    def _fill_filter_choices(self) -> None:
        """The staff and action choices, read off the GUI thread; what the agent typed in either box stays."""
        log, actor = self.log, self.actor

        def arrived(found: tuple[list[str], list[str]]) -> None:
            names, actions = found
            for combo, items in ((self.staff_filter, names), (self.action_filter, list(ACTION_GROUPS) + actions)):
                typed = combo.currentText()
                combo.blockSignals(True)
                combo.clear()
                combo.addItem("")
                combo.addItems(items)
                combo.setEditText(typed)
                combo.blockSignals(False)

        self.desk.runner.query(self, lambda: (log.staff_names(actor), log.actions(actor)), success=arrived,
                               failure=self._refused)

    def _build_table(self) -> None:
        t = list_table(self.model, "auditTable", "Audit entries, newest first")
        set_column_widths(t, (60, 140, 90, 150, 360, 90, 90, 60))
        t.selectionModel().currentRowChanged.connect(self._show_entry)
        self.table = t

    def _action(self, text: str, shortcut, tip: str, slot, name: str,
                permission: Permission = Permission.view) -> PermittedAction:
        return self.desk.actions.make(self, text, shortcut, tip, slot, name, permission)

    def _build_actions(self) -> None:
        self.apply_action = self._action("&Apply filters", "Ctrl+Return", "Show the entries matching the filters",
                                         self.apply_filters, "applyAuditFilters")
        self.clear_action = self._action("C&lear filters", "Ctrl+Shift+L", "Show every entry",
                                         self.clear_filters, "clearAuditFilters")
        self.refresh_action = self._action("&Refresh", QKeySequence.StandardKey.Refresh,
                                           "Reload the entries (new ones appear at the top)", self.refresh,
                                           "refreshAudit")
        self.export_action = self._action(
            "&Export CSV…", "Ctrl+Shift+E", "Save the entries matching the filters, every field and hash, as CSV",
            self.export_csv, "exportAuditCsv", Permission.export_data)
        self.verify_action = self._action(
            "&Verify chain", "Ctrl+Shift+V", "Check every entry's hash and link; names the first entry changed, "
            "removed or inserted", self.verify_chain, "verifyAudit", Permission.verify_audit)
        self.close_action = self._action("&Close", "Ctrl+W", "Close the audit trail (Esc)", self.close,
                                         "closeAudit")
        toolbar = QToolBar("Audit")
        toolbar.setObjectName("auditToolbar")
        for a in (self.apply_action, self.clear_action, self.refresh_action, self.export_action,
                  self.verify_action):
            toolbar.addAction(a)
        self.addToolBar(toolbar)
        menu = self.menuBar().addMenu("&Audit")
        for a in (self.apply_action, self.clear_action, self.refresh_action, self.export_action,
                  self.verify_action):
            menu.addAction(a)
        menu.addSeparator()
        menu.addAction(self.close_action)
        hide_empty_menus(self.menuBar())

    # --- behaviour -------------------------------------------------------------------------------
    def current_filter(self) -> AuditFilter:
        since = until = None
        if self.period_check.isChecked():
            d0, d1 = self.from_date.date(), self.to_date.date()
            since = dt.datetime(d0.year(), d0.month(), d0.day(), tzinfo=dt.UTC)
            until = dt.datetime(d1.year(), d1.month(), d1.day(), tzinfo=dt.UTC) + dt.timedelta(days=1)
        return AuditFilter(staff=self.staff_filter.currentText(), action=self.action_filter.currentText(),
                           username=self.user_filter.text(), since=since, until=until)

    def apply_filters(self) -> None:
        self._apply()

    def _apply(self, then: Callable[[], None] | None = None) -> None:
        """Show the entries matching the filters, read off the GUI thread; the entry selected stays selected when it
        still matches (else the newest is), and `then` runs once the list shows them."""
        current = self.table.currentIndex()
        keep = self.model.rows[current.row()].id if current.isValid() and current.row() < len(self.model.rows) else None
        scroll = self.table.verticalScrollBar().value()
        self.statusBar().showMessage("Reading the audit trail…")

        def arrived() -> None:
            self.statusBar().showMessage(f"{self.model.rowCount():,} entries shown"
                                         f"{' (more load as you scroll)' if self.model.canFetchMore() else ''}")
            row = self.model.row_of_entry(keep) if keep is not None else None
            if row is not None:
                self.table.setCurrentIndex(self.model.index(row, 0))
                self.table.verticalScrollBar().setValue(scroll)
            elif self.model.rowCount():
                self.table.setCurrentIndex(self.model.index(0, 0))
            else:
                self.details.setPlainText("")
            if then is not None:
                then()

        def refused(exc: Exception) -> None:
            self.statusBar().clearMessage()
            self._refused(exc)

        self.model.set_filter(self.current_filter(), arrived, refused)

    def _refused(self, exc: Exception) -> None:
        self.last_message = show_error(self, exc)

    def show_filter(self, f: AuditFilter) -> None:
        """Show the entries of `f` (the filter bar follows; the period is whole UTC days)."""
        self.staff_filter.setEditText(f.staff)
        self.action_filter.setEditText(f.action)
        self.user_filter.setText(f.username)
        self.period_check.setChecked(f.since is not None)
        if f.since is not None:
            last = (f.until or f.since + dt.timedelta(days=1)) - dt.timedelta(days=1)
            self.from_date.setDate(QDate(f.since.year, f.since.month, f.since.day))
            self.to_date.setDate(QDate(last.year, last.month, last.day))
        self.apply_filters()

    def clear_filters(self) -> None:
        self._clear()

    def _clear(self, then: Callable[[], None] | None = None) -> None:
        self.staff_filter.setCurrentIndex(0)
        self.action_filter.setCurrentIndex(0)
        self.user_filter.clear()
        self.period_check.setChecked(False)
        self._apply(then)

    def refresh(self) -> None:
        self._fill_filter_choices()
        self.apply_filters()

    def _show_entry(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            self.details.setPlainText("")
            return
        e = self.model.rows[current.row()]
        try:
            details = json.dumps(json.loads(e.details), indent=2, ensure_ascii=False)
        except ValueError:
            details = e.details
        self.details.setPlainText(
            f"Entry {e.id} at {when(e.at)} by {e.actor}: {e.action}\n{e.summary}\n\n"
            f"Client user: {e.username or '-'}   Account: {e.account_number or '-'}   Device: {e.device or '-'}\n"
            f"Details: {details}\n\nPrevious hash: {e.prev_hash}\nEntry hash:    {e.entry_hash}")

    def ask_export_path(self) -> str:
        path, _ = QFileDialog.getSaveFileName(self, "Export audit entries", in_documents("audit-trail.csv"),
                                              "CSV files (*.csv)")
        return path

    def export_csv(self) -> None:
        path = self.ask_export_path()
        if path:
            self.export_to(path)

    def export_to(self, path: str) -> None:
        """Write the entries of the filter shown to `path`, off the GUI thread with progress; said in the status bar
        (or a refusal in one box)."""
        log, actor, f = self.log, self.actor, self.model.filter

        def work(_report: Report) -> int:
            try:
                with open(path, "w", newline="", encoding="utf-8") as out:
                    return log.export_csv(actor, f, out)
            except OSError as exc:
                raise ConsoleError(f"Could not write {path}: {exc.strerror or exc}.") from exc

        self.desk.runner.query(
            self, work, success=lambda n: self.statusBar().showMessage(f"Exported {n:,} entries to {path}"),
            failure=self._refused, progress=Progress("Exporting audit entries", "Export", cancellable=False))

    def verify_chain(self) -> None:
        """Check every entry's hash and link off the GUI thread (the window shows progress and keeps painting)."""
        log, actor = self.log, self.actor
        self.desk.runner.query(self, lambda _report: log.verify(actor), success=self._verified, failure=self._refused,
                               progress=Progress("Verifying the audit trail", "Verify", cancellable=False))

    def _verified(self, result: Any) -> None:  # AuditLog.verify's answer (its type lives below the views' layer)
        if result.ok:
            text = f"Audit trail intact: {result.count:,} entries; head hash {result.head_hash}."
            self.verify_result.setStyleSheet("color: #1b5e20;")
            self.verify_result.setText(text)
            self.last_message = message_box(self, "Audit trail intact", text, QMessageBox.Icon.Information,
                                            "auditVerifyBox")
            return
        text = (f"Audit trail BROKEN: {result.problem}. {result.count:,} entries verified before it. "
                f"Report this to your security officer.")
        self.verify_result.setStyleSheet("color: #b00020; font-weight: bold;")
        self.verify_result.setText(text)
        self.last_message = message_box(self, "Audit trail broken", text, name="auditVerifyBox")
        bad = result.bad_entry_id
        if bad is not None:
            self._clear(lambda: self.show_entry(bad))

    def show_entry(self, entry_id: int) -> None:
        """Scroll to an entry and select it, reading pages down to its id (no further) off the GUI thread when it is
        not among the rows read so far; nothing is selected when the list does not hold it."""
        def select() -> None:
            row = self.model.row_of_entry(entry_id)
            if row is not None:
                self.table.setCurrentIndex(self.model.index(row, 0))
                self.table.scrollTo(self.model.index(row, 0))

        if self.model.row_of_entry(entry_id) is not None:
            select()
        else:
            self.model.fetch_down_to(entry_id, select)


def can_open_audit(actor: Actor) -> bool:
    return allowed(actor, Permission.view)
