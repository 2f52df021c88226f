"""Dashboard figures, their summary tables, the work list and the monthly report, against direct queries."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import stat
from collections import Counter

import pytest
from sqlalchemy import delete, func, select

from console.models import demo
from console.models.activity_counts import path_of
from console.models.entities import (
    AuditDayCount,
    AuditEntry,
    Charge,
    DeviceCount,
    SecurityDevice,
    User,
)
from console.models.enums import ChargeStatus, DeviceKind, DeviceState, SlsState, StaffRole
from console.models.errors import InvalidInput, PermissionDenied
from console.models.insight import PANEL_PERMISSIONS, InsightService, kind_short, visible_panels, week_start
from console.models.reporting import ReportService
from console.models.schema import alembic_config
from console.models.settings import Figures
from console.models.work_list import WorkListService
from tests.factories import add_device


@pytest.fixture
def demo_ctx(ctx):
    demo.generate(ctx, Figures(), 400, seed=11)
    return ctx


def _audit_counts_direct(s) -> Counter:
    out: Counter = Counter()
    for at, action, actor, details in s.execute(select(AuditEntry.at, AuditEntry.action, AuditEntry.actor,
                                                       AuditEntry.details)):
        out[at.date(), action, actor, path_of(action, json.loads(details))] += 1
    return out


def _audit_counts_kept(s) -> Counter:
    return Counter({(r.day, r.action, r.actor, r.path): r.entries for r in s.scalars(select(AuditDayCount))
                    if r.entries})


def _device_counts_direct(s) -> Counter:
    return Counter({(k, st, bool(lk)): n for k, st, lk, n in s.execute(
        select(SecurityDevice.kind, SecurityDevice.state, SecurityDevice.locked, func.count())
        .group_by(SecurityDevice.kind, SecurityDevice.state, SecurityDevice.locked))})


def _device_counts_kept(s) -> Counter:
    return Counter({(r.kind, r.state, r.locked): r.devices for r in s.scalars(select(DeviceCount)) if r.devices})


def test_audit_day_counts_match_the_entries_after_demo_and_service_writes(demo_ctx, world, agent):
    """Every audit entry is counted once, by day, action, staff member and opt-in path, whoever wrote it."""
    import pyotp

    from console.models.enrollment import EnrollmentService

    enrollment = EnrollmentService(demo_ctx)
    start = enrollment.start_ib_key(agent, world.primary_id)
    enrollment.confirm(agent, world.primary_id, start.device_id, pyotp.TOTP(start.secret).at(demo_ctx.clock.now()))
    with demo_ctx.db.read() as s:
        assert s.scalar(select(AuditDayCount.entries).where(AuditDayCount.actor == agent.username,
                                                            AuditDayCount.action == "user.enrolled",
                                                            AuditDayCount.path == "ib_key")) == 1
        direct, kept = _audit_counts_direct(s), _audit_counts_kept(s)
        assert kept == direct
        assert {k[3] for k in kept if k[1] == "user.enrolled"} >= {"ib_key", "shared", "dsc_plus", "card"}


def test_device_counts_follow_every_insert_update_and_delete(demo_ctx):
    """device_counts agrees with a GROUP BY over devices after inserts, state and lock changes and deletes."""
    with demo_ctx.db.write() as s:
        d = s.scalars(select(SecurityDevice).where(SecurityDevice.state == DeviceState.active).limit(3)).all()
        d[0].locked = True
        d[1].state = DeviceState.lost
        d[2].kind, d[2].state = DeviceKind.dsc_plus, DeviceState.returned
        add_device(s, demo_ctx, None, DeviceKind.dsc_plus, DeviceState.in_stock, serial="DSCTEST01")
    with demo_ctx.db.write() as s:
        s.execute(delete(SecurityDevice).where(SecurityDevice.serial == "DSCTEST01"))
    with demo_ctx.db.read() as s:
        assert _device_counts_kept(s) == _device_counts_direct(s)


def test_device_count_triggers_are_the_migrations(db):
    """The triggers on devices are exactly those migration 0010 creates (and the only ones)."""
    import importlib
    import re

    if not db.is_sqlite:
        pytest.skip("SQLite triggers")
    migration = importlib.import_module("console.migrations.versions.0010_dashboard_figures")
    with db.engine.connect() as conn:
        present = [sql for (sql,) in conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'devices' ORDER BY name")]
    norm = lambda sql: re.sub(r"\s+", " ", sql).strip()  # noqa: E731
    assert sorted(map(norm, present)) == sorted(map(norm, migration.SQLITE_TRIGGERS))


def test_migration_fills_the_summary_tables_from_existing_rows(demo_ctx):
    """Upgrading a database that already holds entries and devices counts them all (the backfill)."""
    from alembic import command
    from sqlalchemy import text

    db = demo_ctx.db
    cfg = alembic_config(db.url)
    with db.engine.begin() as conn:
        if not db.is_sqlite:  # the vault's downgrade refuses while it holds secrets; this test counts rows only
            conn.execute(text("UPDATE devices SET sealed_secret = NULL, secret_hash = NULL"))
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
        command.upgrade(cfg, "head")
    with db.read() as s:
        assert _audit_counts_kept(s) == _audit_counts_direct(s)
        assert _device_counts_kept(s) == _device_counts_direct(s)


def _period(ctx, weeks=26):
    today = ctx.clock.now().date()
    return today - dt.timedelta(weeks=weeks), today


def test_each_panel_agrees_with_a_direct_query(demo_ctx, admin):
    """States, opt-ins by path, devices, shipped, returns, temporary access and charges equal direct queries."""
    since, until = _period(demo_ctx)
    now = demo_ctx.clock.now()
    panels = {p.key: p for p in InsightService(demo_ctx).panels(admin, since, until)}
    with demo_ctx.db.read() as s:
        for state in SlsState:
            n = s.scalar(select(func.count()).select_from(User).where(User.sls_state == state))
            assert panels["states"].value("Users", state.label) == n
        paths: Counter = Counter()
        for at, action, details in s.execute(select(AuditEntry.at, AuditEntry.action, AuditEntry.details).where(
                AuditEntry.action.in_(("user.enrolled", "user.opted_out")))):
            if since <= at.date() <= until:
                key = "Opt-out" if action == "user.opted_out" else path_of(action, json.loads(details))
                paths[key, max(week_start(at.date()), since)] += 1
        enrollment = panels["enrollment"]
        names = {"ib_key": "IB Key", "card": "Code card", "shared": "Shared device",
                 "dsc_plus": "DSC+", "Opt-out": "Opt-out"}
        assert sum(paths.values()) > 0
        for (key, week), n in paths.items():
            assert enrollment.value(names[key], f"{week:%d %b}") == n
        assert sum(x.total for x in enrollment.series) == sum(paths.values())
        for (kind, state), n in Counter({(k, st): n for k, st, n in s.execute(
                select(SecurityDevice.kind, SecurityDevice.state, func.count())
                .group_by(SecurityDevice.kind, SecurityDevice.state))}).items():
            assert panels["devices"].value(kind_short(kind), state.label) == n
        shipped = s.scalar(select(func.count()).select_from(SecurityDevice)
                           .where(SecurityDevice.state == DeviceState.shipped))
        assert panels["shipped"].series[0].total == shipped
        overdue = s.scalar(select(func.count()).select_from(SecurityDevice).where(
            SecurityDevice.state == DeviceState.return_pending, SecurityDevice.return_due_at < now))
        assert panels["returns"].value("Devices expected back", "Overdue") == overdue
        cards = s.scalar(select(func.count()).select_from(SecurityDevice).where(
            SecurityDevice.kind == DeviceKind.online_code_card, SecurityDevice.state == DeviceState.active,
            SecurityDevice.expires_at > now))
        assert panels["temporary"].value("In force", "Online Security Code Card") == cards
        charged = sum(c.amount_cents for c in s.scalars(select(Charge)) if since <= c.created_at.date() <= until
                      or since.replace(day=1) <= c.created_at.date() < since)
        waived = sum(c.amount_cents for c in s.scalars(select(Charge).where(Charge.status == ChargeStatus.waived))
                     if since.replace(day=1) <= c.waived_at.date() <= until)
        assert panels["charges"].series[0].total == charged
        assert panels["charges"].series[1].total == waived


def test_drill_downs_name_the_rows_behind_each_figure(demo_ctx, admin):
    """A state slice opens the users of that state; a device bar the devices of that kind and state."""
    since, until = _period(demo_ctx)
    panels = {p.key: p for p in InsightService(demo_ctx).panels(admin, since, until)}
    enrolled = panels["states"].series[0].figures[0]
    assert enrolled.drill.target == "users" and enrolled.drill.filters == {"state": SlsState.enrolled}
    ib_key = next(x for x in panels["devices"].series if x.name == kind_short(DeviceKind.ib_key))
    active = ib_key.figures[panels["devices"].categories.index("Active")]
    assert active.drill.filters == {"kind": DeviceKind.ib_key, "state": DeviceState.active}
    overdue = panels["returns"].series[0].figures[0]
    assert overdue.drill.filters == {"overdue": True}
    week = panels["enrollment"].series[-1].figures[-1]
    assert week.drill.target == "audit" and week.drill.filters["action"] == "user.opted_out"


def test_each_role_sees_the_panels_its_permissions_allow(ctx, agent, back_office, auditor, admin):
    """Help desk sees no money and no staff sign-ins; back office sees charges; auditors see staff activity."""
    assert "charges" not in visible_panels(agent) and "activity" not in visible_panels(agent)
    assert "charges" in visible_panels(back_office) and "signins" not in visible_panels(back_office)
    assert {"charges", "signins", "activity"} <= set(visible_panels(auditor))
    assert set(visible_panels(admin)) == set(PANEL_PERMISSIONS)
    since, until = _period(ctx, 4)
    assert [p.key for p in InsightService(ctx).panels(agent, since, until)] == visible_panels(agent)
    with pytest.raises(PermissionDenied, match="may not see staff activity"):
        InsightService(ctx).panel(agent, "activity", since, until)


def test_staff_activity_counts_actions_per_staff_member_and_day(ctx, world, auditor, back_office):
    """Staff activity adds up the audit entries of each staff member per day; a bar opens that day's entries."""
    from console.models import audit

    now = ctx.clock.now()
    with ctx.db.write() as s:
        for _ in range(3):
            audit.record(s, at=now, actor="boff01", action="device.shipped", summary="x")
        audit.record(s, at=now - dt.timedelta(days=1), actor="hdesk01", action="user.pending", summary="y")
    panel = InsightService(ctx).panel(auditor, "activity", now.date() - dt.timedelta(days=6), now.date())
    assert panel.value("boff01", f"{now:%d %b}") == 3
    yesterday = now - dt.timedelta(days=1)
    assert panel.value("hdesk01", f"{yesterday:%d %b}") == 1
    figure = next(x for x in panel.series if x.name == "boff01").figures[-1]
    assert figure.drill.filters["staff"] == "boff01"
    assert figure.drill.filters["since"] == dt.datetime(now.year, now.month, now.day, tzinfo=dt.UTC)
    by_staff = InsightService(ctx).panel(auditor, "activity_by_staff", now.date() - dt.timedelta(days=6), now.date())
    assert by_staff.value("Devices", "boff01") == 3 and by_staff.value("Users (opt-in, opt-out)", "hdesk01") == 1
    devices = next(x for x in by_staff.series if x.name == "Devices").figures[by_staff.categories.index("boff01")]
    assert devices.drill.filters["action"] == "device." and devices.drill.filters["staff"] == "boff01"


