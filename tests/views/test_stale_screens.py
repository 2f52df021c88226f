"""Windows carry what the agent was shown into each decision, and show another desk's changes as they happen.

Desk B is the same database written through the services by another staff member (Bob Office); the change
watcher's path from another process to the bus is tested in test_live_desks.py, so here B's change reaches
this desk's bus as the watcher would publish it (Origin.other_desk, kinds only)."""

from __future__ import annotations

from sqlalchemy import select

from console.models.charges import ChargeService
from console.models.entities import Charge
from console.models.enums import ChargeStatus, StaffRole
from console.models.settings_service import SettingsService
from console.models.staff import StaffService
from console.views.change_bus import ChangeKind, Changes, Origin
from tests.lifecycle import enroll_primary, replaced_card
from tests.sessions import signed_in
from tests.views.desks import desk_for, settle, submit


def bob(ctx):
    return signed_in(ctx, "boff02", "Bob Office", StaffRole.administrator)


def heard_from_another_desk(desk, kind: ChangeKind) -> None:
    desk.bus.publish(Changes(Changes.of(kinds=[kind]).items, Origin.other_desk))


def test_waiver_on_a_stale_screen_is_refused_naming_the_change_and_the_list_refreshes(qtbot, ctx, world, admin):
    """The agent opened the waiver of a pending charge; another desk marked it billed. Waive is refused with what
    changed, who and when; the charge stays billed; the charges list shows it billed."""
    from console.views.charges_view import ChargesWindow
    from console.views.device_dialogs import WaiveDialog

    enroll_primary(ctx, world)
    card = replaced_card(ctx, admin, world.primary_id, world.account_id, "DSC000000901", "DSC000000902")
    with ctx.db.read() as s:
        charge_id = s.scalar(select(Charge.id).where(Charge.device_id == card))
    desk = desk_for(ctx, admin)
    window = ChargesWindow(desk)
    qtbot.addWidget(window)
    settle(qtbot, desk)
    [row] = [r for r in ChargeService(ctx).for_account(world.account_id) if r.id == charge_id]
    dialog = WaiveDialog(desk, row, window)
    qtbot.addWidget(dialog)
    dialog.show()
    ChargeService(ctx).mark_billed(bob(ctx), [charge_id])  # desk B
    qtbot.keyClicks(dialog.reason, "card lost by our courier")
    submit(qtbot, dialog)
    assert dialog.isVisible() and dialog.refusal.isVisible()
    text = dialog.refusal.text()
    assert "Another desk changed the charge of 20.00 USD on U1234567" in text and "billed (by Bob Office at" in text
    with ctx.db.read() as s:
        assert s.get(Charge, charge_id).status is ChargeStatus.billed
    settle(qtbot, desk)
    rows = [window.model.row_at(i) for i in range(window.model.rowCount())]
    assert any(r.id == charge_id and r.status is ChargeStatus.billed for r in rows)
    dialog.grab().save("/tmp/sls-stale-waive.png")


def test_staff_list_shows_another_desks_change_and_refuses_a_stale_decision(qtbot, ctx, admin):
    """Another desk deactivates hdesk02: the open staff window shows it without Refresh. A reset decided on the
    row shown before that is refused, naming the deactivation, and the list is read again."""
    from console.views.staff_dialog import StaffDialog

    signed_in(ctx, "hdesk02", "Hank Desk", StaffRole.help_desk)
    desk = desk_for(ctx, admin)
    dialog = StaffDialog(desk)
    qtbot.addWidget(dialog)
    dialog.show()
    settle(qtbot, desk)  # the staff are read off the GUI thread
    assert dialog.select("hdesk02")
    stale = dialog.shown["hdesk02"]
    StaffService(ctx).deactivate(bob(ctx), "hdesk02", shown=stale)  # desk B
    heard_from_another_desk(desk, ChangeKind.staff)
    qtbot.waitUntil(lambda: not dialog.shown["hdesk02"].active, timeout=5_000)
    row = next(r for r in range(dialog.table.rowCount()) if dialog.table.item(r, 0).text() == "hdesk02")
    assert dialog.table.item(row, 3).text() == "no" and dialog.selected_username() == "hdesk02"
    dialog.shown["hdesk02"] = stale  # the screen still showed the member active when the agent decided
    dialog.reset_selected()
    settle(qtbot, desk)
    assert dialog.last_message.objectName() == "concurrentChange"
    assert "Another desk changed hdesk02" in dialog.last_message.text()
    assert "deactivated" in dialog.last_message.text() and "by Bob Office at" in dialog.last_message.text()
    assert not dialog.shown["hdesk02"].active  # read again: the agent decides on what is true now


