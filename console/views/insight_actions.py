"""The main window's insight actions (dashboard, work list, staff activity, monthly report) and the drill-downs
that open the list behind a figure or the place to act on a work-list row."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6.QtCore import QDate, QObject, QStandardPaths
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMainWindow, QMessageBox

from console.models.errors import ConsoleError
from console.models.insight import Drill, visible_panels
from console.models.permissions import Permission, allowed
from console.models.work_list import WorkItem
from console.views.actions import make_action
from console.views.dashboard import DashboardWindow
from console.views.messages import message_box, show_error
from console.views.report_document import render_pdf
from console.views.work_list_view import WorkListWindow


class InsightActions(QObject):
    def __init__(self, window: QMainWindow, services) -> None:
        super().__init__(window)
        self.window = window
        self.services = services
        self.actor = services.actor
        self.dashboard: DashboardWindow | None = None
        self.activity: DashboardWindow | None = None
        self.work_list: WorkListWindow | None = None
        self.last_message: QMessageBox | None = None
        self.dashboard_action = make_action(window, "&Dashboard…", "Ctrl+Alt+B", "Charts of SLS states, opt-ins, "
                                            "devices, returns, charges and sign-in failures; click a figure to list "
                                            "its rows", self.open_dashboard, "openDashboard",
                                            permission=Permission.view)
        self.work_action = make_action(window, "&Work list…", "Ctrl+Alt+W", "What needs someone today: cards near "
                                       "their activation date, overdue returns, users with no device, locked devices",
                                       self.open_work_list, "openWorkList", permission=Permission.view)
        self.activity_action = make_action(window, "Staff &activity…", "Ctrl+Alt+Y", "Audited actions per staff "
                                           "member and per day; click a bar to read the entries",
                                           self.open_activity, "openStaffActivity", permission=Permission.verify_audit)
        self.report_action = make_action(window, "Monthly &report…", "Ctrl+Alt+R", "Write a month's figures, their "
                                         "tables and the audit chain's head to a PDF or CSV (recorded in the audit "
                                         "trail)", self.ask_report, "monthlyReport", permission=Permission.export_data)
        self.activity_action.setEnabled("activity" in visible_panels(self.actor))
        self.report_action.setEnabled(allowed(self.actor, Permission.export_data))
        tools = getattr(window, "tools_menu", None) or window.menuBar().addMenu("&Tools")
        first = tools.actions()[0] if tools.actions() else None
        for action in (self.dashboard_action, self.work_action, self.activity_action):
            tools.insertAction(first, action)
        tools.insertSeparator(first)
        file_menu = getattr(window, "file_menu", None) or window.menuBar().addMenu("&File")
        quit_action = next((a for a in file_menu.actions() if a.objectName() == "quit"), None)
        file_menu.insertAction(quit_action, self.report_action)
        file_menu.insertSeparator(quit_action)

    # --- windows -----------------------------------------------------------------------------------
    def open_dashboard(self) -> None:
        if self.dashboard is None:
            self.dashboard = DashboardWindow(self.services, self.window)
            self.dashboard.drill.connect(self.drill)
        else:
            self.dashboard.refresh()
        self.dashboard.show()
        self.dashboard.raise_()

    def open_activity(self) -> None:
        if self.activity is None:
            self.activity = DashboardWindow(self.services, self.window, only=("activity_by_staff", "activity"), title="Staff activity",
                                            name="staffActivityWindow")
            self.activity.drill.connect(self.drill)
        else:
            self.activity.refresh()
        self.activity.show()
        self.activity.raise_()

    def open_work_list(self) -> None:
        if self.work_list is None:
            self.work_list = WorkListWindow(self.services, self.window)
            self.work_list.open_item.connect(self.open_work_item)
        else:
            self.work_list.refresh()
        self.work_list.show()
        self.work_list.raise_()

    # --- where a figure or a row leads -------------------------------------------------------------
    def drill(self, drill: Drill) -> None:
        f = drill.filters
        if drill.target == "users":
            self.show_users(f.get("state"))
        elif drill.target == "devices":
            self.show_devices(kind=f.get("kind"), state=f.get("state"), overdue=bool(f.get("overdue")))
        elif drill.target == "charges":
            self.show_charges(f.get("status"))
        elif drill.target == "audit":
            self.show_audit(f.get("staff", ""), f.get("action", ""), f.get("since"), f.get("until"))

    def open_work_item(self, item: WorkItem) -> None:
        if item.opens == "device":
            self.show_devices(serial=item.serial or "", device_id=item.device_id)
        elif item.username:
            self.show_users(None, item.username, item.user_id)

    def show_users(self, state, text: str = "", user_id: int | None = None) -> None:
        w = self.window
        w.filter_edit.setText(text)
        index = w.state_combo.findData(state) if state is not None else 0
        w.state_combo.setCurrentIndex(max(index, 0))
        w.apply_filter()
        if user_id is not None:
            w.select_user(user_id)
        w.raise_()
        w.activateWindow()

    def show_devices(self, kind=None, state=None, overdue: bool = False, serial: str = "",
                     device_id: int | None = None) -> None:
        actions = self.window.device_actions
        actions.show_devices()
        d = actions.devices_window
        for combo, value in ((d.kind_combo, kind), (d.state_combo, state)):
            combo.blockSignals(True)
            combo.setCurrentIndex(max(combo.findData(value), 0) if value is not None else 0)
            combo.blockSignals(False)
        d.overdue_check.blockSignals(True)
        d.overdue_check.setChecked(overdue)
        d.overdue_check.blockSignals(False)
        d.serial_edit.blockSignals(True)
        d.serial_edit.setText(serial)
        d.serial_edit.blockSignals(False)
        d.apply_filter()
        if device_id is not None:
            d.select_device(device_id)

    def show_charges(self, status) -> None:
        actions = self.window.device_actions
        actions.show_charges()
        c = actions.charges_window
        c.account_edit.setText("")
        c.status_combo.blockSignals(True)
        c.status_combo.setCurrentIndex(max(c.status_combo.findData(status), 0) if status is not None else 0)
        c.status_combo.blockSignals(False)
        c.apply_filter()

    def show_audit(self, staff: str, action: str, since: dt.datetime | None, until: dt.datetime | None) -> None:
        self.window.open_audit_trail()
        a = self.window.audit_view
        a.staff_filter.setEditText(staff)
        a.action_filter.setEditText(action)
        a.user_filter.clear()
        a.period_check.setChecked(since is not None)
        if since is not None and until is not None:
            last = until - dt.timedelta(days=1)
            a.from_date.setDate(QDate(since.year, since.month, since.day))
            a.to_date.setDate(QDate(last.year, last.month, last.day))
        a.apply_filters()

    # --- the monthly report ------------------------------------------------------------------------
    def ask_report(self) -> None:
        if not self.report_action.isEnabled():
            return
        now = self.services.ctx.clock.now()
        previous = (now.replace(day=1) - dt.timedelta(days=1))
        month, ok = QInputDialog.getText(self.window, "Monthly report", "&Month (YYYY-MM):", text=f"{previous:%Y-%m}")
        if not ok:
            return
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        path, _ = QFileDialog.getSaveFileName(self.window, "Save the monthly report",
                                              str(Path(folder) / f"sls-report-{month.strip()}.pdf"),
                                              "PDF (*.pdf);;CSV (*.csv)")
        if path:
            self.write_report(month, path)

    def write_report(self, month: str, path: str) -> bool:
        try:
            result = self.services.reports.produce(self.actor, month, path, render_pdf)
        except ConsoleError as exc:
            self.last_message = show_error(self.window, exc)
            return False
        self.last_message = message_box(self.window, "Report written", f"The monthly report {month.strip()} was "
                                        f"written to {result.path} and recorded in the audit trail (entry "
                                        f"{result.audit_entry_id}).", QMessageBox.Icon.Information, "reportWritten")
        return True


def install(window: QMainWindow, services) -> InsightActions:
    return InsightActions(window, services)
