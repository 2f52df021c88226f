"""The vault's code checks count wrong codes themselves (PostgreSQL): the desks' role, calling the check
functions directly, gets the same few tries per device as the console allows, then a refusal that even the
right code does not lift; only the console's unlock does. A firm-wide cap per minute bounds what rolling a
transaction back (which undoes a count) could win. Neither count is in a table the desks' role can write."""

from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from console.models import vault
from console.models.context import ServiceContext
from console.models.entities import SecurityDevice
from console.models.errors import DeviceLocked, VerificationFailed
from console.models.temporary_access import TemporaryAccessService
from console.models.verification import VerificationService
from tests.sls_helpers import set_figure


@pytest.fixture
def desk(desk_db, box, clock) -> ServiceContext:
    return ServiceContext(desk_db, box, clock)


def wrong_code(right: str) -> str:
    return "000000" if right != "000000" else "111111"


def check(desk: ServiceContext, box, device_id: int, code: str, step: int):
    """One direct call of the check function as the desks' role, in its own committed transaction."""
    with desk.db.engine.begin() as conn:
        return conn.scalar(text("SELECT sls_vault_otp_match(:d, :k, :c, :f, :l, 6)"),
                           {"d": device_id, "k": vault.vault_key(box), "c": code, "f": step, "l": step})


def sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)


def test_direct_calls_lock_the_device_at_the_consoles_figure(desk, ctx, world, box, clock):
    """A loop of wrong codes straight at the function: refused after `lockout_failures` (here 3, from the
    settings), and then even the right code is refused without being checked."""
    set_figure(ctx, "lockout_failures", 3)
    step = int(clock.now().timestamp()) // 30
    right = pyotp.TOTP(world.secondary_seed).at(clock.now())
    answers = []
    for _ in range(10):
        try:
            answers.append(check(desk, box, world.secondary_device_id, wrong_code(right), step))
        except DBAPIError as exc:
            answers.append(sqlstate(exc))
    assert answers == [None, None, None] + ["SL001"] * 7
    with pytest.raises(DBAPIError) as refused:
        check(desk, box, world.secondary_device_id, right, step)
    assert sqlstate(refused.value) == "SL001"


def test_a_right_code_clears_the_count_and_the_console_unlock_clears_the_lock(desk, ctx, world, box, clock,
                                                                               agent):
    set_figure(ctx, "lockout_failures", 3)
    step = int(clock.now().timestamp()) // 30
    right = pyotp.TOTP(world.secondary_seed).at(clock.now())
    for _ in range(2):
        assert check(desk, box, world.secondary_device_id, wrong_code(right), step) is None
    assert check(desk, box, world.secondary_device_id, right, step) == step  # two wrong, then right: counted 0
    for _ in range(3):
        assert check(desk, box, world.secondary_device_id, wrong_code(right), step) is None
    with pytest.raises(DBAPIError):
        check(desk, box, world.secondary_device_id, right, step)
    # The console (as the desks' role) meets the server's lock as a locked device, and its unlock lifts both.
    service = VerificationService(desk)
    with pytest.raises(DeviceLocked, match="counted by the server"):
        service.verify(agent, world.secondary_device_id, right)
    with desk.db.write() as s:
        s.get(SecurityDevice, world.secondary_device_id).locked = True
    service.unlock(agent, world.secondary_device_id, "client called")
    assert check(desk, box, world.secondary_device_id, right, step) == step


def test_the_desks_role_cannot_reset_the_servers_counts(desk, world, box, clock):
    step = int(clock.now().timestamp()) // 30
    check(desk, box, world.secondary_device_id, "000000", step)
    for sql in ("DELETE FROM vault_failures", "UPDATE vault_failures SET failures = 0",
                "SELECT * FROM vault_failures", "SELECT nextval('vault_checks')",
                "SELECT setval('vault_checks', 1)", "SELECT sls_vault_counted(1, true)"):
        with pytest.raises(ProgrammingError, match="permission denied"):
            with desk.db.engine.begin() as conn:
                conn.execute(text(sql))


