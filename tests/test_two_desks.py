"""Two desks at the same moment, each a real process with its own engine: one clear winner, one clear
message, never a traceback, on SQLite and on PostgreSQL (CI runs this file on both)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from console.models import audit
from console.models.demo import generate
from console.models.entities import DeviceHolding, Person, SecurityDevice, Setting, StaffMember, User
from console.models.enums import DeviceState, SlsState, StaffRole
from console.models.settings import Figures
from tests.desk_process import run_desks
from tests.factories import add_device, add_person

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "resources" / "sample-import.csv"
PASSWORD = "correct horse battery"


def one_winner(answers: list[dict]) -> tuple[dict, dict]:
    done = [a for a in answers if a["outcome"] == "done"]
    refused = [a for a in answers if a["outcome"] == "refused"]
    assert (len(done), len(refused)) == (1, 1), answers
    return done[0], refused[0]


def add_staff(staff_service, *members: tuple[str, str, StaffRole]) -> None:
    first, *others = members
    staff_service.add_first_administrator(first[0], first[1], PASSWORD)
    from tests.sessions import signed_in

    actor = signed_in(staff_service.ctx, first[0], first[1], StaffRole.administrator)
    for username, full_name, role in others:
        staff_service.add(actor, username, full_name, role, PASSWORD)


def enroll(ctx, user_id: int) -> None:
    """jsmit001 (who holds the account's security rights) enrolled with an IB Key."""
    with ctx.db.write() as s:
        user = s.get(User, user_id)
        add_device(s, ctx, user)
        user.sls_state = SlsState.enrolled
        for r in user.restrictions:
            r.lifted_at = ctx.clock.now()


def version_of(ctx, user_id: int) -> int:
    with ctx.db.read() as s:
        return s.get(User, user_id).version


def test_two_administrators_deactivating_each_other_leave_one(ctx, clock, tmp_path, staff_service):
    """Each of the last two administrators deactivates the other: one succeeds, the other is told it would
    leave no administrator, and one active administrator remains."""
    add_staff(staff_service, ("admin01", "Alex Admin", StaffRole.administrator),
              ("admin02", "Avery Admin", StaffRole.administrator))
    answers = run_desks(ctx.db, clock, tmp_path,
                        ("deactivate", {"actor": "admin01", "username": "admin02"}),
                        ("deactivate", {"actor": "admin02", "actor_name": "Avery Admin", "username": "admin01"}))
    _, refused = one_winner(answers)
    assert "last active administrator" in refused["message"] or "deactivated" in refused["message"], refused
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(StaffMember).where(
            StaffMember.role == StaffRole.administrator, StaffMember.active.is_(True))) == 1


def test_two_administrators_demoting_each_other_leave_one(ctx, clock, tmp_path, staff_service):
    """Each of the last two administrators makes the other a help-desk member: one succeeds, the other is refused
    (it would leave no administrator, or its own session ended with its role), and one administrator remains."""
    add_staff(staff_service, ("admin01", "Alex Admin", StaffRole.administrator),
              ("admin02", "Avery Admin", StaffRole.administrator))
    answers = run_desks(ctx.db, clock, tmp_path,
                        ("change_role", {"actor": "admin01", "username": "admin02", "role_to": "help_desk"}),
                        ("change_role", {"actor": "admin02", "actor_name": "Avery Admin", "username": "admin01",
                                         "role_to": "help_desk"}))
    _, refused = one_winner(answers)
    assert "last active administrator" in refused["message"] or "role changed" in refused["message"], refused
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(StaffMember).where(
            StaffMember.role == StaffRole.administrator, StaffMember.active.is_(True))) == 1
        assert audit.verify(s).ok


def test_opt_out_against_temporary_passcode_for_the_same_user(ctx, clock, tmp_path, world, staff_service):
    """Both desks saw jsmit001 enrolled: one opts out, the other issues a temporary passcode. The first to
    commit wins; the other is refused naming what changed, who changed it and when, and changes nothing."""
    add_staff(staff_service, ("admin01", "Alex Admin", StaffRole.administrator),
              ("admin02", "Avery Admin", StaffRole.administrator))
    enroll(ctx, world.primary_id)
    shown = version_of(ctx, world.primary_id)
    answers = run_desks(ctx.db, clock, tmp_path,
                        ("opt_out", {"user_id": world.primary_id, "expected_version": shown}),
                        ("temporary_passcode", {"actor": "admin02", "actor_name": "Avery Admin",
                                                "user_id": world.primary_id, "expected_version": shown}))
    done, refused = one_winner(answers)
    assert refused["error"] == "ConcurrentChange"
    winner = "Alex Admin" if done is answers[0] else "Avery Admin"
    assert "Another desk changed jsmit001" in refused["message"] and f"by {winner} at " in refused["message"]
    with ctx.db.read() as s:
        user = s.get(User, world.primary_id)
        passcodes = s.scalar(select(func.count()).select_from(DeviceHolding).join(SecurityDevice).where(
            DeviceHolding.user_id == user.id, SecurityDevice.kind == "temporary_passcode"))
        assert (user.sls_state, passcodes) in ((SlsState.opted_out, 0), (SlsState.enrolled, 1))
        assert audit.verify(s).ok


