"""The import dialog and export actions, driven as a back-office member would, checked in the database."""

from __future__ import annotations

import csv
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QProgressDialog, QPushButton
from sqlalchemy import func, select

from console.models.entities import AuditEntry, User
from console.models.import_format import COLUMNS
from console.views.main_window import MainWindow
from console.views.messages import last_report
from tests.test_importing import MARIA, SAMPLE, write_csv
from tests.views.desks import desk_for, settle


def user_count(ctx) -> int:
    with ctx.db.read() as s:
        return s.scalar(select(func.count()).select_from(User))


@pytest.fixture
def window(qtbot, ctx, world, back_office):
    w = MainWindow(desk_for(ctx, back_office))
    qtbot.addWidget(w)
    w.show()
    settle(qtbot, w.desk)  # the list is read off the GUI thread
    return w


@pytest.fixture
def dialog(window, qtbot):
    d = window.back_office.open_import()
    yield d
    d.desk.runner.wait_idle()


def wait_idle(qtbot, dialog):
    qtbot.waitUntil(lambda: not dialog.busy() and dialog.desk.runner.is_idle(), timeout=10_000)


def test_preview_then_import_adds_users_and_refreshes_the_list(window, dialog, qtbot, ctx):
    """Choosing the sample shows what it would create; Import writes it and the list shows the new users."""
    dialog.load(SAMPLE)
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=10_000)
    assert "Users: 6 to create" in dialog.summary.text()
    table = dialog.errors_table
    assert table.horizontalHeaderItem(1).text() == "Change"
    assert [table.item(0, c).text() for c in range(2)] == ["2", "Create account"]
    assert table.rowCount() == 3 + 6
    assert any("mross114 Maria Rossi, secondary user of U3456780 (the same person as line 2)" in table.item(r, 2).text()
               for r in range(table.rowCount()))
    assert dialog.import_button.isEnabled()
    before = window.model.rowCount()
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.outcome == "imported", timeout=10_000)
    assert user_count(ctx) == 4 + 6
    assert dialog.summary.text().startswith("Imported sample-import.csv: 3 accounts created")  # said once, here
    dialog.close()
    qtbot.waitUntil(lambda: window.model.rowCount() == before + 6)


def test_bad_row_is_listed_with_line_column_reason_and_import_stays_off(dialog, qtbot, ctx, tmp_path):
    """A file with one bad row lists it in the errors table; Import cannot be chosen; nothing is written."""
    path = write_csv(tmp_path / "bad.csv", [MARIA, {**MARIA, "username": "mross002", "citizenship": "Italy",
                                                    "role": "secondary"}])
    dialog.load(path)
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=10_000)
    table = dialog.errors_table
    assert table.rowCount() == 1
    assert table.horizontalHeaderItem(2).text() == "Reason"
    assert [table.item(0, c).text() for c in range(2)] == ["3", "citizenship"]
    assert "two-letter country code" in table.item(0, 2).text()
    assert not dialog.import_button.isEnabled()
    dialog.start_import()  # even if forced, nothing starts
    assert not dialog.busy() and user_count(ctx) == 4


def test_cancel_in_the_progress_dialog_writes_nothing(dialog, qtbot, ctx, tmp_path, monkeypatch):
    """Cancel while rows are being written rolls back: no user and no audit entry is added."""
    rows = [{**MARIA, "account_number": f"U{3_000_000 + i}",
             "username": "".join(chr(97 + int(d)) for d in f"{i:05d}") + "001", "id_document_number": f"Z{i:08d}"}
            for i in range(30)]
    path = write_csv(tmp_path / "many.csv", rows)
    with ctx.db.read() as s:
        audit_before = s.scalar(select(func.count()).select_from(AuditEntry))
    real_apply = dialog.service.apply

    def apply_held_mid_write(actor, file, report):
        # Hold the worker after the first rows are written until the agent has pressed Cancel.
        def gated(phase, done, total):
            if phase == "Writing" and done > 0:
                deadline = time.monotonic() + 10
                while not dialog.operation.cancel_requested and time.monotonic() < deadline:
                    time.sleep(0.01)
            return report(phase, done, total)
        return real_apply(actor, file, gated)

    monkeypatch.setattr(dialog.service, "apply", apply_held_mid_write)
    dialog.load(path)
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=10_000)
    assert dialog.plan.ok, dialog.plan.errors[:3]
    dialog.start_import()
    progress: QProgressDialog = dialog.operation.progress_dialog
    assert progress.objectName() == "operationProgress" and progress.isVisible()
    cancel = next(b for b in progress.findChildren(QPushButton) if b.text() == "Cancel")
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.outcome != "", timeout=10_000)
    assert dialog.outcome == "cancelled", (dialog.outcome, dialog.summary.text())
    assert "Nothing was written" in dialog.summary.text()
    assert user_count(ctx) == 4
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == audit_before
    assert dialog.import_button.isEnabled(), "the agent may try again"


