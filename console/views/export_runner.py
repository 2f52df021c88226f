"""Exporting users, devices, charges or audit entries to a CSV file the staff member chooses, with progress."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from console.models.directory import UserQuery
from console.models.exporting import KIND_LABELS, ExportCancelled, ExportResult, describe
from console.views.change_bus import ChangeKind, Changes
from console.views.desk import Desk
from console.views.documents import in_documents
from console.views.messages import report_done, show_error
from console.views.operations import Operation, Progress


class ExportRunner(QObject):
    """One export at a time: asks for a file name, runs through the operation runner, reports the outcome once."""

    def __init__(self, desk: Desk, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("exportRunner")
        self.desk = desk
        self.service = desk.services.exporting
        self.actor = desk.actor
        self.window = parent
        self.operation: Operation | None = None
        self.result: ExportResult | None = None
        self.outcome = ""
        self.last_message: QMessageBox | None = None
        self.report = ""
        # The users list's filter and count, handed over by the main window: "export what the list shows".
        self.shown_users: Callable[[], tuple[UserQuery, int]] | None = None
        self.which_box: QMessageBox | None = None

    def ask_and_export(self, kind: str) -> None:
        """Users: the list as shown or every user (the agent chooses); then where, starting in Documents."""
        shown = None
        if kind == "users" and self.shown_users is not None:
            query, count = self.shown_users()
            if describe(query) != "no filter":
                box = QMessageBox(QMessageBox.Icon.Question, "Export users",
                                  f"Export the {count:,} user{'' if count == 1 else 's'} the list shows "
                                  f"({describe(query)}), or every user?", QMessageBox.StandardButton.Cancel,
                                  self.window)
                box.setObjectName("exportWhichUsers")
                listed = box.addButton(f"&Shown ({count:,})", QMessageBox.ButtonRole.AcceptRole)
                every = box.addButton("&All users", QMessageBox.ButtonRole.AcceptRole)
                box.setDefaultButton(listed)
                self.which_box = box
                box.exec()
                if box.clickedButton() not in (listed, every):
                    return
                shown = query if box.clickedButton() is listed else None
        start = in_documents(f"sls-{kind}.csv")
        path, _ = QFileDialog.getSaveFileName(self.window, f"Export {KIND_LABELS[kind]}", start, "CSV files (*.csv)")
        if path:
            self.export_to(kind, path, shown=shown)

    def running(self) -> bool:
        return self.operation is not None and not self.operation.done

    def export_to(self, kind: str, path: str | Path, *, shown: UserQuery | None = None) -> None:
        if self.running():
            return
        self.result, self.outcome = None, ""

        def on_success(result: ExportResult) -> None:
            self.result, self.outcome = result, "exported"
            self.report = report_done(self.window, f"{result.rows:,} {KIND_LABELS[kind]} written to {result.path}.")

        def on_failure(exc: Exception) -> None:
            self.outcome = "cancelled" if isinstance(exc, ExportCancelled) else "failed"
            self.last_message = show_error(self.window, exc)

        # An export is a write too: it is recorded in the audit trail.
        self.operation = self.desk.runner.write(
            self.window, lambda report: self.service.export(self.actor, kind, path, report, shown=shown),
            changes=Changes.of(kinds=[ChangeKind.audit]), success=on_success, failure=on_failure,
            progress=Progress(f"Exporting {KIND_LABELS[kind]}", "Export"))