def test_console_failures_and_server_failures_agree(desk, ctx, world, agent):
    """Through the console the device locks at its own count first ("2 tries left"), the server's count
    never ahead of it: a temporary passcode (one slot), checked as the desks' role."""
    issued = TemporaryAccessService(desk).issue_temporary_passcode(agent, world.secondary_id, identity_verified=True)
    wrong = "ABCD2345" if issued.passcode != "ABCD2345" else "ABCD2346"
    service = VerificationService(desk)
    told = []
    for _ in range(5):
        with pytest.raises(VerificationFailed) as failed:
            service.verify(agent, issued.device_id, wrong)
        told.append(str(failed.value))
    assert "2 tries left" in told[2] and "now locked" in told[4]
    with ctx.db.read() as s:  # read as the owner
        assert s.scalar(text("SELECT failures FROM vault_failures WHERE device_id = :d"), {"d": issued.device_id}) == 5


def test_rolled_back_guesses_still_meet_the_firms_cap(desk, ctx, world, box, clock):
    """Rolling each guess back undoes the device's count, but not the firm-wide count of checks (a sequence):
    past `vault_checks_per_minute` every check is refused, for every device."""
    set_figure(ctx, "vault_checks_per_minute", 10)
    step = int(clock.now().timestamp()) // 30
    refused_at = None
    for attempt in range(40):
        conn = desk.db.engine.connect()
        try:
            conn.execute(text("SELECT sls_vault_otp_match(:d, :k, '000000', :s, :s, 6)"),
                         {"d": world.secondary_device_id, "k": vault.vault_key(box), "s": step})
        except DBAPIError as exc:
            assert sqlstate(exc) == "SL002"
            refused_at = attempt
            break
        finally:
            conn.rollback()
            conn.close()
    assert refused_at is not None and refused_at <= 11
    with pytest.raises(DBAPIError) as refused:
        check(desk, box, world.secondary_device_id, "000000", step)
    assert sqlstate(refused.value) == "SL002"


def test_a_texted_code_is_kept_where_the_desks_role_cannot_read_or_replace_it(desk, ctx, world, agent, box):
    """SMS on PostgreSQL: the code's hash is in the vault (nothing in the challenge's text), the desks' role can
    neither read it nor clear it to store one of its own, and the console still checks codes as that role;
    direct guesses meet the same per-device count."""
    from console.models.sms import Outbox, SmsService
    from tests.sls_helpers import lose_only_device

    lose_only_device(desk, agent, world)
    outbox = Outbox()
    sms = SmsService(desk, outbox)
    issued = sms.issue(agent, world.secondary_id, "+41 79 123 45 67", identity_verified=True)
    sent = sms.send_code(agent, issued.device_id)
    code = outbox.last_code("+41791234567")
    with desk.db.engine.connect() as conn:
        assert conn.scalar(text("SELECT text FROM challenges WHERE id = :c"), {"c": sent.challenge_id}) == ""
    for sql in ("SELECT secret_hash FROM challenges", "SELECT * FROM challenges",
                "UPDATE challenges SET secret_hash = NULL"):
        with pytest.raises(ProgrammingError, match="permission denied"):
            with desk.db.engine.begin() as conn:
                conn.execute(text(sql))
    with pytest.raises(DBAPIError):  # a code is stored once
        with desk.db.engine.begin() as conn:
            conn.execute(text("SELECT sls_vault_store_code(:c, :h)"), {"c": sent.challenge_id, "h": bytes(32)})
    set_figure(ctx, "lockout_failures", 3)
    answers = []
    for guess in range(5):  # straight at the function, as the desks' role
        try:
            with desk.db.engine.begin() as conn:
                answers.append(conn.scalar(text("SELECT sls_vault_code_matches(:c, :h)"),
                                           {"c": sent.challenge_id, "h": bytes([guess]) * 32}))
        except DBAPIError as exc:
            answers.append(sqlstate(exc))
    assert answers == [False, False, False, "SL001", "SL001"]
    with ctx.db.write() as s:  # an administrator unlocks it through the console
        s.get(SecurityDevice, issued.device_id).locked = True
    VerificationService(desk).unlock(agent, issued.device_id, "client called")
    VerificationService(desk).verify(agent, issued.device_id, code, challenge_id=sent.challenge_id)
