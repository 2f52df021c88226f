"""Exporting users, devices, charges or audit entries to a CSV file the staff member chooses, with progress."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog, QWidget

from console.models.context import Actor
from console.models.exporting import KIND_LABELS, ExportCancelled, ExportResult, ExportService
from console.views.messages import message_box, show_error
from console.views.task import BackgroundTask


class ExportRunner(QObject):
    """One export at a time: asks for a file name, runs in the background, reports the outcome."""

    def __init__(self, service: ExportService, actor: Actor, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("exportRunner")
        self.service = service
        self.actor = actor
        self.window = parent
        self.task: BackgroundTask | None = None
        self.progress_dialog: QProgressDialog | None = None
        self.result: ExportResult | None = None
        self.outcome = ""
        self.last_message: QMessageBox | None = None

    def ask_and_export(self, kind: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, f"Export {KIND_LABELS[kind]}", f"sls-{kind}.csv",
                                              "CSV files (*.csv)")
        if path:
            self.export_to(kind, path)

    def export_to(self, kind: str, path: str | Path) -> None:
        if self.task is not None and self.task.running():
            return
        self.result, self.outcome = None, ""
        label = f"Exporting {KIND_LABELS[kind]}…"
        dialog = QProgressDialog(label, "Cancel", 0, 0, self.window)
        dialog.setObjectName("exportProgress")
        dialog.setWindowTitle("Export")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.setMinimumDuration(0)
        self.progress_dialog = dialog
        task = BackgroundTask(lambda report: self.service.export(
            self.actor, kind, path, lambda done, total: report("Exporting", done, total)), self)
        self.task = task
        dialog.canceled.connect(task.cancel)

        def on_progress(_phase: str, done: int, total: int) -> None:
            dialog.setMaximum(max(total, 1))
            dialog.setValue(min(done, max(total, 1)))
            dialog.setLabelText(f"Exporting {KIND_LABELS[kind]}: {done:,} of {total:,}")

        def on_success(result: ExportResult) -> None:
            dialog.close()
            self.result, self.outcome = result, "exported"
            self.last_message = message_box(
                self.window, "Export finished", f"{result.rows:,} {KIND_LABELS[kind]} written to {result.path}.",
                QMessageBox.Icon.Information, "exportFinished")

        def on_failure(exc: Exception) -> None:
            dialog.close()
            self.outcome = "cancelled" if isinstance(exc, ExportCancelled) else "failed"
            self.last_message = show_error(self.window, exc)

        task.progress.connect(on_progress)
        task.succeeded.connect(on_success)
        task.failed.connect(on_failure)
        dialog.show()
        task.start()
