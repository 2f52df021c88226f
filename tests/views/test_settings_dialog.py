"""The settings dialog, the help menu and the remembered window layout, driven as staff would."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt
from sqlalchemy import select

from console.models.entities import AuditEntry, Setting
from console.models.settings import SPECS
from console.views.main_window import MainWindow
from console.views.messages import last_report
from console.views.window_memory import WindowMemory
from tests.views.desks import desk_for, settle


def make_window(qtbot, ctx, actor):
    w = MainWindow(desk_for(ctx, actor))
    qtbot.addWidget(w)
    w.show()
    settle(qtbot, w.desk)  # the list is read off the GUI thread
    return w


@pytest.fixture
def window(qtbot, ctx, world, admin):
    return make_window(qtbot, ctx, admin)


def test_dialog_lists_every_figure_with_its_current_value(window, qtbot):
    """Each figure of docs/domain-facts.md has a labelled field showing its value; fees show in USD."""
    dialog = window.back_office.open_settings()
    settle(qtbot, window.desk)  # the figures are read off the GUI thread
    assert set(dialog.fields) == {s.key for s in SPECS}
    assert dialog.fields["online_card_validity_days"].value() == 21
    fee = dialog.fields["dsc_plus_fee_cents"]
    assert fee.value() == 20.0 and fee.suffix() == " USD"
    assert fee.accessibleName() == "DSC+ replacement fee"


def test_saving_a_change_stores_and_audits_it(window, qtbot, ctx):
    """Changing the card validity to 28 days and a fee to 25.00 USD stores both and audits old → new."""
    dialog = window.back_office.open_settings()
    settle(qtbot, window.desk)
    box = dialog.fields["online_card_validity_days"]
    box.selectAll()
    qtbot.keyClicks(box, "28")
    dialog.fields["dsc_plus_fee_cents"].setValue(25.0)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    settle(qtbot, window.desk)
    assert dialog.saved == {"online_card_validity_days": 28, "dsc_plus_fee_cents": 2500}
    assert not dialog.isVisible()
    with ctx.db.read() as s:
        assert s.get(Setting, "online_card_validity_days").value == "28"
        assert s.get(Setting, "dsc_plus_fee_cents").value == "2500"
        summaries = s.scalars(select(AuditEntry.summary).where(AuditEntry.action == "settings.changed")).all()
    assert "Online Security Code Card validity: 21 days → 28 days" in summaries


def test_the_help_shows_the_figures_as_saved(window, qtbot):
    """After a change, the help opened from the menu quotes the new figure."""
    window.back_office.services.settings.update(window.services.actor, "online_card_validity_days", 30)
    browser = window.back_office.open_help("security-devices")
    settle(qtbot, window.desk)  # the figures are read off the GUI thread
    assert browser.objectName() == "helpBrowser" and browser.isVisible()
    assert "valid 30 days" in browser.browser.toPlainText()


def test_auditor_sees_the_figures_but_cannot_change_them(qtbot, ctx, world, auditor):
    """A role without change_settings gets a read-only dialog without Save."""
    w = make_window(qtbot, ctx, auditor)
    dialog = w.back_office.open_settings()
    assert not dialog.save_button.isVisible()
    assert all(box.isReadOnly() for box in dialog.fields.values())


def test_restore_defaults_then_save_returns_to_published_values(window, ctx, qtbot):
    """Restore defaults puts back the domain-facts values; saving records the change back."""
    window.services.settings.update(window.services.actor, "lockout_failures", 3)
    dialog = window.back_office.open_settings()
    settle(qtbot, window.desk)
    assert dialog.fields["lockout_failures"].value() == 3
    dialog.restore_defaults()
    dialog.save()
    settle(qtbot, window.desk)
    assert window.services.settings.figures().lockout_failures == 5
    assert last_report(window) == "Service figures saved: lockout_failures."


def test_window_remembers_column_widths_but_never_the_search(qtbot, ctx, world, admin, tmp_path):
    """Closing saves the column widths; the next window (maybe another staff member) starts with no search."""
    store = QSettings(str(tmp_path / "desk.ini"), QSettings.Format.IniFormat)
    first = make_window(qtbot, ctx, admin)
    WindowMemory(first, store).attach()
    first.filter_edit.setText("jsmit")
    first.state_combo.setCurrentIndex(first.state_combo.findText("Opted out"))
    first.table.setColumnWidth(1, 250)
    first.close()
    second = make_window(qtbot, ctx, admin)
    WindowMemory(second, store).attach()
    assert second.filter_edit.text() == "" and second.state_combo.currentData() is None
    assert second.model.rowCount() == 4
    assert second.table.columnWidth(1) == 250
