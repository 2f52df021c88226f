"""Reading users: filters, counts per state, windows equal to a plain SQL query, details."""

import pytest
from sqlalchemy import select

from console.models.demo import generate
from console.models.directory import UserDirectory, UserQuery
from console.models.entities import Account, User
from console.models.enums import SlsState
from console.models.settings import Figures


@pytest.fixture
def demo_ctx(ctx):
    generate(ctx, Figures(), 600, seed=7)
    return ctx


def test_username_prefix_filter(ctx, world):
    """A username prefix finds exactly the users whose username starts with it."""
    d = UserDirectory(ctx)
    rows = d.window(UserQuery(text="jsmit"), 0, 50)
    assert [r.username for r in rows] == ["jsmit001", "jsmit123"]
    assert d.count(UserQuery(text="jsmit1")) == 1


def test_name_prefix_filter_ignores_case_and_spaces(ctx, world):
    """Names match from their start, in any case, with surrounding spaces ignored."""
    rows = UserDirectory(ctx).window(UserQuery(text="  JOHN sm "), 0, 50)
    assert [r.username for r in rows] == ["jsmit123"]


def test_account_prefix_filter(ctx, world):
    """An account number (or its start) lists that account's users."""
    rows = UserDirectory(ctx).window(UserQuery(text="u7654"), 0, 50)
    assert {r.username for r in rows} == {"aarch001", "bbake001"}


def test_account_number_without_its_u_finds_the_account(ctx, world):
    """Digits alone are an account number: "7654321" and "765" find U7654321's users."""
    d = UserDirectory(ctx)
    for text in ("7654321", "765", "U7654321"):
        assert {r.username for r in d.window(UserQuery(text=text), 0, 50)} == {"aarch001", "bbake001"}, text
    assert d.count(UserQuery(text="9999")) == 0


def test_any_word_of_the_name_matches_by_default(ctx, world):
    """A surname finds its people without "Match inside names": "Smith" finds both Smiths, "baker" Bob Baker,
    and a word's start is enough ("arch" finds Alice Archer); the middle of a word is not ("mith")."""
    d = UserDirectory(ctx)
    assert {r.username for r in d.window(UserQuery(text="Smith"), 0, 50)} == {"jsmit001", "jsmit123"}
    assert [r.username for r in d.window(UserQuery(text="baker"), 0, 50)] == ["bbake001"]
    assert [r.username for r in d.window(UserQuery(text="arch"), 0, 50)] == ["aarch001"]
    assert d.count(UserQuery(text="mith")) == 0
    assert d.count(UserQuery(text="mith", contains=True)) == 2


def test_counts_by_state_follow_text_filter_not_state_filter(ctx, world):
    """Counts per state reflect the text filter and ignore the chosen state."""
    d = UserDirectory(ctx)
    assert d.counts_by_state(UserQuery(state=SlsState.enrolled)) == {
        SlsState.enrolled: 2, SlsState.opted_out: 2, SlsState.pending: 0, SlsState.no_device: 0, SlsState.closed: 0}
    assert d.counts_by_state(UserQuery(text="jsmit")) == {
        SlsState.enrolled: 1, SlsState.opted_out: 1, SlsState.pending: 0, SlsState.no_device: 0, SlsState.closed: 0}


@pytest.mark.parametrize("sort", ["username", "full_name", "account", "role", "sls_state", "active_devices"])
@pytest.mark.parametrize("descending", [False, True])
def test_windows_at_every_offset_equal_plain_sql(demo_ctx, sort, descending):
    """Reading the list window by window gives exactly the rows of one ordered SQL query."""
    d = UserDirectory(demo_ctx)
    q = UserQuery(sort=sort, descending=descending)
    columns = {"username": User.username, "full_name": User.name_key, "account": Account.number,
               "role": User.role, "sls_state": User.sls_state, "active_devices": User.active_devices}
    key = columns[sort]
    order = [key.desc(), User.id.desc()] if descending else [key, User.id]
    with demo_ctx.db.read() as s:
        expected = list(s.scalars(select(User.id).join(Account, Account.id == User.account_id).order_by(*order)))
    total = d.count(q)
    assert total == len(expected)
    got = []
    for offset in range(0, total, 97):
        got.extend(r.id for r in d.window(q, offset, 97))
    assert got == expected


def test_details_of_missing_user_is_a_clear_error(ctx):
    """Asking for a user that no longer exists says so."""
    from console.models.errors import NotFound

    with pytest.raises(NotFound, match="no longer exists"):
        UserDirectory(ctx).details(999_999)


