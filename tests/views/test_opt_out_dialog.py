"""The opt-out dialog: risks and restrictions shown, explicit acknowledgement recorded, restrictions applied."""

import pyotp
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QLabel, QMessageBox, QPlainTextEdit, QPushButton
from sqlalchemy import select

from console.models.enrollment import EnrollmentService
from console.models.entities import AuditEntry, OptOutAcknowledgement, User
from console.models.enums import OPT_OUT_RESTRICTIONS, SlsState
from console.models.opt_out_terms import statement
from console.models.settings import Figures
from console.views.opt_out_dialog import OptOutDialog
from tests.factories import user_snapshot
from tests.views.desks import desk_for, settle


@pytest.fixture
def enrolled_jane(ctx, world, agent):
    """Jane (jsmit001, rights holder) enrolled with an IB Key, five minutes ago."""
    svc = EnrollmentService(ctx)
    start = svc.start_ib_key(agent, world.primary_id)
    svc.confirm(agent, world.primary_id, start.device_id, pyotp.parse_uri(start.provisioning_uri).at(ctx.clock.now()))
    ctx.clock.advance(minutes=5)
    return world.primary_id


def make_dialog(qtbot, ctx, agent, user_id, username="jsmit001", full_name="Jane Smith"):
    d = OptOutDialog(desk_for(ctx, agent), user_id, username, full_name)
    qtbot.addWidget(d)
    d.show()
    settle(qtbot, d.desk)  # the texts are read off the GUI thread
    return d


def test_dialog_lists_risks_and_every_restriction(qtbot, ctx, world, agent, enrolled_jane):
    """The agent sees the risks (no compensation) and the three restrictions to read out."""
    d = make_dialog(qtbot, ctx, agent, enrolled_jane)
    risks = d.findChild(QLabel, "risks").text()
    restrictions = d.findChild(QLabel, "restrictions").text()
    assert "will not compensate" in risks
    assert "Pink Sheet" in restrictions and "OTCBB" in restrictions
    assert "withdrawal limits" in restrictions and "IP restriction" in restrictions and "penny-stock" in restrictions
    # The statement states the withdrawal limits of a user without a device, from the settings.
    assert d.findChild(QPlainTextEdit, "statement").toPlainText() == statement(Figures())
    assert statement(Figures()).endswith("USD 50,000 per day, USD 100,000 per 5 business days.")


def test_opt_out_needs_the_acknowledgement_ticked(qtbot, ctx, world, agent, enrolled_jane):
    """Without the acknowledgement ticked the service refuses, said once in the dialog; nothing changes."""
    before = user_snapshot(ctx, enrolled_jane)
    d = make_dialog(qtbot, ctx, agent, enrolled_jane)
    qtbot.mouseClick(d.findChild(QPushButton, "optOutButton"), Qt.MouseButton.LeftButton)
    settle(qtbot, d.desk)
    assert "not acknowledged" in d.last_error and d.refusal.text() == d.last_error and d.isVisible()
    assert user_snapshot(ctx, enrolled_jane) == before


def test_acknowledged_opt_out_records_who_and_when_and_applies_restrictions(qtbot, ctx, world, agent, enrolled_jane):
    """Ticking and pressing Opt out: acknowledgement with staff member and time, restrictions, audit entry."""
    d = make_dialog(qtbot, ctx, agent, enrolled_jane)
    qtbot.mouseClick(d.findChild(QCheckBox, "acknowledged"), Qt.MouseButton.LeftButton)
    qtbot.mouseClick(d.findChild(QPushButton, "optOutButton"), Qt.MouseButton.LeftButton)
    settle(qtbot, d.desk)
    assert d.last_error is None and d.result is not None and not d.isVisible()
    assert d.report == "jsmit001 opted out of the Secure Login System; the opt-out restrictions now apply."
    state, holdings, restrictions, count = user_snapshot(ctx, enrolled_jane)
    assert state is SlsState.opted_out and count == 0 and holdings == []
    assert restrictions == sorted(r.name for r in OPT_OUT_RESTRICTIONS)
    with ctx.db.read() as s:
        ack = s.scalars(select(OptOutAcknowledgement)).one()
        assert (ack.user_id, ack.recorded_by, ack.acknowledged_at, ack.statement) == \
            (enrolled_jane, "hdesk01", ctx.clock.now(), statement(Figures()))
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "user.opted_out")).one()
        assert entry.actor == "hdesk01" and entry.user_id == enrolled_jane


def test_refused_opt_out_is_shown_and_changes_nothing(qtbot, ctx, world, agent):
    """Opting out a user without the rights shows the notice naming the holder; the dialog stays open."""
    before = user_snapshot(ctx, world.secondary_id)
    d = make_dialog(qtbot, ctx, agent, world.secondary_id, "jsmit123", "John Smith")
    qtbot.mouseClick(d.findChild(QCheckBox, "acknowledged"), Qt.MouseButton.LeftButton)
    qtbot.mouseClick(d.findChild(QPushButton, "optOutButton"), Qt.MouseButton.LeftButton)
    settle(qtbot, d.desk)
    assert d.refusal.isVisible() and d.refusal.text() == ("jsmit123 does not hold the security rights of "
                                                          "U1234567. Ask Jane Smith (jsmit001), who does.")
    assert not d.findChildren(QMessageBox)  # said once, in the dialog
    assert d.isVisible() and d.result is None
    assert user_snapshot(ctx, world.secondary_id) == before


def test_cancel_changes_nothing(qtbot, ctx, world, agent, enrolled_jane):
    """Cancel closes the dialog and leaves the user enrolled."""
    before = user_snapshot(ctx, enrolled_jane)
    d = make_dialog(qtbot, ctx, agent, enrolled_jane)
    qtbot.mouseClick(d.findChild(QCheckBox, "acknowledged"), Qt.MouseButton.LeftButton)
    d.reject()
    assert user_snapshot(ctx, enrolled_jane) == before
    with ctx.db.read() as s:
        assert s.get(User, enrolled_jane).sls_state is SlsState.enrolled


def test_opt_out_says_a_waiting_share_was_withdrawn(qtbot, ctx, world, agent):
    """An enrolled user whose share waits for compliance opts out: the report says the request was withdrawn."""
    from console.models.devices import DeviceService
    from console.models.enums import DeviceKind
    from tests.factories import add_same_person_username

    other = add_same_person_username(ctx, world.secondary_id, "jsmit888", "U3333333", (DeviceKind.code_card,))
    code = pyotp.TOTP(world.secondary_seed).at(ctx.clock.now())
    assert DeviceService(ctx).share(agent, world.secondary_device_id, other["user_id"], code) is not None
    d = make_dialog(qtbot, ctx, agent, other["user_id"], "jsmit888", "John Smith")
    qtbot.mouseClick(d.findChild(QCheckBox, "acknowledged"), Qt.MouseButton.LeftButton)
    qtbot.mouseClick(d.findChild(QPushButton, "optOutButton"), Qt.MouseButton.LeftButton)
    settle(qtbot, d.desk)
    assert d.last_error is None and d.result is not None
    assert d.report == ("jsmit888 opted out of the Secure Login System; the opt-out restrictions now apply. "
                        "The request to share a device that waited for compliance was withdrawn.")
