"""The detail pane's withdrawal limits, SMS, printed Security Code Cards and the compliance queue, driven from the
main window as help desk, back office and compliance would."""

import pyotp
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QToolButton
from sqlalchemy import select

from console.models.enrollment import EnrollmentService
from console.models.entities import SecurityDevice, SharingRequest, User
from console.models.enums import DeviceKind, DeviceState, SharingRequestState, SlsState
from console.models.opt_out_terms import RISKS  # noqa: F401  (the dialog's text is checked below)
from console.views.main_window import MainWindow
from console.views.opt_in_wizard import OptInWizard
from console.views.opt_out_dialog import OptOutDialog
from console.views.wizard_parts import PAGE_DONE
from tests.factories import add_same_person_username
from tests.sls_helpers import lose_only_device, opt_in_by_ib_key
from tests.views.desks import desk_for, settle, submit


def window_for(qtbot, ctx, actor):
    desk = desk_for(ctx, actor)
    w = MainWindow(desk)
    qtbot.addWidget(w)
    w.show()
    settle(qtbot, w.desk)  # the list is read off the GUI thread
    return w


def device_of(ctx, user_id, kind):
    with ctx.db.read() as s:
        from console.models.entities import DeviceHolding

        d = s.scalars(select(SecurityDevice).join(DeviceHolding).where(DeviceHolding.user_id == user_id,
                                                                        SecurityDevice.kind == kind)
                      .order_by(SecurityDevice.id.desc())).first()
        s.expunge(d)
        return d


def state_of(ctx, user_id):
    with ctx.db.read() as s:
        return s.get(User, user_id).sls_state


def test_detail_pane_shows_limits_per_device(qtbot, ctx, world, agent):
    """Opted out: the lowest row, no device; enrolled with an IB Key: that device's limit."""
    main = window_for(qtbot, ctx, agent)
    main.select_user(world.primary_id)
    settle(qtbot, main.desk)  # the detail pane reads the user off the GUI thread
    text = main.detail.fields["limits"].text()
    assert text == "USD 50,000 / day · USD 100,000 / 5 business days (no security device)"
    main.select_user(world.secondary_id)
    settle(qtbot, main.desk)  # the detail pane reads the user off the GUI thread
    assert main.detail.fields["limits"].text() == "IB Key: USD 1,000,000 / day · USD 1,000,000 / 5 business days"


def test_sms_issued_code_sent_then_ended(qtbot, ctx, world, agent):
    """After a loss the agent sets up SMS, texts a code (a second one too soon is refused), then ends it."""
    lose_only_device(ctx, agent, world)
    main = window_for(qtbot, ctx, agent)
    main.select_user(world.secondary_id)
    settle(qtbot, main.desk)  # the detail pane reads the user off the GUI thread
    acts = main.sls_actions
    assert acts.sms_issue.isEnabled() and not acts.sms_send.isEnabled()
    acts.sms_issue.trigger()
    dialog = acts.dialog
    settle(qtbot, main.desk)  # the dialog reads the figure off the GUI thread
    qtbot.keyClicks(dialog.phone, "+41 79 123 45 67")
    submit(qtbot, dialog)
    assert "identity has been verified" in dialog.refusal.text() and dialog.isVisible()
    dialog.identity.setChecked(True)
    submit(qtbot, dialog)
    assert not dialog.isVisible() and "SMS to +41…567 set up for jsmit123" in main.property("lastReport")
    sms = device_of(ctx, world.secondary_id, DeviceKind.sms)
    assert sms.state is DeviceState.active
    assert main.detail.fields["limits"].text().splitlines() == [
        "Best: USD 200,000 / day · USD 600,000 / 5 business days (with its most protective device)",
        "Temporary passcode: USD 50,000 / day · USD 100,000 / 5 business days",
        "SMS +41…567: USD 200,000 / day · USD 600,000 / 5 business days"]
    assert main.detail.select_device(sms.id)
    assert acts.sms_send.isEnabled() and acts.sms_end.isEnabled()
    acts.sms_send.trigger()
    settle(qtbot, main.desk)
    assert main.property("lastReport").startswith("Code texted to +41…567")
    assert main.services.sms.gateway.last_code("+41791234567")
    acts.sms_send.trigger()
    settle(qtbot, main.desk)
    assert "every 2 minutes" in acts.last_message.text()
    acts.last_message.accept()
    acts.sms_end.trigger()
    end = acts.dialog
    qtbot.keyClicks(end.reason, "IB Key phone found")
    submit(qtbot, end)
    assert device_of(ctx, world.secondary_id, DeviceKind.sms).state is DeviceState.revoked


