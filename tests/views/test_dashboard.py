"""The dashboard, staff activity, work list and monthly report screens, checked against the database."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess

import pytest
from PySide6.QtCharts import QBarCategoryAxis, QBarSeries, QHorizontalStackedBarSeries, QPieSeries
from PySide6.QtGui import QAction
from sqlalchemy import func, select

from console.models import demo
from console.models.activity_counts import path_of
from console.models.entities import AuditEntry, Charge, SecurityDevice, User
from console.models.enums import ChargeStatus, DeviceKind, DeviceState, SlsState
from console.models.insight import kind_short
from console.models.settings import Figures
from console.views.main_window import MainWindow
from tests.factories import add_device
from tests.views.desks import desk_for, settle


@pytest.fixture
def demo_ctx(ctx):
    demo.generate(ctx, Figures(), 400, seed=11)
    return ctx


def main_window(qtbot, ctx, actor) -> MainWindow:
    w = MainWindow(desk_for(ctx, actor))
    qtbot.addWidget(w)
    w.show()
    settle(qtbot, w.desk)
    return w


def trigger(qtbot, w: MainWindow, name: str) -> None:
    """Trigger an action of the main window and wait until what it asked for has been read and shown."""
    w.findChild(QAction, name).trigger()
    settle(qtbot, w.desk)


def open_dashboard(qtbot, ctx, actor):
    w = main_window(qtbot, ctx, actor)
    trigger(qtbot, w, "openDashboard")
    return w, w.insight.dashboard


def chart_values(card) -> dict[tuple[str, str], float]:
    """What the chart itself draws: (series or slice, category) → value."""
    series = card.view.chart().series()[0]
    if isinstance(series, QPieSeries):
        return {(p.label().rsplit(" ", 1)[0], ""): p.value() for p in series.slices()}
    categories = next(a for a in card.view.chart().axes() if isinstance(a, QBarCategoryAxis)).categories()
    return {(b.label(), categories[i]): b.at(i) for b in series.barSets() for i in range(b.count())}


def test_state_pie_and_device_bars_match_direct_queries(qtbot, demo_ctx, admin):
    """The states pie and the devices bars draw exactly the counts a GROUP BY over users and devices gives."""
    _, d = open_dashboard(qtbot, demo_ctx, admin)
    pie = chart_values(d.cards["states"])
    bars = chart_values(d.cards["devices"])
    assert isinstance(d.cards["devices"].view.chart().series()[0], QHorizontalStackedBarSeries)
    with demo_ctx.db.read() as s:
        for state in SlsState:
            n = s.scalar(select(func.count()).select_from(User).where(User.sls_state == state))
            assert pie[state.label, ""] == n
        for kind, state, n in s.execute(select(SecurityDevice.kind, SecurityDevice.state, func.count())
                                        .group_by(SecurityDevice.kind, SecurityDevice.state)):
            assert bars[kind_short(kind), state.label] == n


def test_enrollment_charges_and_returns_match_direct_queries(qtbot, demo_ctx, admin):
    """Opt-ins per path and week, charges per month and overdue returns equal what the rows say."""
    _, d = open_dashboard(qtbot, demo_ctx, admin)
    since, until = d.period()
    now = demo_ctx.clock.now()
    with demo_ctx.db.read() as s:
        entries = [(at, action, json.loads(details)) for at, action, details in s.execute(
            select(AuditEntry.at, AuditEntry.action, AuditEntry.details)
            .where(AuditEntry.action.in_(("user.enrolled", "user.opted_out"))))
            if since <= at.date() <= until]
        charged = sum(c.amount_cents for c in s.scalars(select(Charge))
                      if since.replace(day=1) <= c.created_at.date() <= until)
        waived = sum(c.amount_cents for c in s.scalars(select(Charge).where(Charge.status == ChargeStatus.waived))
                     if since.replace(day=1) <= c.waived_at.date() <= until)
        overdue = s.scalar(select(func.count()).select_from(SecurityDevice).where(
            SecurityDevice.state == DeviceState.return_pending, SecurityDevice.return_due_at < now))
    enrollment = chart_values(d.cards["enrollment"])
    ib_key = sum(1 for _, action, details in entries if path_of(action, details) == "ib_key")
    assert ib_key > 0
    assert sum(v for (name, _), v in enrollment.items() if name == "IB Key") == ib_key
    assert sum(v for (name, _), v in enrollment.items() if name == "Opt-out") == \
        sum(1 for _, action, _ in entries if action == "user.opted_out")
    money = chart_values(d.cards["charges"])
    assert isinstance(d.cards["charges"].view.chart().series()[0], QBarSeries)
    assert round(sum(v for (name, _), v in money.items() if name == "Charged") * 100) == charged
    assert round(sum(v for (name, _), v in money.items() if name == "Waived") * 100) == waived
    assert chart_values(d.cards["returns"])["Devices expected back", "Overdue"] == overdue


def test_numbers_are_one_click_away(qtbot, demo_ctx, admin):
    """The Numbers button swaps a chart for its table, whose rows carry the same figures."""
    _, d = open_dashboard(qtbot, demo_ctx, admin)
    card = d.cards["states"]
    card.numbers_button.click()
    assert card.stack.currentWidget() is card.table
    rows = {category: value for _, category, value in card.table_rows()}
    with demo_ctx.db.read() as s:
        enrolled = s.scalar(select(func.count()).select_from(User).where(User.sls_state == SlsState.enrolled))
        total = s.scalar(select(func.count()).select_from(User))
    assert rows["Enrolled"] == f"{enrolled:,} ({enrolled / total:.1%})"
    card.numbers_button.click()
    assert card.stack.currentWidget() is card.view


def test_clicking_a_slice_opens_the_users_of_that_state(qtbot, demo_ctx, admin):
    """A click on the 'Opted out' slice filters the users list to opted-out users."""
    w, d = open_dashboard(qtbot, demo_ctx, admin)
    pie = d.cards["states"].view.chart().series()[0]
    pie.slices()[list(SlsState).index(SlsState.opted_out)].clicked.emit()
    settle(qtbot, w.desk)
    assert w.state_combo.currentData() is SlsState.opted_out
    qtbot.waitUntil(lambda: not w.model.loading)
    with demo_ctx.db.read() as s:
        n = s.scalar(select(func.count()).select_from(User).where(User.sls_state == SlsState.opted_out))
    assert w.model.rowCount() == n


def test_clicking_a_device_bar_opens_the_devices_of_that_kind_and_state(qtbot, demo_ctx, admin):
    """A click on the DSC+ 'Shipped' bar opens the devices window filtered to shipped DSC+ cards."""
    w, d = open_dashboard(qtbot, demo_ctx, admin)
    card = d.cards["devices"]
    bar_set = next(b for b in card.view.chart().series()[0].barSets() if b.label() == "DSC+")
    bar_set.clicked.emit(card.panel.categories.index("Shipped"))
    settle(qtbot, w.desk)
    devices = w.device_actions.devices_window
    assert devices.isVisible()
    assert devices.kind_combo.currentData() is DeviceKind.dsc_plus
    assert devices.state_combo.currentData() is DeviceState.shipped
    with demo_ctx.db.read() as s:
        n = s.scalar(select(func.count()).select_from(SecurityDevice).where(
            SecurityDevice.kind == DeviceKind.dsc_plus, SecurityDevice.state == DeviceState.shipped))
    assert devices.model.rowCount() == n > 0


def test_a_table_row_opens_the_audit_entries_behind_it(qtbot, demo_ctx, admin):
    """Enter on an opt-out row of the numbers opens the audit trail filtered to that week's opt-outs."""
    w, d = open_dashboard(qtbot, demo_ctx, admin)
    card = d.cards["enrollment"]
    rows = card.table_rows()
    row = next(i for i, (name, _, _) in enumerate(rows) if name == "Opt-out")
    card.table.activated.emit(card.table.model().index(row, 0))
    settle(qtbot, w.desk)
    audit = w.audit_view
    assert audit.isVisible() and audit.action_filter.currentText() == "user.opted_out"
    assert audit.period_check.isChecked()
    assert audit.model.rowCount() == int(rows[row][2].replace(",", ""))


