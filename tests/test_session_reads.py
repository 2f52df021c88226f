"""Reads check the desk's session as writes do: the users list, Find, the detail pane and every other read of a
desk's services refuse a deactivated, locked, signed-out or idle member, and a role without the view right."""

import dataclasses
import datetime as dt

import pyotp
import pytest
from sqlalchemy import update

from console.app import Services
from console.models import permissions
from console.models.directory import UserQuery
from console.models.entities import StaffMember
from console.models.enums import StaffRole
from console.models.errors import PermissionDenied, SessionEnded
from tests.sessions import signed_in

PASSWORD = "correct horse battery"


def every_read(services: Services, world) -> dict[str, object]:
    """One call of each read a desk makes without naming its actor (the list, Find, the detail pane, the
    devices and charges windows, the service figures, the work-list and sharing counts, the opt-in pages)."""
    d = services.directory
    return {
        "list count": lambda: d.count(UserQuery()),
        "state counts": lambda: d.counts_by_state(UserQuery()),
        "list window": lambda: d.window(UserQuery(), 0, 50),
        "list first rows": lambda: d.first_rows(UserQuery(text="smith"), 50),
        "find": lambda: d.window(UserQuery(text="smith"), 0, 50),
        "find count": lambda: d.count(UserQuery(text="smith")),
        "find by username": lambda: d.find_by_username("jsmit001"),
        "row of user": lambda: d.offset_of(UserQuery(), world.primary_id),
        "detail pane": lambda: d.details(world.primary_id),
        "devices count": lambda: services.devices.count(),
        "device": lambda: services.devices.get(world.secondary_device_id),
        "device holders": lambda: services.devices.holders(world.secondary_device_id),
        "charges": lambda: services.charges.window(world.account_id),
        "charge totals": lambda: services.charges.totals(world.account_id),
        "returns due": lambda: services.returns.pending(),
        "figures": lambda: services.settings.figures(),
        "settings": lambda: services.settings.current(),
        "sharing count": lambda: services.sharing_review.pending_count(),
        "temporary access": lambda: services.temporary_access.can_issue(world.secondary_id),
        "closing preview": lambda: services.accounts.closing_preview(world.account_id),
        "opt-out statement": lambda: services.enrollment.opt_out_statement(),
        "rights": lambda: services.rights.check(world.primary_id),
    }


def refused(services: Services, world, match: str) -> list[str]:
    """The reads that were NOT refused with a message matching `match`."""
    let_through = []
    for name, read in every_read(services, world).items():
        try:
            read()
        except PermissionDenied as e:
            if match not in str(e):
                let_through.append(f"{name}: {e}")
        except Exception as e:  # noqa: BLE001 (a domain refusal other than the session's counts as let through)
            let_through.append(f"{name}: {type(e).__name__} {e}")
        else:
            let_through.append(name)
    return let_through


@pytest.fixture
def desk(ctx, world, agent) -> Services:
    services = Services.build(ctx, agent)
    assert refused(services, world, "never") == list(every_read(services, world))  # all of them read now
    return services


def test_deactivated_members_open_desk_can_no_longer_search_or_open_a_user(ctx, world, desk, agent, admin,
                                                                             staff_service):
    staff_service.deactivate(admin, agent.username)
    with pytest.raises(SessionEnded, match="deactivated"):
        desk.directory.window(UserQuery(text="smith"), 0, 50)
    with pytest.raises(SessionEnded, match="deactivated"):
        desk.directory.details(world.primary_id)
    assert refused(desk, world, "deactivated") == []


def test_locked_members_desk_reads_nothing(ctx, world, desk, agent):
    with ctx.db.write() as s:
        s.execute(update(StaffMember).where(StaffMember.username == agent.username)
                  .values(failed_signins=5, locked_until=ctx.clock.now() + dt.timedelta(minutes=10)))
    assert refused(desk, world, "locked") == []


def test_signed_out_desk_reads_nothing(ctx, world, desk, agent, staff_service):
    staff_service.sign_out(agent)
    assert refused(desk, world, "signed out") == []


def test_idle_desk_reads_nothing_and_reading_counts_as_activity(ctx, world, staff_service, clock):
    first = staff_service.add_first_administrator("alex", "Alex Admin", PASSWORD)
    alex = staff_service.sign_in("alex", PASSWORD, pyotp.TOTP(first.totp_secret).at(clock.now()))
    desk = Services.build(ctx, alex)
    clock.advance(minutes=20)
    desk.directory.window(UserQuery(), 0, 10)  # a read is activity
    clock.advance(minutes=20)
    desk.directory.details(world.primary_id)  # 40 minutes after sign-in, 20 after the last read: still open
    clock.advance(minutes=31)
    assert refused(desk, world, "without activity") == []


def test_a_role_without_the_view_right_reads_nothing(ctx, world, desk, agent, monkeypatch):
    """The role is read from the staff row at each read: a member moved to a role that may not view is refused."""
    narrowed = dict(permissions.ROLE_PERMISSIONS)
    narrowed[StaffRole.compliance] = frozenset({permissions.Permission.review_sharing})
    monkeypatch.setattr(permissions, "ROLE_PERMISSIONS", narrowed)
    with ctx.db.write() as s:
        s.execute(update(StaffMember).where(StaffMember.username == agent.username)
                  .values(role=StaffRole.compliance))
    assert refused(desk, world, "may not view users") == []


def test_desk_built_with_a_hand_made_actor_reads_nothing(ctx, world, agent):
    forged = Services.build(ctx, dataclasses.replace(agent, token="guessed"))
    assert refused(forged, world, "no valid sign-in") == []


def test_reads_of_one_desk_leave_another_desk_reading(ctx, world, desk, agent, admin, staff_service):
    """Deactivating one member stops that member's desk only."""
    other = Services.build(ctx, signed_in(ctx, "hdesk02", "Hugo Desk", StaffRole.help_desk))
    staff_service.deactivate(admin, agent.username)
    assert other.directory.window(UserQuery(text="smith"), 0, 50)
    assert other.directory.details(world.primary_id).username == "jsmit001"