def test_sms_actions_hidden_from_back_office(qtbot, ctx, world, back_office):
    main = window_for(qtbot, ctx, back_office)
    assert not main.sls_actions.sms_issue.isVisible() and main.sls_actions.card_issue.isVisible()


def test_printed_card_mailed_then_activated(qtbot, ctx, world, agent, tmp_path):
    """jsmit001 (opted out) is mailed a card: values shown once and saved as PDF; reading back two values
    activates it and enrolls the user."""
    main = window_for(qtbot, ctx, agent)
    main.select_user(world.primary_id)
    settle(qtbot, main.desk)  # the detail pane reads the user off the GUI thread
    acts = main.sls_actions
    acts.card_issue.trigger()
    dialog = acts.dialog
    settle(qtbot, main.desk)  # the dialog reads the figure off the GUI thread
    submit(qtbot, dialog)
    assert dialog.isVisible() and dialog.card is not None and dialog.ok_button.text() == "Done"
    assert dialog.values.toPlainText().startswith("  1 ")
    pdf = dialog.save_pdf(str(tmp_path / "card.pdf"))
    assert open(pdf, "rb").read(5) == b"%PDF-"
    values = dialog.card.values
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible() and "mailed to jsmit001" in main.property("lastReport")
    settle(qtbot, main.desk)
    card = device_of(ctx, world.primary_id, DeviceKind.code_card)
    assert card.state is DeviceState.shipped
    assert main.detail.select_device(card.id) and acts.card_activate.isEnabled()
    acts.card_activate.trigger()
    activate = acts.dialog
    settle(qtbot, main.desk)
    a, b = activate.challenge.positions
    qtbot.keyClicks(activate.answer, values[a] + values[b])
    submit(qtbot, activate)
    assert not activate.isVisible()
    assert state_of(ctx, world.primary_id) is SlsState.enrolled


def _request(ctx, world, agent):
    twin = add_same_person_username(ctx, world.primary_id, "jsmit777", "U2222222")
    device_id, _, seed = twin["devices"][0]
    svc = EnrollmentService(ctx)
    svc.start_shared(agent, world.primary_id, "jsmit777")
    return svc.confirm(agent, world.primary_id, device_id, pyotp.TOTP(seed).at(ctx.clock.now()))


@pytest.mark.parametrize("approve", [True, False])
def test_compliance_decides_from_the_queue(qtbot, ctx, world, agent, compliance, approve):
    """The reviewer opens the queue, sees the request, is refused a blank reason, then decides with one."""
    result = _request(ctx, world, agent)
    main = window_for(qtbot, ctx, compliance)
    assert main.sls_actions.open_queue.isVisible() and not main.sls_actions.card_issue.isVisible()
    queue = main.sls_actions.show_queue()
    settle(qtbot, main.desk)
    assert queue.table.rowCount() == 1 and queue.table.item(0, 1).text() == "jsmit001"
    assert queue.approve_action.isEnabled()
    dialog = queue.decide(approve)
    submit(qtbot, dialog)
    assert "Give the reason" in dialog.refusal.text()
    qtbot.keyClicks(dialog.reason, "Passport number and date of birth match")
    submit(qtbot, dialog)
    assert not dialog.isVisible()
    settle(qtbot, main.desk)
    assert queue.table.rowCount() == 0 and "No sharing request" in queue.count_label.text()
    with ctx.db.read() as s:
        req = s.get(SharingRequest, result.request_id)
        assert req.state is (SharingRequestState.approved if approve else SharingRequestState.rejected)
    assert state_of(ctx, world.primary_id) is (SlsState.enrolled if approve else SlsState.opted_out)


def test_help_desk_sees_the_queue_but_cannot_decide(qtbot, ctx, world, agent):
    _request(ctx, world, agent)
    main = window_for(qtbot, ctx, agent)
    queue = main.sls_actions.show_queue()
    settle(qtbot, main.desk)
    assert queue.table.rowCount() == 1
    assert not queue.approve_action.isVisible() and not queue.reject_action.isVisible()


