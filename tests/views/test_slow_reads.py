"""Every window reads the database off the GUI thread: with the database slow (a real service whose read waits
until the test lets it go), the window opens and answers meanwhile, says it is reading, and shows the answer
when it lands. A read made on the GUI thread fails these tests at once (tests/views/desks.py slow_reads)."""

from __future__ import annotations

import pytest

from console.models.enums import StaffRole
from console.views.security_settings import SecuritySettingsDialog
from console.views.settings_dialog import SettingsDialog
from console.views.staff_dialog import StaffDialog
from tests.sessions import signed_in
from tests.views.desks import answers_meanwhile, desk_for, settle, slow_reads


@pytest.fixture
def desk(ctx, world, admin):
    return desk_for(ctx, admin)


def test_security_settings_open_at_once_and_show_the_user_when_read(qtbot, desk, world, monkeypatch):
    release = slow_reads(monkeypatch, desk.services.directory, "details")
    dialog = SecuritySettingsDialog(desk, world.primary_id)
    qtbot.addWidget(dialog)
    dialog.show()
    answers_meanwhile(qtbot)
    assert dialog.pane.heading.text() == "Reading the user…" and "reading" in dialog.windowTitle()
    assert not dialog.opt_in_action.isVisible() and not dialog.opt_out_action.isVisible()  # nobody to act on yet
    release.set()
    settle(qtbot, desk)
    assert dialog.windowTitle() == "Security settings — Jane Smith (jsmit001)"
    assert dialog.pane.fields["state"].text() == "Opted out" and dialog.opt_in_action.isVisible()


def test_staff_window_opens_at_once_and_lists_the_staff_when_read(qtbot, ctx, desk, monkeypatch):
    signed_in(ctx, "hdesk02", "Hank Desk", StaffRole.help_desk)
    release = slow_reads(monkeypatch, desk.services.staff, "members")
    dialog = StaffDialog(desk)
    qtbot.addWidget(dialog)
    dialog.show()
    answers_meanwhile(qtbot)
    assert dialog.table.rowCount() == 0
    release.set()
    settle(qtbot, desk)
    assert dialog.select("hdesk02")


def test_settings_open_at_once_and_fill_the_figures_when_read(qtbot, desk, monkeypatch):
    release = slow_reads(monkeypatch, desk.services.settings, "current")
    dialog = SettingsDialog(desk)
    qtbot.addWidget(dialog)
    dialog.show()
    answers_meanwhile(qtbot)
    assert dialog.loading and dialog.reading.isVisible()
    assert not dialog.fields["online_card_validity_days"].isEnabled()
    dialog.save()  # nothing shown yet: nothing is saved, nothing breaks
    release.set()
    settle(qtbot, desk)
    assert not dialog.loading and not dialog.reading.isVisible()
    assert dialog.fields["online_card_validity_days"].value() == 21
    assert dialog.fields["online_card_validity_days"].isEnabled()