def test_work_list_shows_what_needs_someone_today(ctx, world, clock, agent):
    """A card near its activation date, an overdue return, a user with no device and a locked device appear."""
    now = clock.now()
    with ctx.db.write() as s:
        shipped, _ = add_device(s, ctx, s.get(User, world.secondary_id), DeviceKind.dsc_plus, DeviceState.shipped,
                                serial="DSC0000001", preferred=False)
        shipped.shipped_at, shipped.activation_due_at = now - dt.timedelta(days=12), now + dt.timedelta(days=2)
        later, _ = add_device(s, ctx, None, DeviceKind.dsc_plus, DeviceState.shipped, serial="DSC0000002")
        later.activation_due_at = now + dt.timedelta(days=10)
        back, _ = add_device(s, ctx, None, DeviceKind.dsc_plus, DeviceState.return_pending, serial="DSC0000003")
        back.return_due_at = now - dt.timedelta(days=4)
        s.get(SecurityDevice, world.secondary_device_id).locked = True
        lonely = s.get(User, world.org_primary_id)
        lonely.active_devices = 0
    sections = {x.source: x for x in WorkListService(ctx).today(agent)}
    assert [i.serial for i in sections["shipped"].items] == ["DSC0000001"]
    assert "due in 2 days" in sections["shipped"].items[0].title
    assert sections["shipped"].items[0].username == "jsmit123"
    assert [i.serial for i in sections["returns"].items] == ["DSC0000003"]
    assert "4 days" in sections["returns"].items[0].title
    assert [i.user_id for i in sections["no_device"].items] == [world.org_primary_id]
    assert sections["no_device"].items[0].opens == "user"
    assert [i.device_id for i in sections["locked"].items] == [world.secondary_device_id]
    assert sections["locked"].items[0].opens == "device"
    assert {x.source: x.total for x in sections.values()} == {"shipped": 1, "returns": 1, "no_device": 1, "locked": 1,
                                                               "sharing": 0}


