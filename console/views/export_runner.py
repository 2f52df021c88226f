"""Exporting users, devices, charges or audit entries to a CSV file the staff member chooses, with progress."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from console.models.exporting import KIND_LABELS, ExportCancelled, ExportResult
from console.views.change_bus import ChangeKind, Changes
from console.views.desk import Desk
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

    def ask_and_export(self, kind: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, f"Export {KIND_LABELS[kind]}", f"sls-{kind}.csv",
                                              "CSV files (*.csv)")
        if path:
            self.export_to(kind, path)

    def running(self) -> bool:
        return self.operation is not None and not self.operation.done

    def export_to(self, kind: str, path: str | Path) -> None:
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
            self.window, lambda report: self.service.export(self.actor, kind, path, report),
            changes=Changes.of(kinds=[ChangeKind.audit]), success=on_success, failure=on_failure,
            progress=Progress(f"Exporting {KIND_LABELS[kind]}", "Export"))
