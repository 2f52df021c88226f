"""The main window's insight actions (dashboard, work list, staff activity, monthly report) and the drill-downs
that open the list behind a figure or the place to act on a work-list row."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMainWindow, QMessageBox

from console.models.audit_log import AuditFilter
from console.models.devices import DeviceQuery
from console.models.errors import ConsoleError
from console.models.insight import PANEL_PERMISSIONS, Drill
from console.models.permissions import Permission
from console.models.reporting import Report, ReportResult, report_format
from console.models.work_list import WorkItem
from console.views.change_bus import ChangeKind, Changes
from console.views.dashboard import DashboardWindow
from console.views.desk import Desk
from console.views.messages import message_box, show_error
from console.views.permitted import PermittedAction
from console.views.report_document import render_pdf
from console.views.style import icon
from console.views.work_list_view import WorkListWindow

ICONS = {"openDashboard": "chart", "openWorkList": "worklist", "openStaffActivity": "audit",
         "monthlyReport": "print"}


class InsightActions(QObject):
    """Makes the actions and opens the windows; the main window places the actions in its menus."""

    def __init__(self, desk: Desk, window: QMainWindow) -> None:
        super().__init__(window)
        self.desk = desk
        self.window = window
        self.services = desk.services
        self.actor = desk.actor
        self.dashboard: DashboardWindow | None = None
        self.activity: DashboardWindow | None = None
        self.work_list: WorkListWindow | None = None
        self.last_message: QMessageBox | None = None
        self.last_report: ReportResult | None = None
        a = self._action
        self.dashboard_action = a("&Dashboard…", "Ctrl+Alt+B", "Charts of SLS states, opt-ins, devices, returns, "
                                  "charges and sign-in failures; click a figure to list its rows",
                                  self.open_dashboard, "openDashboard", Permission.view)
        self.work_action = a("&Work list…", "Ctrl+Alt+W", "What needs someone today: cards near their activation "
                             "date, overdue returns, users with no device, locked devices", self.open_work_list,
                             "openWorkList", Permission.view)
        # Staff activity is the auditors' view of the trail (PANEL_PERMISSIONS says who sees it).
        self.activity_action = a("Staff ac&tivity…", "Ctrl+Alt+Y", "Audited actions per staff member and per day; "
                                 "click a bar to read the entries", self.open_activity, "openStaffActivity",
                                 PANEL_PERMISSIONS["activity"])
        self.report_action = a("Monthly re&port…", "Ctrl+Alt+R", "Write a month's figures, their tables and the "
                               "audit chain's head to a PDF or CSV (recorded in the audit trail)", self.ask_report,
                               "monthlyReport", Permission.export_data)
        self.window_actions = (self.dashboard_action, self.work_action, self.activity_action)

    def _action(self, text, shortcut, tip, slot, name, permission) -> PermittedAction:
        return self.desk.actions.make(self.window, text, shortcut, tip, slot, name, permission,
                                      icon=icon(ICONS[name]))

    def refresh_icons(self) -> None:
        for action in (*self.window_actions, self.report_action):
            action.setIcon(icon(ICONS[action.objectName()]))

    # --- windows -----------------------------------------------------------------------------------
    def open_dashboard(self) -> None:
        if self.dashboard is None:
            self.dashboard = DashboardWindow(self.desk, self.window)
            self.dashboard.drill.connect(self.drill)
        else:
            self.dashboard.refresh()
        self.dashboard.show()
        self.dashboard.raise_()

    def open_activity(self) -> None:
        if self.activity is None:
            self.activity = DashboardWindow(self.desk, self.window, only=("activity_by_staff", "activity"),
                                            title="Staff activity", name="staffActivityWindow")
            self.activity.drill.connect(self.drill)
        else:
            self.activity.refresh()
        self.activity.show()
        self.activity.raise_()

    def open_work_list(self) -> None:
        if self.work_list is None:
            self.work_list = WorkListWindow(self.desk, self.window)
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
        if item.opens == "staff":
            self.window.open_staff()
            dialog, name = self.window.staff_dialog, item.staff_username or ""
            # The staff are read off the GUI thread: the member is selected once the table shows them.
            dialog.refresh(then=lambda: (dialog.select(name), dialog.table.setFocus()))
        elif item.opens == "sharing_request" and item.request_id is not None:
            self.window.sls_actions.show_queue().show_request(item.request_id)
        elif item.opens == "device":
            self.show_devices(serial=item.serial or "", device_id=item.device_id)
        elif item.username:
            self.show_users(None, item.username, item.user_id)

    def show_users(self, state, text: str = "", user_id: int | None = None) -> None:
        self.window.show_users(text, state, user_id)
        self.window.raise_()
        self.window.activateWindow()

    def show_devices(self, kind=None, state=None, overdue: bool = False, serial: str = "",
                     device_id: int | None = None) -> None:
        actions = self.window.device_actions
        actions.show_devices()
        actions.devices_window.show_query(DeviceQuery(kind, state, serial, overdue), device_id)

    def show_charges(self, status) -> None:
        actions = self.window.device_actions
        actions.show_charges()
        actions.charges_window.show_status(status)

    def show_audit(self, staff: str, action: str, since: dt.datetime | None, until: dt.datetime | None) -> None:
        self.window.open_audit_trail()
        self.window.audit_view.show_filter(AuditFilter(staff=staff, action=action, since=since, until=until))

    # --- the monthly report ------------------------------------------------------------------------
    def ask_report(self) -> None:
        now = self.services.clock.now()
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

    def write_report(self, month: str, path: str) -> None:
        """Read the figures off the GUI thread, draw the file here (Qt draws on this thread only), then record it
        and move it into place through the runner; one message says where it went, or why not."""
        reports, actor = self.services.reports, self.actor
        try:
            report_format(path)
        except ConsoleError as exc:
            self.last_message = show_error(self.window, exc)
            return

        def built(report: Report) -> None:
            try:
                partial = reports.draft(report, path, render_pdf)
            except ConsoleError as exc:
                self.last_message = show_error(self.window, exc)
                return
            self.desk.runner.write(self.window, lambda: reports.publish(actor, report, partial, path),
                                   changes=Changes.of(kinds=[ChangeKind.audit]), success=written,
                                   failure=lambda exc: refused(exc, partial))

        def written(result: ReportResult) -> None:
            self.last_report = result
            self.last_message = message_box(
                self.window, "Report written", f"The monthly report {month.strip()} was written to {result.path} "
                f"and recorded in the audit trail (entry {result.audit_entry_id}).", QMessageBox.Icon.Information,
                "reportWritten")

        def refused(exc: Exception, partial: Path) -> None:
            partial.unlink(missing_ok=True)
            self.last_message = show_error(self.window, exc)

        self.desk.runner.query(self.window, lambda: reports.build(actor, month), success=built)