def test_settings_dialog_shows_another_desks_change_live_and_says_whose_entry_gave_way(qtbot, ctx, admin):
    """The dialog is open; another desk stores 30 days for the online card and 40 for returns. Both fields show
    the new values at once with a note saying who changed what; the agent's own entry in the returns field
    gave way and the note says so; the agent's entry in an untouched field is kept."""
    from console.views.settings_dialog import SettingsDialog

    desk = desk_for(ctx, admin)
    dialog = SettingsDialog(desk)
    qtbot.addWidget(dialog)
    dialog.show()
    settle(qtbot, desk)  # the figures are read off the GUI thread
    dialog.set_value("return_due_days", 45)
    dialog.set_value("lockout_failures", 7)
    b = bob(ctx)
    SettingsService(ctx).update(b, "online_card_validity_days", 30)  # desk B
    SettingsService(ctx).update(b, "return_due_days", 40)
    heard_from_another_desk(desk, ChangeKind.settings)
    qtbot.waitUntil(dialog.note.isVisible, timeout=5_000)
    entered = dialog.entered()
    assert (entered["online_card_validity_days"], entered["return_due_days"], entered["lockout_failures"]) == (
        30, 40, 7)
    note = dialog.note.text()
    assert "Online Security Code Card validity: 21 days → 30 days (by boff02 at" in note
    assert "Device return due after replacement: 30 days → 40 days" in note
    assert "your entry 45 days was replaced" in note
    dialog.grab().save("/tmp/sls-settings-live.png")
    dialog.save()  # the agent's remaining change (lockout) is saved over the current values, not refused
    settle(qtbot, desk)
    figures = SettingsService(ctx).figures()
    assert (figures.lockout_failures, figures.return_due_days, figures.online_card_validity_days) == (7, 40, 30)


def test_sms_code_sent_now_on_a_stale_screen_is_refused_naming_the_change_and_the_pane_refreshes(
        qtbot, ctx, world, agent):
    """The detail pane showed jsmit123's SMS active; another desk ended it. "Send SMS code now" is refused with
    what changed, who and when; nothing is texted; the pane is read again, shows the SMS ended and no longer
    offers to text it, so the agent decides on what is true now."""
    from console.models.enums import DeviceState
    from console.models.sms import SmsService
    from console.views.main_window import MainWindow
    from tests.sls_helpers import lose_only_device

    lose_only_device(ctx, agent, world)
    desk = desk_for(ctx, agent)
    issued = SmsService(ctx, desk.services.sms.gateway).issue(agent, world.secondary_id, "+41 79 123 45 67",
                                                              identity_verified=True)
    window = MainWindow(desk)
    qtbot.addWidget(window)
    window.show()
    settle(qtbot, desk)
    window.select_user(world.secondary_id)
    settle(qtbot, desk)
    assert window.detail.select_device(issued.device_id)
    acts = window.sls_actions
    assert acts.sms_send.isEnabled()
    SmsService(ctx, desk.services.sms.gateway).end(bob(ctx), issued.device_id, "client found the phone")  # desk B
    acts.sms_send.trigger()
    settle(qtbot, desk)
    box = acts.last_message
    assert box is not None and box.objectName() == "concurrentChange" and box.isVisible()
    text = box.text()
    assert "Another desk changed SMS to +41…567" in text and "(by Bob Office at" in text
    assert desk.services.sms.gateway.sent == []
    window.grab().save("/tmp/sls-stale-sms-send.png")
    box.grab().save("/tmp/sls-stale-sms-send-box.png")
    box.accept()
    settle(qtbot, desk)
    device = window.detail.selected_device()
    assert device is not None and device.id == issued.device_id and device.state is not DeviceState.active
    assert not acts.sms_send.isEnabled() and not acts.sms_end.isEnabled()
