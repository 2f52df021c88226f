"""the vault's code checks count failures themselves: a device locks on the server too, and the firm has a cap

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01

PostgreSQL only. The desks' role may call the vault's check functions directly (migration 0011), so without
this it could guess a device's codes as fast as the server answers, resetting the desk-side failure count
(a column it can write) as it goes. Now, in tables and a sequence the desks' role cannot write:
- vault_failures counts a device's wrong codes in a row; past the `lockout_failures` setting (the figure the
  console's device lock uses, clamped to that setting's allowed range) the check refuses without checking.
  A right code, or the console's unlock (sls_vault_unlock), clears it.
- vault_checks, a sequence (it counts even checks whose transaction is rolled back), caps the code checks of
  the whole firm per minute at the `vault_checks_per_minute` setting. This bounds what
  the per-device count cannot: a caller that rolls its transaction back undoes its failure count, and one
  that unlocks the device again; neither gets past the firm-wide cap.
Card answers are checked as one (both values, one count) by sls_vault_slots_match, which replaces
sls_vault_slot_matches. Roles that could call the old check functions may call the new ones.
"""
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DEFINER = "LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp"
# The settings' defaults and ranges as the console knows them at this revision (console/models/settings.py).
LOCKOUT = ("lockout_failures", 5, 1, 100)
CHECKS_PER_MINUTE = ("vault_checks_per_minute", 600, 10, 100_000)


def _figure(key: str, default: int, low: int, high: int) -> str:
    return (f"least(greatest(coalesce((SELECT value::integer FROM settings WHERE key = '{key}' "
            f"AND value ~ '^[0-9]{{1,9}}$'), {default}), {low}), {high})")


FUNCTIONS = [
    # Before any check: the firm-wide cap (counted by a sequence, so a rollback does not undo it), then the
    # device's own count. Owner-only; runs inside the SECURITY DEFINER checks below.
    f"""CREATE FUNCTION sls_vault_admit(p_device bigint) RETURNS void
       LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
       DECLARE minute bigint := floor(extract(epoch FROM clock_timestamp()) / 60);
               n bigint := nextval('vault_checks'); checks bigint; failed integer;
       BEGIN
         -- The sequence holds minute * 10^7 + checks in that minute; a new minute starts it again. Neither
         -- nextval nor setval is undone by a rollback.
         IF n / 10000000 <> minute THEN
           PERFORM setval('vault_checks', minute * 10000000 + 1);
           checks := 1;
         ELSE
           checks := n % 10000000;
         END IF;
         IF checks > {_figure(*CHECKS_PER_MINUTE)} THEN
           RAISE EXCEPTION 'sls_vault: the firm''s code checks for this minute are used up'
             USING ERRCODE = 'SL002';
         END IF;
         SELECT failures INTO failed FROM vault_failures WHERE device_id = p_device FOR UPDATE;
         IF coalesce(failed, 0) >= {_figure(*LOCKOUT)} THEN
           RAISE EXCEPTION 'sls_vault: device % is locked after % wrong codes', p_device, failed
             USING ERRCODE = 'SL001';
         END IF;
       END $$""",
    """CREATE FUNCTION sls_vault_counted(p_device bigint, p_right boolean) RETURNS void
       LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
       BEGIN
         IF p_right THEN
           DELETE FROM vault_failures WHERE device_id = p_device;
         ELSE
           INSERT INTO vault_failures VALUES (p_device, 1, clock_timestamp())
             ON CONFLICT (device_id) DO UPDATE SET failures = vault_failures.failures + 1,
                                                   last_failure_at = excluded.last_failure_at;
         END IF;
       END $$""",
    # As in 0011, with the admission first and the count last.
    f"""CREATE OR REPLACE FUNCTION sls_vault_otp_match(p_device bigint, p_desk_key bytea, p_code text,
                                                       p_first bigint, p_last bigint, p_digits integer)
       RETURNS bigint {_DEFINER} AS $$
       DECLARE sealed bytea; seed bytea; h bytea; o integer; bin bigint; c bigint; matched bigint := NULL;
       BEGIN
         IF p_last < p_first OR p_last - p_first > 20 OR p_digits NOT IN (6, 8) THEN
           RAISE EXCEPTION 'sls_vault: counters % to %, % digits are not checked', p_first, p_last, p_digits
             USING ERRCODE = '22023';
         END IF;
         SELECT sealed_secret INTO sealed FROM devices WHERE id = p_device;
         IF sealed IS NULL OR get_byte(sealed, 0) <> 86 THEN
           RAISE EXCEPTION 'sls_vault: device % has no seed in the vault', p_device USING ERRCODE = 'P0002';
         END IF;
         PERFORM sls_vault_admit(p_device);
         seed := pgp_sym_decrypt_bytea(substring(sealed FROM 2), sls_vault_seed_key(p_device, p_desk_key));
         FOR c IN p_first .. p_last LOOP
           h := hmac(int8send(c), seed, 'sha1');
           o := get_byte(h, 19) & 15;
           bin := ((get_byte(h, o) & 127)::bigint << 24) | (get_byte(h, o + 1)::bigint << 16)
                  | (get_byte(h, o + 2)::bigint << 8) | get_byte(h, o + 3)::bigint;
           IF lpad((bin % power(10, p_digits)::bigint)::text, p_digits, '0') = p_code THEN
             matched := c;
           END IF;
         END LOOP;
         PERFORM sls_vault_counted(p_device, matched IS NOT NULL);
         RETURN matched;
       END $$""",
    # Every given slot holds its value (a card answer's two values, a passcode's one): counted once.
    f"""CREATE FUNCTION sls_vault_slots_match(p_device bigint, p_slots integer[], p_pres bytea[])
       RETURNS boolean {_DEFINER} AS $$
       DECLARE stored bytea; size integer; i integer; ok boolean := true;
       BEGIN
         IF coalesce(array_length(p_slots, 1), 0) = 0 OR array_length(p_slots, 1) <> array_length(p_pres, 1)
            OR array_length(p_slots, 1) > 4 THEN
           RAISE EXCEPTION 'sls_vault: one to four slots, each with a value, are checked' USING ERRCODE = '22023';
         END IF;
         SELECT secret_hash INTO stored FROM devices WHERE id = p_device;
         IF stored IS NULL OR length(stored) % 2 = 0 THEN
           RETURN false;
         END IF;
         PERFORM sls_vault_admit(p_device);
         FOR i IN 1 .. array_length(p_slots, 1) LOOP
           size := length(p_pres[i]);
           IF size IS NULL OR size = 0 OR p_slots[i] < 1 OR 1 + p_slots[i] * size > length(stored)
              OR substring(stored FROM 2 + (p_slots[i] - 1) * size FOR size)
                 <> sls_vault_pepper(p_device, p_slots[i], p_pres[i]) THEN
             ok := false;
           END IF;
         END LOOP;
         PERFORM sls_vault_counted(p_device, ok);
         RETURN ok;
       END $$""",
    # The console's unlock of a device clears the server's count as well (audited by the console).
    f"""CREATE FUNCTION sls_vault_unlock(p_device bigint) RETURNS void {_DEFINER} AS $$
       BEGIN
         DELETE FROM vault_failures WHERE device_id = p_device;
       END $$""",
]
NEW_DESK_FUNCTIONS = ("sls_vault_slots_match(bigint, integer[], bytea[])", "sls_vault_unlock(bigint)")
OWNER_FUNCTIONS = ("sls_vault_admit(bigint)", "sls_vault_counted(bigint, boolean)")
OLD_SLOT_CHECK = "sls_vault_slot_matches(bigint, integer, bytea)"