def test_wizard_says_the_share_waits_for_compliance(qtbot, ctx, world, agent):
    """With the review on, a good code from another entity's IB Key ends the wizard on the waiting page."""
    twin = add_same_person_username(ctx, world.primary_id, "jsmit777", "U2222222")
    device_id, _, seed = twin["devices"][0]
    w = OptInWizard(desk_for(ctx, agent), world.primary_id, "jsmit001")
    qtbot.addWidget(w)
    w.show()
    from tests.views.test_opt_in_wizard import answer, choose, click, next_

    choose(qtbot, w, "shared")
    w.findChild(QLineEdit, "otherUsername").clear()  # the page lists and picks the person's other username
    qtbot.keyClicks(w.findChild(QLineEdit, "otherUsername"), "jsmit777")
    click(qtbot, w.findChild(QToolButton, "findDevices"))
    assert w.findChild(QComboBox, "sharedDevice").currentData() == device_id
    next_(qtbot, w)
    answer(qtbot, w, pyotp.TOTP(seed).at(ctx.clock.now()))
    assert w.currentId() == PAGE_DONE and w.currentPage().title() == "Waiting for compliance approval"
    assert "stays pending" in w.findChild(QLabel, "doneSummary").text()
    assert state_of(ctx, world.primary_id) is SlsState.pending


def test_opt_out_dialog_states_the_limits(qtbot, ctx, world, agent):
    """The statement the client acknowledges names the withdrawal limits that will apply."""
    opt_in_by_ib_key(ctx, agent, world.primary_id)
    dialog = OptOutDialog(desk_for(ctx, agent), world.primary_id, "jsmit001", "Jane Smith")
    qtbot.addWidget(dialog)
    settle(qtbot, dialog.desk)  # the texts are read off the GUI thread
    assert "USD 50,000 per day, USD 100,000 per 5 business days" in dialog.statement.toPlainText()
    assert "USD 50,000 per day" in dialog.findChild(QLabel, "restrictions").text()


def test_share_from_the_devices_menu_says_it_waits(qtbot, ctx, world, admin):
    """Sharing jsmit123's IB Key with another entity's username: the code is accepted, the report says the share
    waits for compliance, and nothing is shared yet."""
    from console.models.entities import DeviceHolding

    twin = add_same_person_username(ctx, world.secondary_id, "jsmit777", "U2222222", (DeviceKind.code_card,))
    main = window_for(qtbot, ctx, admin)
    main.select_user(world.secondary_id)
    settle(qtbot, main.desk)  # the detail pane reads the user off the GUI thread
    acts = main.device_actions
    acts.select_device(world.secondary_device_id)
    acts.share.trigger()
    dialog = acts.dialog
    settle(qtbot, main.desk)
    qtbot.keyClicks(dialog.username, "jsmit777")
    qtbot.keyClicks(dialog.answer, pyotp.TOTP(world.secondary_seed).at(ctx.clock.now()))
    submit(qtbot, dialog)
    assert not dialog.isVisible() and "waits for compliance approval" in main.property("lastReport")
    with ctx.db.read() as s:
        assert twin["user_id"] not in set(s.scalars(select(DeviceHolding.user_id).where(
            DeviceHolding.device_id == world.secondary_device_id)))
        assert s.scalar(select(SharingRequest.state)) is SharingRequestState.pending


def test_a_sharing_row_of_the_work_list_opens_the_queue_at_that_request(qtbot, ctx, world, agent, admin):
    """Enter on a work-list row of a waiting share opens the compliance queue with that request selected (not
    the user), ready to approve or reject."""
    from console.models.work_list import WorkItem

    _request(ctx, world, agent)
    second = add_same_person_username(ctx, world.org_holder_id, "bbake777", "U3333333")
    svc = EnrollmentService(ctx)
    svc.start_shared(agent, world.org_holder_id, "bbake777")
    device_id, _, seed = second["devices"][0]
    ctx.clock.advance(minutes=5)
    request_id = svc.confirm(agent, world.org_holder_id, device_id, pyotp.TOTP(seed).at(ctx.clock.now())).request_id
    main = window_for(qtbot, ctx, admin)
    main.insight.open_work_list()
    work = main.insight.work_list
    settle(qtbot, main.desk)
    assert work.select_item(lambda item: isinstance(item, WorkItem) and item.username == "bbake001")
    qtbot.keyClick(work.tree, Qt.Key.Key_Return)
    settle(qtbot, main.desk)
    queue = main.sls_actions.queue_window
    assert queue is not None and queue.isVisible()
    assert queue.current_request().id == request_id and queue.current_request().username == "bbake001"
    assert queue.approve_action.isEnabled() and queue.table.rowCount() == 2
    queue.grab().save("/tmp/sls-queue-from-work-list.png")