def test_demo_data_covers_every_state_kind_and_sharing(demo_ctx):
    """Demo data has users in every state, devices of each kind, shared devices, charges, an intact trail."""
    from sqlalchemy import func

    from console.app import run_startup_tasks
    from console.models import audit
    from console.models.entities import AuditEntry, Charge, DeviceHolding, SecurityDevice
    from console.models.enums import AccountKind, DeviceKind

    run_startup_tasks(demo_ctx)  # expires the temporary access whose end has passed
    with demo_ctx.db.read() as s:
        # Every state but "account closed", which only the closing service produces.
        assert {st for (st,) in s.execute(select(User.sls_state).distinct())} == set(SlsState) - {SlsState.closed}
        assert {k for (k,) in s.execute(select(Account.kind).distinct())} == set(AccountKind)
        kinds = {k for (k,) in s.execute(select(SecurityDevice.kind).distinct())}
        assert {DeviceKind.ib_key, DeviceKind.dsc_plus, DeviceKind.code_card} <= kinds
        shared = s.execute(select(DeviceHolding.device_id).group_by(DeviceHolding.device_id)
                           .having(func.count() > 1)).all()
        assert shared, "some devices are shared between usernames of one person"
        multi_account_persons = s.execute(select(User.person_id).group_by(User.person_id)
                                          .having(func.count(func.distinct(User.account_id)) > 1)).all()
        assert multi_account_persons, "some persons hold usernames in several accounts"
        assert s.scalar(select(func.count()).select_from(Charge)) > 0
        for user in s.scalars(select(User).where(User.sls_state == SlsState.enrolled).limit(200)):
            assert user.active_devices >= 1
        result = audit.verify(s)
        assert result.ok and result.count == s.scalar(select(func.count()).select_from(AuditEntry))


def test_demo_data_has_no_event_in_the_future(demo_ctx):
    """Every demo audit entry, enrollment and loss happened before the clock's now."""
    from sqlalchemy import func

    from console.models.entities import AuditEntry, DeviceHolding, SecurityDevice

    now = demo_ctx.clock.now()
    with demo_ctx.db.read() as s:
        assert s.scalar(select(func.max(AuditEntry.at))) <= now
        assert s.scalar(select(func.max(DeviceHolding.since))) <= now
        assert s.scalar(select(func.max(SecurityDevice.issued_at))) <= now


def test_demo_never_leaves_an_enrolled_user_without_an_active_device(ctx):
    """Even after a demo loss, every enrolled user holds an active device (a replacement or a temporary
    passcode), and users.active_devices equals the real count."""
    from sqlalchemy import func

    from console.models.entities import DeviceHolding, SecurityDevice
    from console.models.enums import DeviceState

    generate(ctx, Figures(), 3000, seed=21)
    real = (select(DeviceHolding.user_id, func.count().label("n"))
            .join(SecurityDevice, SecurityDevice.id == DeviceHolding.device_id)
            .where(SecurityDevice.state == DeviceState.active).group_by(DeviceHolding.user_id).subquery())
    with ctx.db.read() as s:
        rows = s.execute(select(User.username, User.sls_state, User.active_devices, func.coalesce(real.c.n, 0))
                         .outerjoin(real, real.c.user_id == User.id)).all()
        losses = s.scalar(select(func.count()).select_from(SecurityDevice)
                          .where(SecurityDevice.replaces_id.is_not(None)))
    assert losses > 0, "the demo includes lost and replaced devices"
    assert [r for r in rows if r[1] is SlsState.enrolled and r[3] == 0] == []
    assert [r for r in rows if r[2] != r[3]] == []


def test_details_keep_device_history_and_due_dates_as_the_devices_window(ctx, world, back_office):
    """A shipped card shows its activation date (marked passed once it is); a lost one stays listed, out of use."""
    from console.models.devices import DeviceService
    from tests.factories import add_device
    from tests.lifecycle import enroll_primary, make_rich

    devices = DeviceService(ctx)
    make_rich(ctx, world.account_id)
    key = enroll_primary(ctx, world)  # jsmit001 holds the rights: a DSC+ can be shipped to it
    card = devices.receive_stock(back_office, "DSC000000556")[0]
    devices.ship(back_office, card, world.primary_id)
    with ctx.db.write() as s:  # a second IB Key keeps the user protected after the loss
        add_device(s, ctx, s.get(User, world.primary_id), preferred=False)
    devices.report(back_office, key, "lost", user_id=world.primary_id)
    d = UserDirectory(ctx)
    by_id = {dev.id: dev for dev in d.details(world.primary_id).devices}
    shipped, lost = by_id[card], by_id[key]
    assert shipped.in_use and shipped.due_at == devices.get(card).due_at and not shipped.due_passed
    assert not lost.in_use and lost.state.name == "lost"
    ctx.clock.advance(days=60)
    assert {dev.id: dev.due_passed for dev in d.details(world.primary_id).devices}[card]