def test_each_role_sees_only_its_panels_and_actions(qtbot, ctx, agent, back_office, auditor):
    """Help desk: no money, no staff sign-ins, no staff activity, no report; back office: charges and report."""
    w, d = open_dashboard(qtbot, ctx, agent)
    assert {"states", "devices", "returns"} <= set(d.cards) and not {"charges", "signins", "activity"} & set(d.cards)
    for name in ("openStaffActivity", "monthlyReport"):
        action = w.findChild(QAction, name)
        assert not action.isVisible() and not action.isEnabled()
    w, d = open_dashboard(qtbot, ctx, back_office)
    assert "charges" in d.cards and "activity" not in d.cards
    assert w.findChild(QAction, "monthlyReport").isEnabled()
    w, d = open_dashboard(qtbot, ctx, auditor)
    assert {"charges", "signins", "activity"} <= set(d.cards)


def test_staff_activity_bar_opens_that_staff_members_day(qtbot, ctx, auditor):
    """Staff activity counts each staff member's audited actions per day; a bar opens those entries."""
    from console.models import audit

    now = ctx.clock.now()
    with ctx.db.write() as s:
        for _ in range(4):
            audit.record(s, at=now, actor="boff01", action="device.shipped", summary="Shipped")
    w = main_window(qtbot, ctx, auditor)
    trigger(qtbot, w, "openStaffActivity")
    window = w.insight.activity
    window.period_combo.setCurrentIndex(0)  # last 7 days: one bar per day
    settle(qtbot, w.desk)
    card = window.cards["activity"]
    values = chart_values(card)
    assert values["boff01", f"{now:%d %b}"] == 4
    bar_set = next(b for b in card.view.chart().series()[0].barSets() if b.label() == "boff01")
    bar_set.clicked.emit(card.panel.categories.index(f"{now:%d %b}"))
    settle(qtbot, w.desk)
    assert w.audit_view.staff_filter.currentText() == "boff01"
    assert w.audit_view.model.rowCount() == 4
    by_staff = window.cards["activity_by_staff"]
    assert chart_values(by_staff)["Devices", "boff01"] == 4
    bar_set = next(b for b in by_staff.view.chart().series()[0].barSets() if b.label() == "Devices")
    bar_set.clicked.emit(by_staff.panel.categories.index("boff01"))
    settle(qtbot, w.desk)
    assert w.audit_view.action_filter.currentText() == "device."
    assert w.audit_view.model.rowCount() == 4