def test_help_desk_agent_cannot_import(qtbot, ctx, world, agent):
    """The import action is disabled for a role without the import permission."""
    w = MainWindow(desk_for(ctx, agent))
    qtbot.addWidget(w)
    assert not w.back_office.import_action.isEnabled()
    assert not w.back_office.export_actions["users"].isEnabled()


def test_every_action_has_text_shortcut_tip_and_icon(window):
    """Every action carries a shortcut and a status tip, no two share a shortcut; ours and the window's have icons."""
    from PySide6.QtGui import QAction

    from console.views.back_office_actions import ICONS

    actions = [a for a in window.findChildren(QAction) if a.objectName() and not a.objectName().startswith("_q_")]
    shortcuts = [a.shortcut().toString() for a in actions]
    for a in actions:
        assert a.text() and not a.shortcut().isEmpty() and a.statusTip(), a.objectName()
    mine = {"importData", "serviceFigures", "helpTopics", *(f"export_{k}" for k in ("users", "devices", "charges",
                                                                                      "audit"))}
    for a in actions:
        if a.objectName() in mine or a.objectName() in ICONS:
            assert not a.icon().isNull(), a.objectName()
    assert len(shortcuts) == len(set(shortcuts))


def test_export_users_from_the_menu_writes_the_file(window, qtbot, tmp_path):
    """Exporting users writes a CSV with every user and says so."""
    runner = window.back_office.exporter
    runner.export_to("users", tmp_path / "users.csv")
    qtbot.waitUntil(lambda: runner.outcome == "exported", timeout=10_000)
    with open(tmp_path / "users.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {r["username"] for r in rows} == {"jsmit001", "jsmit123", "aarch001", "bbake001"}
    assert list(rows[0])[:len(COLUMNS)] == list(COLUMNS)
    assert runner.last_message is None  # reported once, in the status bar
    assert last_report(window) == f"4 users written to {tmp_path / 'users.csv'}."


def test_export_users_asks_shown_or_all_and_saves_in_the_documents_folder(window, qtbot, tmp_path, monkeypatch):
    """With a filter on the list, Export users asks: the users shown, or every user; the save dialog opens in the
    documents folder; "Shown" writes exactly the listed users."""
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    from console.views import documents

    monkeypatch.setattr(documents.platformdirs, "user_documents_dir", lambda: str(tmp_path / "Documents"))
    asked: list[str] = []

    def save_dialog(parent, title, start, filters):
        asked.append(start)
        return str(tmp_path / "shown.csv"), filters

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_dialog)
    def choose_shown(box) -> int:
        next(b for b in box.buttons() if b.text().startswith("&Shown")).click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", choose_shown)
    window.filter_edit.setText("Smith")
    window.apply_filter()
    qtbot.waitUntil(lambda: not window.model.loading and window.model.rowCount() == 2)
    runner = window.back_office.exporter
    runner.ask_and_export("users")
    assert "2 users the list shows" in runner.which_box.text()
    assert asked == [str(tmp_path / "Documents" / "sls-users.csv")]
    qtbot.waitUntil(lambda: runner.outcome == "exported", timeout=10_000)
    with open(tmp_path / "shown.csv", newline="", encoding="utf-8") as f:
        assert {r["username"] for r in csv.DictReader(f)} == {"jsmit001", "jsmit123"}
