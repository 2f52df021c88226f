"""Second factors no desk can read (docs/trust.md): on PostgreSQL the desks' role, with a desk's key file and
no sign-in, cannot read a seed, a card value's or a passcode's hash, or the vault's server key, while the console
working as that role still stores and checks every kind of second factor."""

from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from console.models import vault
from console.models.context import ServiceContext
from console.models.enrollment import EnrollmentService
from console.models.entities import SecurityDevice
from console.models.errors import PermissionDenied, RuleViolation, VerificationFailed
from console.models.temporary_access import TemporaryAccessService
from console.models.verification import VerificationService
from tests.seeds import stored_seed

DENIED = "permission denied"


@pytest.fixture
def desk(desk_db, box, clock) -> ServiceContext:
    """The console as a desk runs it: the desks' database role and the desk's master key."""
    return ServiceContext(desk_db, box, clock)


def _refused(database, sql: str, **params) -> None:
    with pytest.raises(ProgrammingError, match=DENIED):
        with database.engine.begin() as conn:
            conn.execute(text(sql), params)


def test_the_desks_role_and_key_file_open_no_seed_and_no_hash(desk, world, agent, box):
    """Whatever a desk's files hold, the server refuses the secret columns, the server key and the helper that
    makes a seed's key; the one function that touches a seed answers yes or no, never the seed."""
    issued = TemporaryAccessService(desk).issue_temporary_passcode(agent, world.secondary_id, identity_verified=True)
    card = EnrollmentService(desk).start_online_card(agent, world.primary_id)
    for sql in ("SELECT sealed_secret FROM devices", "SELECT secret_hash FROM devices", "SELECT * FROM devices",
                "SELECT server_key FROM vault_keys",
                "SELECT sls_vault_pepper(1, 1, '\\x00'::bytea)",
                "SELECT sls_vault_pepper_all(1, '\\x0000'::bytea, 2)"):
        _refused(desk.db, sql)
    _refused(desk.db, "SELECT pgp_sym_decrypt_bytea(substring(sealed_secret FROM 2), sls_vault_seed_key(id, :k)) "
                      "FROM devices", k=vault.vault_key(box))
    with desk.db.read() as s:  # the desk's own path to a plain seed is closed too
        device = s.get(SecurityDevice, world.secondary_device_id)
        with pytest.raises(PermissionDenied, match="no desk can read"):
            vault.open_seed(s, box, device)
        readable = s.execute(text("SELECT id, secret_salt, kind FROM devices WHERE id IN (:p, :c)"),
                             {"p": issued.device_id, "c": card.device_id}).all()
        assert len(readable) == 2  # what is not secret stays readable
    with pytest.raises(ProgrammingError, match=DENIED):
        stored_seed(desk, world.secondary_device_id)


def test_a_seed_in_the_vault_is_never_replaced_by_a_desk(desk, ctx, world, box):
    """Storing a seed the desk knows over a client's seed is refused: the desk could then make its codes."""
    for sql in ("UPDATE devices SET sealed_secret = NULL", "UPDATE devices SET secret_hash = NULL"):
        _refused(desk.db, sql)  # clearing it first, to store one it knows, is refused too
    with pytest.raises(RuleViolation, match="already stored"):
        with desk.db.write() as s:
            device = s.get(SecurityDevice, world.secondary_device_id)
            vault.store_seed(s, box, device, pyotp.random_base32())
    assert stored_seed(ctx, world.secondary_device_id) == world.secondary_seed  # read as the owner: unchanged


def test_ib_key_card_and_passcode_are_stored_and_checked_as_the_desks_role(desk, world, agent, clock):
    """Opt-in by IB Key, a code card's challenge and a temporary passcode, all through the console as the
    desks' role: right answers accepted, wrong ones refused."""
    enrollment, verification = EnrollmentService(desk), VerificationService(desk)
    start = enrollment.start_ib_key(agent, world.primary_id)
    with pytest.raises(VerificationFailed):
        enrollment.confirm(agent, world.primary_id, start.device_id, "000000" if pyotp.TOTP(start.secret).now()
                           != "000000" else "111111")
    enrollment.confirm(agent, world.primary_id, start.device_id, pyotp.TOTP(start.secret).at(clock.now()))

    card = EnrollmentService(desk).start_online_card(agent, world.org_holder_id)
    ch = enrollment.new_challenge(agent, world.org_holder_id, card.device_id)
    a, b = ch.positions
    wrong = "".join("A" if c != "A" else "B" for c in card.values[a] + card.values[b])
    with pytest.raises(VerificationFailed, match=f"index numbers {a} and {b}"):
        enrollment.confirm(agent, world.org_holder_id, card.device_id, wrong, challenge_id=ch.id)
    ch = enrollment.new_challenge(agent, world.org_holder_id, card.device_id)
    a, b = ch.positions
    enrollment.confirm(agent, world.org_holder_id, card.device_id, card.values[a] + card.values[b],
                       challenge_id=ch.id)

    issued = TemporaryAccessService(desk).issue_temporary_passcode(agent, world.secondary_id,
                                                                    identity_verified=True)
    with pytest.raises(VerificationFailed, match="not correct"):
        verification.verify(agent, issued.device_id, "ABCD2345" if issued.passcode != "ABCD2345" else "ABCD2346")
    assert verification.verify(agent, issued.device_id, issued.passcode).access == "full"


def test_the_server_computes_the_same_codes_as_the_client_app(ctx, world, clock):
    """The vault's HOTP (6-digit TOTP steps, 8-digit DSC+ answers) agrees with pyotp, on either database."""
    seed = world.secondary_seed
    step = int(clock.now().timestamp()) // 30
    with ctx.db.read() as s:
        device = s.get(SecurityDevice, world.secondary_device_id)
        for counter in (step - 1, step, 123456):
            for digits in (6, 8):
                code = pyotp.HOTP(seed, digits=digits).at(counter)
                assert vault.otp_match(s, ctx.box, device, code, counter - 1, counter + 1, digits) == counter
        assert vault.otp_match(s, ctx.box, device, "12345678", 5, 5, 8) in (None, 5)


def test_moving_seeds_into_the_vault_is_not_stopped_by_the_desks_statement_timeout(ctx, world, clock):
    """`db grant` and the demo move every desk-sealed seed in one administrator's step; the desks' statement
    timeout (there so one stuck query never freezes a desk) stopped it halfway at a million demo users. Here the
    timeout is 1 ms, and the seed still moves and answers through the server."""
    if ctx.db.is_sqlite:
        pytest.skip("the vault is PostgreSQL's")
    from console.models.sealing import device_context

    seed = pyotp.random_base32()
    with ctx.db.write() as s:
        device = s.get(SecurityDevice, world.secondary_device_id)
        device.sealed_secret = ctx.box.seal(s, seed.encode(), device_context(device.id))
    with ctx.db.write() as s:
        s.execute(text("SET LOCAL statement_timeout = 1"))
        assert vault.adopt_sealed_seeds(s, ctx.box) == 1
        # A million devices take minutes; on this small world only the setting shows it would not be stopped.
        assert s.execute(text("SHOW statement_timeout")).scalar() == "0"
    step = int(clock.now().timestamp()) // 30
    with ctx.db.read() as s:
        device = s.get(SecurityDevice, world.secondary_device_id)
        assert vault.otp_match(s, ctx.box, device, pyotp.HOTP(seed).at(step), step - 1, step + 1, 6) == step