def test_work_list_rows_open_the_place_to_act(qtbot, ctx, world, agent):
    """A locked device opens in the devices window, selected; a user with no device is selected in the list."""
    with ctx.db.write() as s:
        s.get(SecurityDevice, world.secondary_device_id).locked = True
        s.get(User, world.org_primary_id).active_devices = 0
    w = main_window(qtbot, ctx, agent)
    trigger(qtbot, w, "openWorkList")
    work = w.insight.work_list
    items = work.items()
    assert {i.source for i in items} == {"locked", "no_device"}
    assert work.select_item(lambda i: i.source == "locked")
    work.open_current()
    settle(qtbot, w.desk)
    devices = w.device_actions.devices_window
    assert devices.current_row().id == world.secondary_device_id
    assert work.select_item(lambda i: i.source == "no_device")
    work.open_current()
    settle(qtbot, w.desk)
    qtbot.waitUntil(lambda: w.current_user_id() == world.org_primary_id)


def test_work_list_names_a_card_near_its_deadline(qtbot, ctx, world, clock, back_office):
    """A shipped card due for activation in two days is listed with its holder and deadline."""
    with ctx.db.write() as s:
        d, _ = add_device(s, ctx, s.get(User, world.secondary_id), DeviceKind.dsc_plus, DeviceState.shipped,
                          serial="DSC0000042", preferred=False)
        d.shipped_at, d.activation_due_at = clock.now() - dt.timedelta(days=12), clock.now() + dt.timedelta(days=2)
    w = main_window(qtbot, ctx, back_office)
    trigger(qtbot, w, "openWorkList")
    [item] = [i for i in w.insight.work_list.items() if i.source == "shipped"]
    assert item.serial == "DSC0000042" and item.username == "jsmit123" and "due in 2 days" in item.title


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils (scripts/setup.sh installs it)")
def test_report_pdf_renders_and_reads_back(qtbot, demo_ctx, tmp_path, back_office):
    """File → Monthly report writes a PDF whose text names the month, the author, the chain head and figures."""
    w = main_window(qtbot, demo_ctx, back_office)
    month = f"{demo_ctx.clock.now():%Y-%m}"
    target = tmp_path / "report.pdf"
    w.insight.write_report(month, str(target))
    settle(qtbot, w.desk)
    assert w.insight.last_report is not None and target.exists()
    text = subprocess.run(["pdftotext", "-layout", str(target), "-"], capture_output=True, text=True,
                          check=True).stdout
    with demo_ctx.db.read() as s:
        head_before = s.scalars(select(AuditEntry.prev_hash).where(AuditEntry.action == "report.produced")).one()
        enrolled = s.scalar(select(func.count()).select_from(User).where(User.sls_state == SlsState.enrolled))
    assert f"SLS monthly report {month}" in text
    assert "Bob Office (boff01, Back office)" in text
    assert head_before in text  # the chain head the figures were read under
    assert "Users by SLS state" in text and f"{enrolled:,}" in text
    assert "Charges and waivers per month" in text
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(target), str(tmp_path / "page")],
                   check=True)
    assert (tmp_path / "page-1.png").stat().st_size > 5000


