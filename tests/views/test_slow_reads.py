"""Every window reads the database off the GUI thread: with the database slow (a real service whose read waits
until the test lets it go), the window opens and answers meanwhile, says it is reading, and shows the answer
when it lands. A read made on the GUI thread fails these tests at once (tests/views/desks.py slow_reads)."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QPushButton

from console.models.enums import ChargeStatus, DeviceKind, SlsState, StaffRole
from console.views.audit_view import AuditView
from console.views.charges_view import ChargesWindow
from console.views.client_devices import ClientDevicesWindow
from console.views.conventions import first_input
from console.views.device_dialogs import (
    PasscodeDialog,
    ReplacementDialog,
    ReportDialog,
    ShipDialog,
    TemporaryPasscodeDialog,
)
from console.views.devices_view import DevicesWindow
from console.views.main_window import MainWindow
from console.views.opt_out_dialog import OptOutDialog
from console.views.security_settings import SecuritySettingsDialog
from console.views.settings_dialog import SettingsDialog
from console.views.sls_dialogs import PrintedCardDialog, SmsIssueDialog
from console.views.staff_dialog import StaffDialog
from tests.lifecycle import enroll_primary, replaced_card
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


def test_audit_trail_filters_verifies_and_exports_while_the_window_answers(qtbot, desk, monkeypatch, tmp_path):
    release = slow_reads(monkeypatch, desk.services.audit_log, "window", "staff_names", "actions", "verify",
                         "export_csv")
    view = AuditView(desk)
    qtbot.addWidget(view)
    view.show()
    answers_meanwhile(qtbot)
    assert view.model.rowCount() == 0 and view.statusBar().currentMessage() == "Reading the audit trail…"
    release.set()
    settle(qtbot, view.desk)
    shown = view.model.rowCount()
    assert shown > 0 and view.staff_filter.count() > 1
    assert view.statusBar().currentMessage() == f"{shown} entries shown"

    release.clear()
    view.verify_action.trigger()
    answers_meanwhile(qtbot)
    assert view.verify_result.text() == "Chain not verified in this session."
    release.set()
    settle(qtbot, desk)
    assert view.verify_result.text().startswith(f"Audit trail intact: {shown} entries")

    release.clear()
    path = tmp_path / "trail.csv"
    view.export_to(str(path))
    answers_meanwhile(qtbot)
    release.set()
    settle(qtbot, desk)
    assert view.statusBar().currentMessage() == f"Exported {shown} entries to {path}"
    assert len(path.read_text().splitlines()) == shown + 1


def test_users_list_and_its_counts_without_text_are_read_while_the_window_answers(qtbot, desk, monkeypatch):
    release = slow_reads(monkeypatch, desk.services.directory, "first_rows", "window", "counts_by_state")
    window = MainWindow(desk)
    qtbot.addWidget(window)
    window.show()
    answers_meanwhile(qtbot)
    assert window.model.rowCount() == 0 and window.counts_label.text() == "Reading the users…"
    release.set()
    settle(qtbot, desk)
    assert window.model.rowCount() == 4 and "Opted out: 2" in window.counts_label.text()

    release.clear()  # a state filter, no text typed
    window.state_combo.setCurrentIndex(window.state_combo.findData(SlsState.opted_out))
    answers_meanwhile(qtbot)
    assert window.model.rowCount() == 4  # the rows shown stay until the new ones land: no flicker
    release.set()
    settle(qtbot, desk)
    assert window.model.rowCount() == 2 and window.counts_label.text().startswith("2 users shown")


def test_devices_window_counts_and_windows_are_read_while_it_answers(qtbot, desk, world, monkeypatch):
    release = slow_reads(monkeypatch, desk.services.devices, "count", "window", "in_stock_count", "offset_of")
    window = DevicesWindow(desk)
    qtbot.addWidget(window)
    window.show()
    answers_meanwhile(qtbot)
    assert window.model.rowCount() == 0 and window.summary.text() == "Reading the devices…"
    release.set()
    settle(qtbot, desk)
    assert window.model.rowCount() == 2 and window.summary.text() == "2 devices shown   ·   DSC+ in stock: 0"
    assert window.select_device(world.secondary_device_id)  # among the rows read: selected at once

    release.clear()  # a filter: the rows shown stay until the new ones land
    window.kind_combo.setCurrentIndex(window.kind_combo.findData(DeviceKind.dsc_plus))
    answers_meanwhile(qtbot)
    assert window.model.rowCount() == 2 and window.summary.text() == "Reading the devices…"
    release.set()
    settle(qtbot, desk)
    assert window.model.rowCount() == 0 and window.summary.text().startswith("0 devices shown")


def test_charges_window_reads_the_account_its_charges_and_totals_while_it_answers(qtbot, ctx, world, admin,
                                                                                  monkeypatch):
    enroll_primary(ctx, world)
    replaced_card(ctx, admin, world.primary_id, world.account_id, "DSC000000701", "DSC000000702")
    desk = desk_for(ctx, admin)
    release = slow_reads(monkeypatch, desk.services.charges, "count", "window", "totals", "account_id_for")
    window = ChargesWindow(desk, "U1234567")
    qtbot.addWidget(window)
    window.show()
    answers_meanwhile(qtbot)
    assert window.model.rowCount() == 0 and window.totals.text() == "Reading the charges…"
    release.set()
    settle(qtbot, desk)
    assert window.model.rowCount() == 1 and "Pending: 20.00 USD" in window.totals.text()

    release.clear()  # another status: the rows shown stay until the new ones land
    window.status_combo.setCurrentIndex(window.status_combo.findData(ChargeStatus.waived))
    answers_meanwhile(qtbot)
    assert window.model.rowCount() == 1 and window.totals.text() == "Reading the charges…"
    release.set()
    settle(qtbot, desk)
    assert window.model.rowCount() == 0 and window.totals.text().startswith("0 charges shown")


def _reading(qtbot, dialog) -> None:
    """The dialog opened at once and answers; it says it is reading, and neither OK nor Enter acts meanwhile."""
    answers_meanwhile(qtbot)
    assert dialog.reading.isVisible() and not dialog.ok_button.isEnabled()
    assert dialog.windowTitle().endswith(" — reading…")
    dialog.try_submit()  # Enter or Ctrl+Enter: nothing is submitted before the form is there


def _read(qtbot, desk, dialog) -> None:
    """The answer landed: OK works and the keyboard is in the first input."""
    settle(qtbot, desk)
    assert not dialog.reading.isVisible() and dialog.ok_button.isEnabled() and not dialog.refusal.isVisible()
    assert "reading" not in dialog.windowTitle()
    first = first_input(dialog)
    if first is not None:  # a dialog with nothing to fill in (the printed card: OK issues it) has none
        qtbot.waitUntil(lambda: dialog.focusWidget() is first, timeout=2000)


def test_report_dialog_reads_the_device_and_its_holders_while_it_answers(qtbot, desk, world, monkeypatch):
    release = slow_reads(monkeypatch, desk.services.devices, "get", "holders")
    dialog = ReportDialog(desk, world.secondary_device_id, "IB Key", world.secondary_id)
    qtbot.addWidget(dialog)
    dialog.show()
    _reading(qtbot, dialog)
    assert dialog.user.count() == 0 and not dialog.reason.isEnabled()
    release.set()
    _read(qtbot, desk, dialog)
    assert dialog.user.currentText() == "jsmit123" and dialog.version is not None


def test_replacement_dialog_reads_the_holders_and_the_fee_while_it_answers(qtbot, ctx, world, admin, monkeypatch):
    enroll_primary(ctx, world)
    card = replaced_card(ctx, admin, world.primary_id, world.account_id, "DSC000000701", "DSC000000702")
    desk = desk_for(ctx, admin)
    release = slow_reads(monkeypatch, desk.services.devices, "get", "holders", "replacement_fee")
    dialog = ReplacementDialog(desk, card, "DSC000000702")
    qtbot.addWidget(dialog)
    dialog.show()
    _reading(qtbot, dialog)
    assert dialog.user.count() == 0 and dialog.fee_note == ""
    release.set()
    _read(qtbot, desk, dialog)
    assert dialog.user.currentText() == "jsmit001" and dialog.fee_note in dialog.intro.text()
    assert dialog.fee_note.startswith(("No fee", "The replacement fee is charged to account U1234567"))


def test_temporary_passcode_dialog_reads_the_user_and_the_rule_while_it_answers(qtbot, desk, world, monkeypatch):
    release = slow_reads(monkeypatch, desk.services.temporary_access, "can_issue")
    release_user = slow_reads(monkeypatch, desk.services.directory, "details")
    dialog = TemporaryPasscodeDialog(desk, world.secondary_id, "jsmit123")
    qtbot.addWidget(dialog)
    dialog.show()
    _reading(qtbot, dialog)
    assert dialog.version is None
    release_user.set()
    release.set()
    _read(qtbot, desk, dialog)
    assert dialog.version is not None


def test_ship_dialog_looks_the_username_up_while_it_answers(qtbot, desk, world, monkeypatch):
    release = slow_reads(monkeypatch, desk.services.directory, "find_by_username")
    device = desk.services.devices.receive_stock(desk.actor, "DSC000000801")[0]
    dialog = ShipDialog(desk, device, "DSC000000801")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.username, "nobody999")
    dialog.try_submit()
    answers_meanwhile(qtbot)
    release.set()
    settle(qtbot, desk)
    assert "There is no username nobody999" in dialog.refusal.text()


def test_the_rights_notice_finds_the_holder_while_the_window_answers(qtbot, desk, world, monkeypatch):
    window = MainWindow(desk)
    qtbot.addWidget(window)
    window.show()
    settle(qtbot, desk)
    release = slow_reads(monkeypatch, desk.services.directory, "find_by_username")
    window.open_user("jsmit001")  # the notice's "Open jsmit001"
    answers_meanwhile(qtbot)
    assert window.statusBar().currentMessage() == "Finding jsmit001…" and window.security_dialog is None
    release.set()
    qtbot.waitUntil(lambda: window.security_dialog is not None, timeout=5000)
    settle(qtbot, desk)
    assert window.current_user_id() == world.primary_id and window.security_dialog.isVisible()


def test_opt_out_dialog_reads_its_texts_while_it_answers(qtbot, desk, world, monkeypatch):
    release = slow_reads(monkeypatch, desk.services.enrollment, "opt_out_explanations", "opt_out_statement")
    dialog = OptOutDialog(desk, world.primary_id, "jsmit001", "Jane Smith")
    qtbot.addWidget(dialog)
    dialog.show()
    answers_meanwhile(qtbot)
    assert dialog.windowTitle().endswith(" — reading…") and dialog.statement.toPlainText() == "Reading…"
    assert not dialog.opt_out_button.isEnabled() and not dialog.acknowledged.isEnabled()
    dialog.opt_out()  # Ctrl+Enter meanwhile: nothing is sent
    release.set()
    settle(qtbot, desk)
    assert dialog.windowTitle() == "Opt jsmit001 out of the Secure Login System" and dialog.result is None
    assert "USD 50,000 per day" in dialog.statement.toPlainText() and "USD 50,000 per day" in dialog.restrictions.text()
    assert dialog.opt_out_button.isEnabled() and dialog.focusWidget() is dialog.acknowledged


def test_sms_and_printed_card_dialogs_read_their_figures_while_they_answer(qtbot, desk, world, monkeypatch):
    release = slow_reads(monkeypatch, desk.services.settings, "figures")
    sms = SmsIssueDialog(desk, world.secondary_id, "jsmit123")
    card = PrintedCardDialog(desk, world.primary_id, "jsmit001")
    for dialog in (sms, card):
        qtbot.addWidget(dialog)
        dialog.show()
        _reading(qtbot, dialog)
    assert "minutes" not in sms.intro.text() and "within the activation window" in card.intro.text()
    release.set()
    for dialog in (sms, card):
        _read(qtbot, desk, dialog)
    assert sms.intro.text().endswith("A new code can be sent every 2 minutes.")
    assert "within 14 days" in card.intro.text() and not card.save_button.isEnabled()


def test_passcode_letter_reads_the_user_while_the_passcode_is_shown(qtbot, desk, world, monkeypatch):
    issued = desk.services.temporary_access.issue_temporary_passcode(desk.actor, world.secondary_id,
                                                                     identity_verified=True)
    release = slow_reads(monkeypatch, desk.services.directory, "details")
    dialog = PasscodeDialog(desk, issued)
    qtbot.addWidget(dialog)
    dialog.show()
    answers_meanwhile(qtbot)
    assert dialog.code_label.text() and dialog.letter.letter is None
    assert not dialog.findChild(QPushButton, "saveLetterPdf").isEnabled()
    release.set()
    settle(qtbot, desk)
    assert dialog.letter.letter.full_name == "John Smith"
    assert dialog.findChild(QPushButton, "saveLetterPdf").isEnabled() and dialog.letter.pdf_action.isEnabled()


def test_help_opens_at_once_and_quotes_the_figures_as_set_when_read(qtbot, desk, monkeypatch):
    desk.services.settings.update(desk.actor, "online_card_validity_days", 30)
    window = MainWindow(desk)
    qtbot.addWidget(window)
    window.show()
    settle(qtbot, desk)
    release = slow_reads(monkeypatch, desk.services.settings, "figures")
    browser = window.back_office.open_help("security-devices")
    answers_meanwhile(qtbot)
    assert browser.isVisible() and browser.browser.toPlainText() == "Reading the figures as set…"
    release.set()
    settle(qtbot, desk)
    assert browser.current_key == "security-devices" and "valid 30 days" in browser.browser.toPlainText()


def test_client_devices_window_reads_the_devices_and_the_code_while_it_answers(qtbot, ctx, world, staff_service,
                                                                              monkeypatch):
    import pyotp

    from console.models.demo_staff import create_demo_staff
    from console.models.enrollment import EnrollmentService

    if not ctx.db.is_sqlite:
        pytest.skip("the training window is SQLite's: the PostgreSQL vault hands no seed to a desk")
    create_demo_staff(staff_service)  # a demo database: the training window works
    agent = signed_in(ctx, "helpdesk", "Harriet Desk", StaffRole.help_desk)
    start = EnrollmentService(ctx).start_ib_key(agent, world.primary_id)
    desk = desk_for(ctx, agent)
    release = slow_reads(monkeypatch, desk.services.training, "devices_of", "ib_key_code")
    window = ClientDevicesWindow(desk, "jsmit001")
    qtbot.addWidget(window)
    window.show()
    answers_meanwhile(qtbot)
    assert window.message.text() == "Reading the client's devices…" and window.table.rowCount() == 0
    release.set()
    settle(qtbot, desk)
    assert window.table.rowCount() == 1 and not window.message.text()
    expected = pyotp.parse_uri(start.provisioning_uri).at(ctx.clock.now())
    assert window.reading.text().startswith(f"IB Key app shows: {expected}")


def test_main_window_opens_at_once_and_offers_the_training_window_when_the_database_answers(
        qtbot, ctx, world, staff_service, monkeypatch):
    """Whether the training window is offered (a demo database) is asked off the GUI thread: the main window
    opens and answers meanwhile without the action, which appears in Tools when the answer lands; once the
    database holds a firm's staff it is not offered."""
    from console.models.demo_staff import create_demo_staff

    create_demo_staff(staff_service)  # a demo database: the training window works
    desk = desk_for(ctx, signed_in(ctx, "helpdesk", "Harriet Desk", StaffRole.help_desk))
    release = slow_reads(monkeypatch, desk.services.training, "available")
    window = MainWindow(desk)
    qtbot.addWidget(window)
    window.show()
    answers_meanwhile(qtbot)
    assert not window.client_devices_action.isVisible()
    release.set()
    settle(qtbot, desk)
    assert window.client_devices_action.isVisible() and window.client_devices_action in window.tools_menu.actions()
    window.client_devices_action.trigger()
    settle(qtbot, desk)
    assert window.client_devices is not None and window.client_devices.isVisible()

    firm = desk_for(ctx, signed_in(ctx, "hdesk01", "Hank Desk", StaffRole.help_desk))  # not one of the demo staff
    plain = MainWindow(firm)
    qtbot.addWidget(plain)
    settle(qtbot, firm)
    assert not plain.client_devices_action.isVisible()
