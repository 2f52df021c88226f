"""Importing accounts and users: choose a file, read the preview and its errors, import with progress and cancel."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.models.faults import explain
from console.models.importing import ImportCancelled, ImportPlan, ImportRefused, ImportResult
from console.views.change_bus import ChangeKind, Changes
from console.views.conventions import keyboard_conventions
from console.views.desk import Desk
from console.views.operations import Operation, Progress
from console.views.style import icon


class ImportDialog(QDialog):
    submit_requested = Signal()  # Import (or Ctrl+Enter) was asked for

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("importDialog")
        self.setWindowTitle("Import accounts and users")
        self.desk = desk
        self.service = desk.services.importing
        self.actor = desk.actor
        self.path: Path | None = None
        self.plan: ImportPlan | None = None
        self.result: ImportResult | None = None
        self.outcome: str = ""  # "imported", "cancelled", "refused", "failed" after an import attempt
        self.operation: Operation | None = None
        self._active = False

        intro = QLabel("One line per user, in the CSV format described in the README "
                       "(resources/sample-import.csv is an example). Nothing is written until you choose "
                       "Import, and then the whole file is imported or none of it.")
        intro.setWordWrap(True)
        self.file_edit = QLineEdit()
        self.file_edit.setObjectName("importFile")
        self.file_edit.setReadOnly(True)
        self.file_edit.setAccessibleName("File to import")
        self.file_edit.setPlaceholderText("No file chosen")
        browse = QPushButton(icon("import"), "&Choose file…")
        browse.setObjectName("importBrowse")
        browse.setAccessibleName("Choose the CSV file to import")
        browse.clicked.connect(self.choose_file)
        file_row = QHBoxLayout()
        file_label = QLabel("&File:")
        file_label.setBuddy(self.file_edit)
        file_row.addWidget(file_label)
        file_row.addWidget(self.file_edit, 1)
        file_row.addWidget(browse)

        self.summary = QLabel("Choose a file to see what it would change.")
        self.summary.setObjectName("previewSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.errors_table = QTableWidget(0, 3)
        self.errors_table.setObjectName("importErrors")
        self.errors_table.setAccessibleName("Problems found in the file: line, column and reason")
        self.errors_table.setHorizontalHeaderLabels(["Line", "Change", "Details"])
        self.errors_table.verticalHeader().setVisible(False)
        self.errors_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.errors_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.errors_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)

        self.buttons = QDialogButtonBox()
        self.import_button = self.buttons.addButton("&Import", QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_button.setObjectName("importApply")
        self.import_button.setIcon(icon("import"))
        self.import_button.setEnabled(False)
        self.import_button.clicked.connect(self.start_import)
        close = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.setObjectName("importClose")
        close.clicked.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(file_row)
        layout.addWidget(self.summary)
        layout.addWidget(self.errors_table, 1)
        layout.addWidget(self.buttons)
        keyboard_conventions(self, self.start_import)
        self.resize(820, 480)

    # --- choosing and previewing ----------------------------------------------------------------
    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import accounts and users", "", "CSV files (*.csv);;All files (*)")
        if path:
            self.load(path)

    def load(self, path: str | Path) -> None:
        """Preview `path` (in the background): fills the summary and the errors table."""
        self.path = Path(path)
        self.file_edit.setText(str(self.path))
        self.plan = self.result = None
        self.outcome = ""
        self.import_button.setEnabled(False)
        self.summary.setText(f"Checking {self.path.name}…")
        path = self.path
        self._active = True
        self.operation = self.desk.runner.query(
            self, lambda report: self.service.preview(self.actor, path, _phased(report)),
            success=self._previewed, failure=self._preview_failed,
            progress=Progress("Checking the file…", "Import", cancellable=False))

    def _previewed(self, plan: ImportPlan) -> None:
        self._active = False
        self._show_plan(plan)

    def _show_plan(self, plan: ImportPlan) -> None:
        self.plan = plan
        self.summary.setStyleSheet("")
        self._fill_errors(plan)
        self.summary.setText(plan.summary())
        changes = plan.users_to_create + plan.accounts_to_update + plan.users_to_update
        self.import_button.setEnabled(plan.ok and changes > 0)

    def _fill_errors(self, plan: ImportPlan) -> None:
        """Problems when there are any (line, column, reason); otherwise the changes line by line."""
        table = self.errors_table
        if plan.ok:
            rows = [(str(line), change, details) for line, change, details in plan.changes()]
            table.setHorizontalHeaderLabels(["Line", "Change", "Details"])
            table.setAccessibleName("What the import would change, line by line")
            shown, total = len(rows), plan.users_to_create + plan.accounts_to_create + plan.accounts_to_update \
                + len(plan.renamed)
        else:
            rows = [(str(e.line), e.field, e.reason) for e in plan.errors]
            table.setHorizontalHeaderLabels(["Line", "Column", "Reason"])
            table.setAccessibleName("Problems found in the file: line, column and reason")
            shown, total = len(rows), plan.error_count
        table.setRowCount(len(rows))
        for row, values in enumerate(rows):
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                if col == 0:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(row, col, item)
        table.setToolTip(f"The first {shown:,} of {total:,} are listed." if total > shown else "")

    # --- importing ------------------------------------------------------------------------------
    def start_import(self) -> None:
        self.submit_requested.emit()
        if self.path is None or self.plan is None or not self.plan.ok or self.busy():
            return
        self.import_button.setEnabled(False)
        path = self.path
        self._active = True
        self.operation = self.desk.runner.write(
            self, lambda report: self.service.apply(self.actor, path, _phased(report)),
            changes=Changes.of(kinds=[ChangeKind.accounts, ChangeKind.users]), success=self._imported,
            failure=self._import_failed, progress=Progress("Importing…", "Import"))

    def _imported(self, result: ImportResult) -> None:
        self._active = False
        self.result = result
        self.outcome = "imported"
        self.summary.setText(f"Imported {result.file_name}: {result.accounts_created:,} accounts created, "
                             f"{result.accounts_updated:,} updated; {result.users_created:,} users created, "
                             f"{result.users_updated:,} updated.")
        self.summary.setStyleSheet("")

    def _import_failed(self, exc: Exception) -> None:
        self._active = False
        if isinstance(exc, ImportCancelled):
            self.outcome = "cancelled"
            self.summary.setText(str(exc))
            self.import_button.setEnabled(self.plan is not None and self.plan.ok)
            return
        if isinstance(exc, ImportRefused):
            # The database changed since the preview: show what is wrong now.
            self.outcome = "refused"
            self._show_plan(exc.plan)
        else:
            self.outcome = "failed"
        self._refuse(exc)

    # --- background running ---------------------------------------------------------------------
    def busy(self) -> bool:
        """True from the start of a preview or import until its outcome has been shown."""
        return self._active

    def _preview_failed(self, exc: Exception) -> None:
        self._active = False
        self._refuse(exc)

    def _refuse(self, exc: Exception) -> None:
        """A refusal is shown once, here in the dialog, in red; the dialog stays open to choose another file."""
        text = explain(exc)  # a refusal as written, or a fault (full disk, server gone) in one sentence
        self.summary.setText(text if self.outcome != "refused" else f"{text}\n{self.summary.text()}")
        self.summary.setStyleSheet("color: #b3261e;")

    def reject(self) -> None:
        if self.busy():
            return  # the progress dialog's Cancel stops an import; closing mid-way would hide it
        super().reject()


def _phased(report):
    """The import service reports (phase, done, total); the runner's report takes (done, total, phase)."""
    return lambda phase, done, total: report(done, total, phase)