def test_work_list_follows_changes_announced_on_the_bus(qtbot, ctx, world, agent):
    """A device unlocked at this or another desk leaves the open work list once the change is announced."""
    from console.views.change_bus import Changes

    with ctx.db.write() as s:
        s.get(SecurityDevice, world.secondary_device_id).locked = True
    w = main_window(qtbot, ctx, agent)
    trigger(qtbot, w, "openWorkList")
    work = w.insight.work_list
    assert [i.device_id for i in work.items() if i.source == "locked"] == [world.secondary_device_id]
    with ctx.db.write() as s:
        s.get(SecurityDevice, world.secondary_device_id).locked = False
    w.desk.bus.publish(Changes.of(devices=[world.secondary_device_id]))
    qtbot.waitUntil(lambda: not any(i.source == "locked" for i in work.items()), timeout=5000)


def test_an_administrators_work_list_opens_the_staff_window_on_a_locked_member(qtbot, ctx, world, clock, admin,
                                                                               staff_service, tmp_path):
    """Harriet is locked out after failed sign-ins: the administrator's work list names her first; Enter on the
    row opens the Staff window with her selected, ready for Unlock."""
    from PySide6.QtCore import Qt

    from console.models.enums import StaffRole
    from console.models.errors import ConsoleError

    staff_service.add(admin, "harriet", "Harriet Desk", StaffRole.help_desk, "correct horse battery")
    for _ in range(5):
        with pytest.raises(ConsoleError):
            staff_service.sign_in("harriet", "wrong password!", "000000")
        clock.advance(seconds=61)
    w = main_window(qtbot, ctx, admin)
    trigger(qtbot, w, "openWorkList")
    work = w.insight.work_list
    assert work.select_item(lambda i: i.source == "staff_locked")
    current = work.tree.currentItem()
    assert "Staff member harriet locked at" in current.text(0) and "unlock in Staff" in current.text(0)
    work.grab().save(str(tmp_path / "work-list-staff-locked.png"))
    qtbot.keyClick(work.tree, Qt.Key.Key_Return)
    settle(qtbot, w.desk)
    qtbot.waitUntil(lambda: getattr(w, "staff_dialog", None) is not None and w.staff_dialog.isVisible())
    assert w.staff_dialog.selected_username() == "harriet"
    assert w.staff_dialog.unlock_action.isEnabled()
