"""The supervisors' dashboard figures, each from a summary table or an indexed aggregate (never a scan)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Row, SQLColumnExpression, and_, case, func, select
from sqlalchemy.orm import Session

from console.models.activity_counts import ENROLLED, OPTED_OUT, PATH_LABELS
from console.models.context import Actor, ServiceContext
from console.models.db import retries_conflicts
from console.models.entities import AuditDayCount, Charge, DeviceCount, SecurityDevice, StaffMember, UserStateCount
from console.models.enums import ChargeStatus, DeviceKind, DeviceState, SlsState
from console.models.errors import InvalidInput, PermissionDenied
from console.models.permissions import Permission, allowed, current_role, require
from console.models.settings import load_figures

P = Permission
# What each panel shows follows the role: any one of the permissions lets a staff member see it.
PANEL_PERMISSIONS: dict[str, tuple[Permission, ...]] = {
    "states": (P.view,),
    "enrollment": (P.view,),
    "devices": (P.view,),
    "shipped": (P.view,),
    "returns": (P.view,),
    "temporary": (P.view,),
    "charges": (P.waive_charges, P.verify_audit),
    "signins": (P.manage_staff, P.verify_audit),
    "activity": (P.verify_audit,),
    "activity_by_staff": (P.verify_audit,),
}
PANEL_TITLES = {
    "states": "Users by SLS state", "enrollment": "Opt-ins and opt-outs per week", "devices": "Devices by kind and "
    "state", "shipped": "Shipped DSC+ waiting for activation", "returns": "Returns due and overdue",
    "temporary": "Temporary access in force", "charges": "Charges and waivers per month",
    "signins": "Sign-in failures and locks", "activity": "Staff activity over time",
    "activity_by_staff": "Actions per staff member",
}
# Audit actions grouped by what they act on (the part before the dot), for actions per staff member.
ACTION_GROUP_LABELS = {"user": "Users (opt-in, opt-out)", "device": "Devices", "charge": "Charges",
                       "returns": "Returns", "staff": "Staff and sign-in", "account": "Accounts",
                       "data": "Exports", "report": "Reports"}
PATHS = ("ib_key", "card", "shared", "dsc_plus", "other")
SIGNIN_ACTIONS = {"staff.signin_failed": "Staff sign-in failures", "staff.locked": "Staff sign-ins locked",
                  "device.code_refused": "Client codes refused", "device.locked": "Client devices locked"}
# Device kinds as a chart legend names them (the full labels do not fit side by side); others by their label.
_KIND_SHORT = {DeviceKind.ib_key: "IB Key", DeviceKind.dsc_plus: "DSC+", DeviceKind.code_card: "Code card",
               DeviceKind.online_code_card: "Online card", DeviceKind.temporary_passcode: "Temp. passcode"}


def kind_short(kind: DeviceKind) -> str:
    return _KIND_SHORT.get(kind, kind.label)



@dataclass(frozen=True)
class Drill:
    """Where clicking a figure leads: a list screen and the filter that shows the rows behind the figure."""

    target: str  # users | devices | charges | audit
    filters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Figure:
    label: str
    value: int
    drill: Drill | None = None


@dataclass(frozen=True)
class Series:
    """One named series over the same categories as its chart (weeks, months, days or kinds)."""

    name: str
    figures: tuple[Figure, ...]

    @property
    def total(self) -> int:
        return sum(f.value for f in self.figures)


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    note: str = ""
    unit: str = ""  # "cents" for money

    def value(self, series: str, category: str) -> int:
        for s in self.series:
            if s.name == series:
                for c, f in zip(self.categories, s.figures, strict=True):
                    if c == category:
                        return f.value
        raise KeyError((series, category))


def visible_panels(actor: Actor) -> list[str]:
    return [key for key, needed in PANEL_PERMISSIONS.items() if any(allowed(actor, p) for p in needed)]


def _require_panel(actor: Actor, key: str) -> None:
    if key not in visible_panels(actor):
        raise PermissionDenied(f"{actor.full_name} ({actor.role.label}) may not see {PANEL_TITLES[key].lower()}. "
                               f"Ask a supervisor or an auditor.")


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """'2026-11' → (first day, first day of the next month); a clear message for anything else."""
    try:
        first = dt.datetime.strptime(month.strip(), "%Y-%m").date()
    except ValueError:
        raise InvalidInput(f"{month!r} is not a month; write it as YYYY-MM, e.g. 2026-11.") from None
    nxt = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first, nxt


def _utc(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _month_of(column: SQLColumnExpression[dt.datetime | None], dialect: str) -> ColumnElement[str]:
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.substr(column, 1, 7)  # SQLite keeps UTC text 'YYYY-MM-DD HH:MM:SS'


def _months(first: dt.date, last: dt.date) -> list[str]:
    out, day = [], first.replace(day=1)
    while day <= last:
        out.append(f"{day:%Y-%m}")
        day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return out


@retries_conflicts
class InsightService:
    """Dashboard panels for a period. Each figure is one small aggregate: summary tables kept in the writing
    transaction (user_state_counts, device_counts, audit_day_counts) or an indexed range."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def panels(self, actor: Actor, since: dt.date, until: dt.date, only: tuple[str, ...] = ()) -> list[Panel]:
        """Every panel the actor may see (or those of `only`), for the days [since, until] and now."""
        if since > until:
            raise InvalidInput("The start of the period must not be after its end.")
        builders = {"states": lambda s: self._states(s), "enrollment": lambda s: self._enrollment(s, since, until),
                    "devices": lambda s: self._devices(s), "shipped": lambda s: self._shipped(s),
                    "returns": lambda s: self._returns(s), "temporary": lambda s: self._temporary(s),
                    "charges": lambda s: self._charges(s, since, until),
                    "signins": lambda s: self._signins(s, since, until),
                    "activity": lambda s: self._activity(s, since, until),
                    "activity_by_staff": lambda s: self._activity_by_staff(s, since, until)}
        with self.ctx.db.read() as s:
            require(s, actor, Permission.view)
            # The panels of the role the staff row holds now (a role changed since sign-in applies at once).
            current = dataclasses.replace(actor, role=current_role(s, actor))
            for key in only:
                _require_panel(current, key)
            return [builders[key](s) for key in visible_panels(current) if not only or key in only]

    def panel(self, actor: Actor, key: str, since: dt.date, until: dt.date) -> Panel:
        return self.panels(actor, since, until, (key,))[0]

    # --- now ---------------------------------------------------------------------------------------
    def _states(self, s: Session) -> Panel:
        counts = {row.sls_state: row.users for row in s.scalars(select(UserStateCount))}
        total = sum(counts.values())
        figures = tuple(Figure(state.label, counts.get(state, 0), Drill("users", {"state": state}))
                        for state in SlsState)
        note = f"{total:,} users; " + ", ".join(
            f"{f.label.lower()} {f.value / total:.1%}" for f in figures) if total else "No users yet."
        return Panel("states", PANEL_TITLES["states"], tuple(f.label for f in figures),
                     (Series("Users", figures),), note)

    def _devices(self, s: Session) -> Panel:
        counts: dict[tuple[DeviceKind, DeviceState], int] = defaultdict(int)
        for row in s.scalars(select(DeviceCount).where(DeviceCount.devices > 0)):
            counts[row.kind, row.state] += row.devices
        states = [st for st in DeviceState if any(counts.get((k, st)) for k in DeviceKind)]
        series = tuple(Series(kind_short(kind), tuple(Figure(st.label, counts.get((kind, st), 0),
                                                       Drill("devices", {"kind": kind, "state": st}))
                                                for st in states))
                       for kind in DeviceKind)
        locked = s.scalar(select(func.coalesce(func.sum(DeviceCount.devices), 0))
                          .where(DeviceCount.locked.is_(True))) or 0
        return Panel("devices", PANEL_TITLES["devices"], tuple(st.label for st in states), series,
                     f"{sum(counts.values()):,} devices; {locked:,} locked after failed codes")

    def _shipped(self, s: Session) -> Panel:
        now = self.ctx.clock.now()
        rows = s.execute(select(SecurityDevice.shipped_at, SecurityDevice.activation_due_at)
                         .where(SecurityDevice.state == DeviceState.shipped)).all()
        buckets = {"0–3 days": 0, "4–7 days": 0, "8–14 days": 0, "15 days or more": 0}
        late, longest = 0, 0
        for shipped_at, due in rows:
            days = (now - shipped_at).days if shipped_at else 0
            longest = max(longest, days)
            label = ("0–3 days" if days <= 3 else "4–7 days" if days <= 7 else "8–14 days" if days <= 14
                     else "15 days or more")
            buckets[label] += 1
            late += bool(due and due < now)
        drill = Drill("devices", {"state": DeviceState.shipped})
        return Panel("shipped", PANEL_TITLES["shipped"], tuple(buckets),
                     (Series("Waiting since shipped", tuple(Figure(k, v, drill) for k, v in buckets.items())),),
                     f"{len(rows):,} shipped and not activated; {late:,} past their activation date; longest "
                     f"wait {longest} days")

    def _returns(self, s: Session) -> Panel:
        now = self.ctx.clock.now()
        soon = now + dt.timedelta(days=7)
        due = SecurityDevice.return_due_at
        overdue, this_week, later = s.execute(
            select(func.count(case((due < now, 1))), func.count(case((and_(due >= now, due < soon), 1))),
                   func.count(case((due >= soon, 1))))
            .where(SecurityDevice.state == DeviceState.return_pending)).one()
        pending = Drill("devices", {"state": DeviceState.return_pending})
        figures = (Figure("Overdue", overdue, Drill("devices", {"overdue": True})),
                   Figure("Due within 7 days", this_week, pending), Figure("Due later", later, pending))
        return Panel("returns", PANEL_TITLES["returns"], tuple(f.label for f in figures),
                     (Series("Devices expected back", figures),),
                     f"{overdue + this_week + later:,} devices expected back; {overdue:,} overdue")

    def _temporary(self, s: Session) -> Panel:
        now = self.ctx.clock.now()
        active = and_(SecurityDevice.state == DeviceState.active, SecurityDevice.expires_at > now)
        passcode = SecurityDevice.kind == DeviceKind.temporary_passcode
        full, portal, cards = s.execute(
            select(func.count(case((and_(passcode, SecurityDevice.full_access_until > now), 1))),
                   func.count(case((and_(passcode, SecurityDevice.full_access_until <= now), 1))),
                   func.count(case((SecurityDevice.kind == DeviceKind.online_code_card, 1))))
            .where(SecurityDevice.kind.in_((DeviceKind.temporary_passcode, DeviceKind.online_code_card)), active)
        ).one()
        passcodes = Drill("devices", {"kind": DeviceKind.temporary_passcode, "state": DeviceState.active})
        figures = (Figure("Passcode, full access", full, passcodes), Figure("Passcode, portal only", portal, passcodes),
                   Figure("Online Security Code Card", cards,
                          Drill("devices", {"kind": DeviceKind.online_code_card, "state": DeviceState.active})))
        return Panel("temporary", PANEL_TITLES["temporary"], tuple(f.label for f in figures),
                     (Series("In force", figures),), f"{full + portal + cards:,} temporary devices in force")

    # --- over the period ---------------------------------------------------------------------------
    def _day_counts(self, s: Session, actions: tuple[str, ...], since: dt.date,
                    until: dt.date) -> Sequence[Row[dt.date, str, str | None, int]]:
        return s.execute(select(AuditDayCount.day, AuditDayCount.action, AuditDayCount.path,
                                func.sum(AuditDayCount.entries))
                         .where(AuditDayCount.action.in_(actions), AuditDayCount.day >= since,
                                AuditDayCount.day <= until)
                         .group_by(AuditDayCount.day, AuditDayCount.action, AuditDayCount.path)).all()

    def _enrollment(self, s: Session, since: dt.date, until: dt.date) -> Panel:
        weeks = _weeks(since, until)
        counts: dict[tuple[str, dt.date], int] = defaultdict(int)
        for day, action, path, n in self._day_counts(s, (ENROLLED, OPTED_OUT), since, until):
            counts["opt_out" if action == OPTED_OUT else path or "other", _bucket_of(weeks, day)] += n
        paths = [p for p in PATHS if p != "other" or any(counts.get(("other", w.first)) for w in weeks)]

        def series(name: str, key: str, action: str) -> Series:
            return Series(name, tuple(Figure(w.label, counts.get((key, w.first), 0),
                                             Drill("audit", {"action": action, **w.period})) for w in weeks))

        ins = [series(PATH_LABELS[p], p, ENROLLED) for p in paths]
        outs = series("Opt-out", "opt_out", OPTED_OUT)
        return Panel("enrollment", PANEL_TITLES["enrollment"], tuple(w.label for w in weeks), (*ins, outs),
                     f"{since:%d %b %Y} – {until:%d %b %Y}: {sum(x.total for x in ins):,} opt-ins, "
                     f"{outs.total:,} opt-outs (weeks start on Monday, UTC)")

    def _charges(self, s: Session, since: dt.date, until: dt.date) -> Panel:
        dialect = s.get_bind().dialect.name
        months = _months(since, until)
        start, end = _utc(since.replace(day=1)), _utc(until + dt.timedelta(days=1))
        charged: dict[str, tuple[int, int]] = {}
        month = _month_of(Charge.created_at, dialect)
        for m, n, cents in s.execute(select(month, func.count(), func.sum(Charge.amount_cents))
                                     .where(Charge.created_at >= start, Charge.created_at < end).group_by(month)):
            charged[m] = (n, cents or 0)
        waived: dict[str, tuple[int, int]] = {}
        month = _month_of(Charge.waived_at, dialect)
        for m, n, cents in s.execute(select(month, func.count(), func.sum(Charge.amount_cents))
                                     .where(Charge.waived_at >= start, Charge.waived_at < end,
                                            Charge.status == ChargeStatus.waived).group_by(month)):
            waived[m] = (n, cents or 0)
        all_charges = Drill("charges", {})
        waivers = Drill("charges", {"status": ChargeStatus.waived})
        series = (Series("Charged", tuple(Figure(m, charged.get(m, (0, 0))[1], all_charges) for m in months)),
                  Series("Waived", tuple(Figure(m, waived.get(m, (0, 0))[1], waivers) for m in months)))
        count_in = sum(n for n, _ in charged.values())
        count_out = sum(n for n, _ in waived.values())
        return Panel("charges", PANEL_TITLES["charges"], tuple(months), series,
                     f"{count_in:,} charges, {count_out:,} waived (amounts in USD)", unit="cents")

    def _signins(self, s: Session, since: dt.date, until: dt.date) -> Panel:
        buckets = _buckets(since, until)
        counts: dict[tuple[str, dt.date], int] = defaultdict(int)
        for day, action, _path, n in self._day_counts(s, tuple(SIGNIN_ACTIONS), since, until):
            counts[action, _bucket_of(buckets, day)] += n
        series = tuple(Series(label, tuple(Figure(b.label, counts.get((action, b.first), 0),
                                                  Drill("audit", {"action": action, **b.period}))
                                           for b in buckets))
                       for action, label in SIGNIN_ACTIONS.items())
        now = self.ctx.clock.now()
        limit = load_figures(s).staff_signin_failures
        staff_locked = s.scalar(select(func.count()).select_from(StaffMember)
                                .where(StaffMember.locked_until > now, StaffMember.failed_signins >= limit)) or 0
        devices_locked = s.scalar(select(func.coalesce(func.sum(DeviceCount.devices), 0))
                                  .where(DeviceCount.locked.is_(True))) or 0
        return Panel("signins", PANEL_TITLES["signins"], tuple(b.label for b in buckets), series,
                     f"Locked now: {staff_locked:,} staff sign-ins, {devices_locked:,} client devices")

    def _activity(self, s: Session, since: dt.date, until: dt.date) -> Panel:
        buckets = _buckets(since, until)
        counts: dict[tuple[str, dt.date], int] = defaultdict(int)
        for actor, day, n in s.execute(
                select(AuditDayCount.actor, AuditDayCount.day, func.sum(AuditDayCount.entries))
                .where(AuditDayCount.day >= since, AuditDayCount.day <= until)
                .group_by(AuditDayCount.actor, AuditDayCount.day)):
            counts[actor, _bucket_of(buckets, day)] += n
        totals: dict[str, int] = defaultdict(int)
        for (actor, _), n in counts.items():
            totals[actor] += n
        staff = sorted(totals, key=lambda a: (-totals[a], a))
        series = tuple(Series(name, tuple(Figure(b.label, counts.get((name, b.first), 0),
                                                 Drill("audit", {"staff": name, **b.period}))
                                          for b in buckets))
                       for name in staff)
        return Panel("activity", PANEL_TITLES["activity"], tuple(b.label for b in buckets), series,
                     f"{sum(totals.values()):,} audited actions by {len(staff)} staff member"
                     f"{'' if len(staff) == 1 else 's'} and automatic runs (days up to 31 days, else weeks)")

    def _activity_by_staff(self, s: Session, since: dt.date, until: dt.date) -> Panel:
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for actor, action, n in s.execute(
                select(AuditDayCount.actor, AuditDayCount.action, func.sum(AuditDayCount.entries))
                .where(AuditDayCount.day >= since, AuditDayCount.day <= until)
                .group_by(AuditDayCount.actor, AuditDayCount.action)):
            counts[actor, action.split(".", 1)[0]] += n
        totals: dict[str, int] = defaultdict(int)
        for (actor, _), n in counts.items():
            totals[actor] += n
        staff = sorted(totals, key=lambda a: (-totals[a], a))
        groups = sorted({g for _, g in counts}, key=lambda g: (g not in ACTION_GROUP_LABELS, g))
        period = {"since": _utc(since), "until": _utc(until + dt.timedelta(days=1))}
        series = tuple(Series(ACTION_GROUP_LABELS.get(g, g.capitalize()),
                              tuple(Figure(name, counts.get((name, g), 0),
                                           Drill("audit", {"staff": name, "action": f"{g}.", **period}))
                                    for name in staff))
                       for g in groups)
        busiest = f"; most: {staff[0]} ({totals[staff[0]]:,})" if staff else ""
        return Panel("activity_by_staff", PANEL_TITLES["activity_by_staff"], tuple(staff), series,
                     f"{since:%d %b} – {until:%d %b %Y}: {sum(totals.values()):,} actions{busiest}")


@dataclass(frozen=True)
class _Bucket:
    first: dt.date
    last: dt.date  # inclusive
    label: str

    @property
    def period(self) -> dict[str, dt.datetime]:
        return {"since": _utc(self.first), "until": _utc(self.last + dt.timedelta(days=1))}


def _buckets(since: dt.date, until: dt.date) -> list[_Bucket]:
    """Days for a period up to 31 days, else weeks."""
    if (until - since).days < 31:
        return [_Bucket(d, d, f"{d:%d %b}") for d in (since + dt.timedelta(days=i)
                                                      for i in range((until - since).days + 1))]
    return _weeks(since, until)


def _weeks(since: dt.date, until: dt.date) -> list[_Bucket]:
    """Weeks starting on Monday, the first and last clipped to the period."""
    out, day = [], since
    while day <= until:
        last = min(week_start(day) + dt.timedelta(days=6), until)
        out.append(_Bucket(day, last, f"{day:%d %b}"))
        day = last + dt.timedelta(days=1)
    return out


def _bucket_of(buckets: list[_Bucket], day: dt.date) -> dt.date:
    for b in buckets:
        if b.first <= day <= b.last:
            return b.first
    raise ValueError(day)