def test_two_desks_start_an_opt_in_for_the_same_user(ctx, clock, tmp_path, world):
    """Both desks saw jsmit001 opted out and start an IB Key opt-in: the second is refused, the first
    desk's pending device is kept (not silently replaced)."""
    shown = version_of(ctx, world.primary_id)
    args = {"user_id": world.primary_id, "expected_version": shown}
    done, refused = one_winner(run_desks(ctx.db, clock, tmp_path, ("start_ib_key", args), ("start_ib_key", args)))
    assert refused["error"] == "ConcurrentChange" and "Opt-in of jsmit001 started" in refused["message"]
    with ctx.db.read() as s:
        pending = list(s.scalars(select(SecurityDevice.id).join(DeviceHolding).where(
            DeviceHolding.user_id == world.primary_id, SecurityDevice.state == DeviceState.pending)))
        assert pending == [done["result"]]


def test_two_desks_set_a_figure_for_the_first_time(ctx, clock, tmp_path):
    """Both desks were shown the default 21 days and change it: one is stored, the other is refused naming
    the change, not silently replaced (SQLite) nor a duplicate key traceback (PostgreSQL)."""
    key = "online_card_validity_days"
    done, refused = one_winner(run_desks(ctx.db, clock, tmp_path,
                                         ("setting", {"key": key, "value": 30, "shown": 21}),
                                         ("setting", {"key": key, "value": 45, "shown": 21})))
    assert refused["error"] == "ConcurrentChange" and "21 days →" in refused["message"]
    with ctx.db.read() as s:
        assert s.get(Setting, key).value == str(done["result"])


def test_two_desks_receive_the_same_serial(ctx, clock, tmp_path):
    """The same card received at two desks: it is in stock once, the other desk is told it is on record."""
    args = {"actor": "boff01", "actor_name": "Bob Office", "role": "back_office", "serials": "DSC000000777"}
    _, refused = one_winner(run_desks(ctx.db, clock, tmp_path, ("receive", args), ("receive", args)))
    assert "DSC000000777 is already on record" in refused["message"]
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(SecurityDevice)
                        .where(SecurityDevice.serial == "DSC000000777")) == 1


def test_two_desks_import_the_same_file(ctx, clock, tmp_path):
    """The same file imported at two desks at once: its users are created once; the second import finds them
    all on record and creates none."""
    args = {"actor": "boff01", "actor_name": "Bob Office", "role": "back_office", "path": str(SAMPLE)}
    answers = run_desks(ctx.db, clock, tmp_path, ("import", args), ("import", args))
    created = sorted(a["result"] for a in answers)
    assert all(a["outcome"] == "done" for a in answers) and created[0] == 0 and created[1] > 0, answers
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(User)) == created[1]


def test_rows_added_after_the_demo_get_fresh_ids(ctx):
    """The demo stores rows with ids of its own; an ordinary insert afterwards must not collide (PostgreSQL's
    id sequences are moved past them)."""
    generate(ctx, Figures(), 30, seed=3)
    with ctx.db.write() as s:
        person = add_person(s, "After Demo")
        assert person.id > s.scalar(select(func.min(Person.id)))


def test_two_reviewers_decide_the_same_sharing_request(ctx, clock, tmp_path, world, agent):
    """Two compliance reviewers had the same waiting request on screen; one approves, the other rejects. The
    first to commit decides; the other is refused naming that decision, who made it and when; the requester's
    state is the winner's."""
    import pyotp

    from console.models.enrollment import EnrollmentService
    from console.models.entities import SharingRequest
    from tests.factories import add_same_person_username
    from tests.sessions import signed_in

    twin = add_same_person_username(ctx, world.primary_id, "jsmit777", "U2222222")
    device_id, _, seed = twin["devices"][0]
    svc = EnrollmentService(ctx)
    svc.start_shared(agent, world.primary_id, "jsmit777")
    request_id = svc.confirm(agent, world.primary_id, device_id, pyotp.TOTP(seed).at(clock.now())).request_id
    signed_in(ctx, "comp01", "Carla Compliance", StaffRole.compliance)
    signed_in(ctx, "comp02", "Chris Compliance", StaffRole.compliance)
    with ctx.db.read() as s:
        shown = s.get(SharingRequest, request_id).version
    answers = run_desks(ctx.db, clock, tmp_path,
                        ("approve", {"actor": "comp01", "actor_name": "Carla Compliance", "role": "compliance",
                                     "request_id": request_id, "reason": "Passport matches",
                                     "expected_version": shown}),
                        ("reject", {"actor": "comp02", "actor_name": "Chris Compliance", "role": "compliance",
                                    "request_id": request_id, "reason": "Could not confirm the ID",
                                    "expected_version": shown}))
    done, refused = one_winner(answers)
    winner = "Carla Compliance" if done["result"] == "approved" else "Chris Compliance"
    assert refused["error"] == "ConcurrentChange", refused
    assert refused["message"].startswith("Another desk changed the sharing request of jsmit001 while you were "
                                         "working on it: Sharing of IB Key"), refused
    assert f"(by {winner} at " in refused["message"], refused
    with ctx.db.read() as s:
        assert s.get(SharingRequest, request_id).state.name == done["result"]
        assert s.get(User, world.primary_id).sls_state is (
            SlsState.enrolled if done["result"] == "approved" else SlsState.opted_out)
        assert audit.verify(s).ok
