"""The charges screen: an account's charges by status, waiving with a reason, marking billed."""

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import select

from console.models.entities import AuditEntry, Charge
from console.models.enums import ChargeStatus
from console.views.charges_view import ChargesWindow
from tests.lifecycle import enroll_primary, replaced_card
from tests.views.desks import desk_for, settle, submit


@pytest.fixture
def charged(ctx, world, admin):
    """A lost DSC+ replaced on U1234567: one pending 20 USD charge."""
    enroll_primary(ctx, world)  # jsmit001 holds the rights
    return replaced_card(ctx, admin, world.primary_id, world.account_id, "DSC000000701", "DSC000000702")


@pytest.fixture
def window(qtbot, ctx, charged, back_office):
    w = ChargesWindow(desk_for(ctx, back_office), "U1234567")
    qtbot.addWidget(w)
    w.show()
    settle(qtbot, w.desk)  # the charges are read off the GUI thread
    return w


def _status(ctx):
    with ctx.db.read() as s:
        return s.scalar(select(Charge.status))


def test_account_charges_listed_with_totals_and_status_filter(window, qtbot):
    """The account's charge shows amount and status; totals per status; filtering by waived hides it."""
    assert window.model.rowCount() == 1
    assert window.model.data(window.model.index(0, 4)) == "20.00 USD"
    assert window.model.data(window.model.index(0, 5)) == "Pending"
    assert "Pending: 20.00 USD" in window.totals.text()
    window.status_combo.setCurrentIndex(window.status_combo.findData(ChargeStatus.waived))
    settle(qtbot, window.desk)
    assert window.model.rowCount() == 0


def test_unknown_account_is_explained(window, qtbot):
    """A mistyped account number gets a clear message and the list stays as it was."""
    window.account_edit.setText("U999")
    qtbot.mouseClick(window.show_button, Qt.MouseButton.LeftButton)
    settle(qtbot, window.desk)
    assert "no account U999" in window.last_message.text()
    assert window.model.rowCount() == 1


def test_waive_from_the_gui_needs_a_reason_and_is_audited(window, qtbot, ctx):
    """Waiving without a reason is refused in the dialog; with one, the charge is waived and audited."""
    window.select_row(0)
    assert window.waive_action.isEnabled()
    window.waive_action.trigger()
    dialog = window.dialog
    submit(qtbot, dialog)
    assert dialog.isVisible() and "reason" in dialog.last_message.text()
    assert _status(ctx) is ChargeStatus.pending
    qtbot.keyClicks(dialog.reason, "Card lost by our courier")
    submit(qtbot, dialog)
    assert not dialog.isVisible() and _status(ctx) is ChargeStatus.waived
    assert window.model.data(window.model.index(0, 7)) == "Card lost by our courier"
    assert not window.waive_action.isEnabled() or window.current_charge().status is ChargeStatus.waived
    with ctx.db.read() as s:
        assert s.scalar(select(AuditEntry.actor).where(AuditEntry.action == "charge.waived")) == "boff01"


def test_mark_billed_from_the_gui(window, qtbot, ctx):
    """Marking billed asks first, then the charge is billed and can no longer be waived."""
    window.select_row(0)
    window.bill_action.trigger()
    submit(qtbot, window.dialog)
    assert _status(ctx) is ChargeStatus.billed
    window.select_row(0)
    assert not window.waive_action.isEnabled()


def test_help_desk_cannot_waive(qtbot, ctx, charged, agent):
    """Waiving is not offered to a help-desk agent."""
    w = ChargesWindow(desk_for(ctx, agent), "U1234567")
    qtbot.addWidget(w)
    settle(qtbot, w.desk)
    w.select_row(0)
    assert not w.waive_action.isEnabled()


def test_enter_in_the_account_box_puts_the_agent_on_the_first_charge(window, qtbot):
    window.account_edit.setFocus()
    qtbot.keyClick(window.account_edit, Qt.Key.Key_Return)
    settle(qtbot, window.desk)
    assert window.table.currentIndex().row() == 0 and window.current_charge().status is ChargeStatus.pending
