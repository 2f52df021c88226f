"""The compliance queue: sharing requests that wait for approval, approved or rejected with a reason."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QPlainTextEdit,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.models.permissions import Permission
from console.models.sharing_review import RequestRow
from console.views.change_bus import ChangeKind, Changes
from console.views.conventions import keyboard_conventions
from console.views.desk import Desk
from console.views.device_dialogs import ServiceDialog, Submission
from console.views.formatting import when
from console.views.permitted import PermittedAction, hide_empty_menus
from console.views.tables import item_table

COLUMNS = ("Requested", "Username", "Name", "Account", "Device", "Held by", "Matching data", "Asked by")


class DecisionDialog(ServiceDialog):
    """Approve or reject one request; the reason is required and recorded."""

    def __init__(self, desk: Desk, request: RequestRow, approve: bool, parent: QWidget | None = None) -> None:
        verb = "Approve" if approve else "Reject"
        super().__init__(desk, f"{verb} sharing request", "approveSharing" if approve else "rejectSharing", parent)
        self.request = request
        self.approve = approve
        self.ok_button.setText(verb)
        outcome = ("the device is shared and the user enrolled if it was waiting" if approve else
                   "the user goes back to opted out if it was waiting; nothing is shared")
        self.intro.setText(f"{verb} the request of {request.username} ({request.full_name}, {request.account_number}) "
                           f"to use {request.device_label}, held by {', '.join(request.holders)}: {outcome}. "
                           f"Ctrl+Enter {verb.lower()}s.")
        self.reason = self._field("&Reason:", QPlainTextEdit(), "sharingDecisionReason", "Reason for the decision")
        self.reason.setPlaceholderText("e.g. passport number and date of birth match the other entity")
        self.reason.setTabChangesFocus(True)

    def submission(self) -> Submission:
        reason, rid, shown = self.reason.toPlainText(), self.request.id, self.request.version
        review = self.services.sharing_review
        work = (lambda: review.approve(self.actor, rid, reason, expected_version=shown)) if self.approve else (
            lambda: review.reject(self.actor, rid, reason, expected_version=shown))
        verb = "approved" if self.approve else "rejected"
        return Submission(work, Changes.of(kinds=[ChangeKind.users, ChangeKind.devices]),
                          lambda row: f"Sharing of {row.device_label} with {row.username} {verb}.")


class SharingQueueWindow(QMainWindow):
    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sharingQueue")
        self.setWindowTitle("Sharing requests awaiting approval — SLS Console")
        self.desk = desk
        self.services = desk.services
        self.actor = desk.actor
        self.rows: list[RequestRow] = []
        self.wanted: int | None = None  # a request to select once the queue is read (opened from the work list)
        self.dialog: DecisionDialog | None = None
        self.intro = QLabel("Requests to share a device between usernames of different entities whose identification "
                            "data match. The client has proven possession; decide whether the entities are one "
                            "person. Approve or reject with a reason.")
        self.intro.setWordWrap(True)
        t = item_table(COLUMNS, "sharingQueueTable", "Sharing requests awaiting approval")
        t.itemSelectionChanged.connect(self._update)
        self.table = t
        self.count_label = QLabel()
        self.count_label.setObjectName("sharingQueueCount")
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.intro)
        layout.addWidget(t, 1)
        layout.addWidget(self.count_label)
        self.setCentralWidget(central)

        make = self._action
        self.approve_action = make("&Approve…", "Ctrl+Shift+P", "Approve the selected request, giving a reason",
                                   lambda: self.decide(True), "approveSharingRequest", Permission.review_sharing)
        self.reject_action = make("&Reject…", "Ctrl+Shift+R", "Reject the selected request, giving a reason",
                                  lambda: self.decide(False), "rejectSharingRequest", Permission.review_sharing)
        self.refresh_action = make("Re&fresh", QKeySequence.StandardKey.Refresh, "Read the queue again",
                                   self.refresh, "refreshSharingQueue", Permission.view)
        self.close_action = make("&Close", "Ctrl+W", "Close the queue (Esc)", self.close, "closeSharingQueue",
                                 Permission.view)
        menu = self.menuBar().addMenu("&Request")
        for action in (self.approve_action, self.reject_action, self.refresh_action):
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.close_action)
        hide_empty_menus(self.menuBar())
        toolbar = self.addToolBar("Requests")
        toolbar.setObjectName("sharingQueueToolbar")
        for action in (self.approve_action, self.reject_action, self.refresh_action):
            toolbar.addAction(action)
        desk.bus.changed.connect(self.on_changes)
        keyboard_conventions(self)
        self.resize(1100, 480)
        self.refresh()

    def _action(self, text: str, shortcut: Any, tip: str, slot: Callable[[], Any], name: str,
                permission: Permission) -> PermittedAction:
        return self.desk.actions.make(self, text, shortcut, tip, slot, name, permission)

    def on_changes(self, changes: Changes) -> None:
        if changes.touches(ChangeKind.users) or changes.touches(ChangeKind.devices):
            self.refresh()

    def refresh(self) -> None:
        self.desk.runner.query(self, lambda: self.services.sharing_review.queue(self.actor), success=self._show)

    def show_request(self, request_id: int) -> None:
        """Select this request (now, or when the reading under way arrives); the queue reads itself again."""
        self.wanted = request_id
        if not self._select(request_id):
            self.refresh()

    def _select(self, request_id: int) -> bool:
        row = next((i for i, r in enumerate(self.rows) if r.id == request_id), -1)
        if row >= 0:
            self.table.selectRow(row)
            self.table.scrollTo(self.table.model().index(row, 0))
            self.table.setFocus()
        return row >= 0

    def _show(self, rows: list[RequestRow]) -> None:
        current = self.current_request()
        self.rows = rows
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            cells = (when(r.requested_at), r.username, r.full_name, r.account_number, r.device_label,
                     ", ".join(r.holders), r.matched, r.requested_by)
            for j, text in enumerate(cells):
                self.table.setItem(i, j, QTableWidgetItem(text))
        keep = next((i for i, r in enumerate(rows) if current is not None and r.id == current.id), 0 if rows else -1)
        if keep >= 0:
            self.table.selectRow(keep)
        self.count_label.setText(f"{len(rows)} request(s) waiting." if rows else
                                 "No sharing request is waiting for approval.")
        if self.wanted is not None:
            if not self._select(self.wanted):  # decided meanwhile (here or at another desk)
                self.count_label.setText(self.count_label.text() + " The request opened from the work list has "
                                         "been decided or withdrawn meanwhile.")
            self.wanted = None
        self._update()

    def current_request(self) -> RequestRow | None:
        row = self.table.currentRow()
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def _update(self) -> None:
        selected = self.current_request() is not None
        self.approve_action.setEnabled(selected)
        self.reject_action.setEnabled(selected)

    def decide(self, approve: bool) -> DecisionDialog | None:
        request = self.current_request()
        if request is None:
            return None
        self.dialog = DecisionDialog(self.desk, request, approve, self)
        self.dialog.open()
        return self.dialog