# Whoever could check codes before (`sls-console db grant` ran) may check them now.
_GRANT_TO_CHECKERS = """DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT DISTINCT grantee FROM information_schema.routine_privileges
           WHERE routine_name = 'sls_vault_otp_match' AND privilege_type = 'EXECUTE'
             AND grantee NOT IN (current_user, 'PUBLIC') LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION {functions} TO %I', r.grantee);
  END LOOP;
END $$"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE TABLE vault_failures (device_id bigint PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE, "
               "failures integer NOT NULL, last_failure_at timestamptz NOT NULL)")
    op.execute("CREATE SEQUENCE vault_checks")
    for owned in ("TABLE vault_failures", "SEQUENCE vault_checks"):
        op.execute(f"REVOKE ALL ON {owned} FROM PUBLIC")
    for statement in FUNCTIONS:
        op.execute(statement)
    for signature in NEW_DESK_FUNCTIONS + OWNER_FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    op.execute(_GRANT_TO_CHECKERS.format(functions=", ".join(NEW_DESK_FUNCTIONS)))
    op.execute(f"DROP FUNCTION {OLD_SLOT_CHECK}")


def downgrade() -> None:
    """Back to 0011's checks, which count nothing: the uncounted slot check and OTP check return."""
    if op.get_bind().dialect.name != "postgresql":
        return
    vault = _revision_0011()
    op.execute(next(f for f in vault.FUNCTIONS if "sls_vault_otp_match" in f).replace(
        "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    op.execute(next(f for f in vault.FUNCTIONS if "sls_vault_slot_matches" in f))
    op.execute(f"REVOKE ALL ON FUNCTION {OLD_SLOT_CHECK} FROM PUBLIC")
    op.execute(_GRANT_TO_CHECKERS.format(functions=OLD_SLOT_CHECK))
    for signature in NEW_DESK_FUNCTIONS + OWNER_FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
    op.execute("DROP SEQUENCE vault_checks")
    op.execute("DROP TABLE vault_failures")


def _revision_0011() -> ModuleType:
    path = Path(__file__).with_name("0011_second_factor_vault.py")
    spec = importlib.util.spec_from_file_location("sls_revision_0011", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
