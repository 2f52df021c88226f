"""Withdrawal limits by protection level: from the user's devices, as settings, changed by opt-in and opt-out."""

import pytest

from console.models.directory import UserDirectory
from console.models.enrollment import EnrollmentService
from console.models.entities import AuditEntry
from console.models.enums import DeviceKind, Restriction
from console.models.limits import Limit, limit_for, no_device_limit
from console.models.settings import Figures
from console.models.temporary_access import TemporaryAccessService
from tests.factories import add_device
from tests.sls_helpers import lose_only_device, opt_in_by_ib_key, opt_out, set_figure


def limits(ctx, user_id):
    return UserDirectory(ctx).details(user_id).limits


@pytest.mark.parametrize("kind, day, five", [
    (DeviceKind.sms, 200_000, 600_000), (DeviceKind.ib_key, 1_000_000, 1_000_000),
    (DeviceKind.code_card, 200_000, 600_000), (DeviceKind.online_code_card, 200_000, 600_000),
    (DeviceKind.dsc_plus, None, None), (DeviceKind.temporary_passcode, 50_000, 100_000),
    (DeviceKind.gold, 1_000_000, 1_000_000), (DeviceKind.platinum, 1_000_000, 1_000_000)])
def test_each_kind_has_the_published_limit(kind, day, five):
    """The table of domain-facts: SMS and cards 200K/600K, IB Key 1M/1M, DSC+ no limit; a passcode proves no
    device, so it has the limits of a user without one. Gold and Platinum (legacy, not in the table) get the
    high row by our decision (docs/sls-rules.md), never "no device"."""
    assert limit_for(kind, Figures()) == Limit(day, five)
    assert no_device_limit(Figures()) == Limit(50_000, 100_000)


def test_opted_out_user_has_the_lowest_limits(ctx, world):
    """jsmit001 is opted out: USD 50,000 per day, USD 100,000 per 5 business days, no device listed."""
    lim = limits(ctx, world.primary_id)
    assert lim.per_device == () and lim.best == Limit(50_000, 100_000)
    assert lim.text == "USD 50,000 per day, USD 100,000 per 5 business days (no security device)"


def test_each_active_device_shows_its_limit_and_the_best_is_offered(ctx, world):
    """Under M2FS the device used at login decides: an IB Key and a DSC+ give two limits, the best is none."""
    with ctx.db.write() as s:
        from console.models.entities import User

        add_device(s, ctx, s.get(User, world.secondary_id), DeviceKind.dsc_plus, serial="DSC000000001",
                   preferred=False)
    lim = limits(ctx, world.secondary_id)
    assert sorted(d.limit.rank for d in lim.per_device) == [(1_000_000, 1_000_000), (float("inf"), float("inf"))]
    assert lim.best == Limit(None, None) and lim.text == "up to no limit"


def test_limits_are_settings(ctx, world):
    """Changing the IB Key row changes what an IB Key user may withdraw, at once."""
    set_figure(ctx, "limit_ib_key_day_usd", 750_000)
    assert limits(ctx, world.secondary_id).best == Limit(750_000, 1_000_000)


def test_opt_in_raises_and_opt_out_lowers_the_limits(ctx, world, agent):
    """Opting jsmit001 in by IB Key gives 1M/1M; opting out again brings back 50K/100K, recorded in the audit."""
    opt_in_by_ib_key(ctx, agent, world.primary_id)
    assert limits(ctx, world.primary_id).best == Limit(1_000_000, 1_000_000)
    result = opt_out(ctx, agent, world.primary_id)
    assert limits(ctx, world.primary_id).best == Limit(50_000, 100_000)
    assert result.limits_before.startswith("up to USD 1,000,000 per day")
    assert result.limits_after == "USD 50,000 per day, USD 100,000 per 5 business days"
    with ctx.db.read() as s:
        from sqlalchemy import select

        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "user.opted_out")).one()
        assert "withdrawals limited to USD 50,000 per day" in entry.summary


def test_pending_user_keeps_the_opted_out_limits(ctx, world, agent):
    """An opt-in in progress proves nothing yet: the limits stay those of a user without a device."""
    EnrollmentService(ctx).start_ib_key(agent, world.primary_id)
    assert limits(ctx, world.primary_id).best == Limit(50_000, 100_000)


def test_opt_out_statement_states_the_limits_as_set(ctx):
    """The acknowledgement the client hears names the limits, and follows a changed setting."""
    svc = EnrollmentService(ctx)
    assert "USD 50,000 per day, USD 100,000 per 5 business days" in svc.opt_out_statement()
    set_figure(ctx, "limit_none_day_usd", 25_000)
    assert "USD 25,000 per day" in svc.opt_out_statement()
    assert "USD 25,000 per day" in svc.opt_out_explanations()[Restriction.reduced_withdrawal_limits]


def test_expired_temporary_access_gives_no_limit_of_its_own(ctx, world, agent):
    """After a loss the passcode gives the lowest row; once it has run out it is not listed at all."""
    lose_only_device(ctx, agent, world)
    lim = limits(ctx, world.secondary_id)
    assert [d.label for d in lim.per_device] == ["Temporary passcode"] and lim.best == Limit(50_000, 100_000)
    ctx.clock.advance(days=13)
    TemporaryAccessService(ctx).expire_due(agent)
    assert limits(ctx, world.secondary_id).per_device == ()


def test_limit_setting_refuses_bad_values(ctx, admin):
    """A negative limit is refused with its range and changes nothing."""
    from console.models.errors import InvalidInput
    from console.models.settings_service import SettingsService

    with pytest.raises(InvalidInput, match="between 0 and"):
        SettingsService(ctx).update(admin, "limit_sms_day_usd", -1)
    assert SettingsService(ctx).figures().limit_sms_day_usd == 200_000


def test_an_imported_legacy_card_gives_its_own_limits_which_are_settings(ctx, world, admin, back_office, tmp_path):
    """A user imported with a Gold card is enrolled with the legacy row's limits, and the firm can change them."""
    from console.models.import_format import COLUMNS
    from console.models.importing import ImportService

    path = tmp_path / "legacy.csv"
    path.write_text(",".join((*COLUMNS, "legacy_device", "legacy_serial")) + "\n" + ",".join([
        "U5550001", "individual", "Gold client", "goldc001", "Gail Gold", "primary", "1961-02-03", "US", "US",
        "passport", "P5550001", "gold", "G-000123"]) + "\n", encoding="utf-8")
    ImportService(ctx).apply(back_office, path)
    user_id = UserDirectory(ctx).find_by_username("goldc001")
    lim = limits(ctx, user_id)
    assert [(d.label, d.limit) for d in lim.per_device] == [("Gold card (legacy) G-000123",
                                                             Limit(1_000_000, 1_000_000))]
    set_figure(ctx, "limit_legacy_day_usd", 750_000)
    assert limits(ctx, user_id).best == Limit(750_000, 1_000_000)