def test_locked_devices_are_read_through_the_partial_index(ctx):
    """The work list finds locked devices by the small partial index, not by scanning every device."""
    if not ctx.db.is_sqlite:
        pytest.skip("SQLite plan")
    with ctx.db.read() as s:
        plan = " ".join(str(r[-1]) for r in s.connection().exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT id FROM devices WHERE locked = 1 ORDER BY id"))
    assert "ix_devices_locked" in plan


def test_report_csv_is_recorded_before_it_appears(demo_ctx, tmp_path, back_office):
    """The CSV report carries the figures, the chain head and its author; its audit entry names its hash."""
    target = tmp_path / "report.csv"
    month = f"{demo_ctx.clock.now():%Y-%m}"
    result = ReportService(demo_ctx).produce(back_office, month, target)
    rows = list(csv.reader(target.open(encoding="utf-8")))
    fields = {r[0]: r[1] for r in rows[:7] if r}
    assert fields["produced_by"] == "Bob Office (boff01, Back office)"
    with demo_ctx.db.read() as s:
        entry = s.get(AuditEntry, result.audit_entry_id)
        assert entry.action == "report.produced" and entry.actor == "boff01"
        details = json.loads(entry.details)
        assert details["sha256"] == hashlib.sha256(target.read_bytes()).hexdigest()
        assert fields["audit_head_hash"] == entry.prev_hash  # the head before the report's own entry
        users = s.scalar(select(func.count()).select_from(User).where(User.sls_state == SlsState.enrolled))
    assert ["Users by SLS state", "Users", "Enrolled", str(users), "count"] in rows
    assert not list(tmp_path.glob(".*part"))
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # the firm's figures: readable by their owner only


def test_report_refused_for_help_desk_and_for_a_bad_month(ctx, tmp_path, agent, back_office):
    """Help desk may not take figures out; a month written wrongly or in the future gets a clear message."""
    out = tmp_path / "reports"
    out.mkdir()
    with pytest.raises(PermissionDenied):
        ReportService(ctx).produce(agent, "2026-11", out / "r.csv")
    with pytest.raises(InvalidInput, match="YYYY-MM"):
        ReportService(ctx).produce(back_office, "11/2026", out / "r.csv")
    with pytest.raises(InvalidInput, match="has not begun"):
        ReportService(ctx).produce(back_office, "2031-01", out / "r.csv")
    with pytest.raises(InvalidInput, match=r"\.pdf or \.csv"):
        ReportService(ctx).produce(back_office, "2026-11", out / "r.txt")
    assert list(out.iterdir()) == []


def test_report_not_recorded_when_the_file_cannot_be_written(ctx, tmp_path, back_office):
    """A report that cannot be written leaves neither a file nor an audit entry."""
    with ctx.db.read() as s:
        before = s.scalar(select(func.count()).select_from(AuditEntry))
    with pytest.raises(InvalidInput, match="could not be written"):
        ReportService(ctx).produce(back_office, "2026-11", tmp_path / "missing" / "r.csv")
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == before


def test_work_list_and_dashboard_read_indexes_not_tables(ctx, world, admin):
    """Every statement the work list and the dashboard run searches an index: no scan of users or devices,
    and the users with no device are not found by walking every enrolled user in username order."""
    import re

    from sqlalchemy import event

    if not ctx.db.is_sqlite:
        pytest.skip("SQLite plans")
    statements: list[tuple[str, object]] = []

    def remember(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(ctx.db.engine, "before_cursor_execute", remember)
    try:
        WorkListService(ctx).today(admin)
        InsightService(ctx).panels(admin, *_period(ctx, 12))
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", remember)
    assert len(statements) > 10
    with ctx.db.read() as s:
        conn = s.connection()
        for statement, parameters in statements:
            plan = " | ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}",
                                                                         parameters))
            # Reading the whole partial index of locked devices is reading only the locked ones.
            assert not re.search(r"SCAN (users|devices)(?! USING (COVERING )?INDEX ix_devices_locked)", plan), \
                (statement, plan)
            assert "ix_users_state_username" not in plan, (statement, plan)


def test_work_list_tells_administrators_of_a_locked_staff_member(ctx, clock, agent, admin, staff_service):
    """Harriet locks her sign-in with failed attempts: administrators see her in their work list, with the lock's
    time and count and where to unlock; a help-desk member's work list does not name staff."""
    from console.models.errors import ConsoleError

    staff_service.add(admin, "harriet", "Harriet Desk", StaffRole.help_desk, "correct horse battery")
    locked_at = clock.now()
    for _ in range(5):
        with pytest.raises(ConsoleError):
            staff_service.sign_in("harriet", "wrong password!", "000000")
        clock.advance(seconds=61)
    sections = {x.source: x for x in WorkListService(ctx).today(admin)}
    [item] = sections["staff_locked"].items
    assert item.title.startswith("Staff member harriet locked at ") and "after 5 failed sign-ins" in item.title
    assert item.title.endswith("— unlock in Staff") and item.opens == "staff" and item.staff_username == "harriet"
    assert locked_at <= item.due_at <= clock.now()
    assert "staff_locked" not in {x.source for x in WorkListService(ctx).today(agent)}
    staff_service.unlock(admin, "harriet")
    assert {x.source: x for x in WorkListService(ctx).today(admin)}["staff_locked"].total == 0
