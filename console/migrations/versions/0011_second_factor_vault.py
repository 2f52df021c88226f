"""second-factor vault on PostgreSQL: seeds and card/passcode hashes kept where the desks' role cannot read

Revision ID: 0011
Revises: 0007
Create Date: 2026-11-30

PostgreSQL only (SQLite has no roles: a single desk holds everything, docs/trust.md). Creates, owned by the
role that runs the migration:
- vault_keys: one random server key, never granted to the desks' role;
- SECURITY DEFINER functions that store a seed (encrypted with a key made from the server key and the desks'
  vault key, so neither a backup nor a desk alone opens it), check a one-time code or a hash slot, and
  count slots. Nothing returns a seed or a stored hash.
Existing card and passcode hashes are peppered here; existing seeds (sealed with the desks' master key, which
the server never sees) are moved in by `sls-console db grant`, which runs with the key (console/models/vault.py).
`sls-console db grant ROLE` gives the desks EXECUTE on the functions and withholds the secret columns.
"""
from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = '0011'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DEFINER = "LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp"

FUNCTIONS = [
    # The key a device's seed is encrypted with: the server key and the desks' vault key, bound to the row.
    """CREATE FUNCTION sls_vault_seed_key(p_device bigint, p_desk_key bytea) RETURNS text
       LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
         SELECT encode(hmac(p_desk_key || convert_to('device:' || p_device::text, 'UTF8'), server_key, 'sha256'),
                       'hex')
         FROM vault_keys WHERE id = 1 $$""",
    # A hash slot as stored: the desk's (slow, keyed) hash of the value, keyed again with the server key.
    """CREATE FUNCTION sls_vault_pepper(p_device bigint, p_slot integer, p_pre bytea) RETURNS bytea
       LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
         SELECT substring(hmac(p_pre || int4send(p_slot) || int8send(p_device), server_key, 'sha256')
                          FROM 1 FOR length(p_pre))
         FROM vault_keys WHERE id = 1 $$""",
    # Every slot of a desk-made hash string, peppered; 'V' in front and an odd length mark it as done.
    """CREATE FUNCTION sls_vault_pepper_all(p_device bigint, p_pre bytea, p_slot_bytes integer) RETURNS bytea
       LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
       DECLARE out bytea := '\\x56'::bytea; i integer;
       BEGIN
         IF p_pre IS NULL OR length(p_pre) = 0 OR length(p_pre) % p_slot_bytes <> 0 OR p_slot_bytes % 2 <> 0 THEN
           RAISE EXCEPTION 'sls_vault: hashes of % bytes do not split into slots of %', length(p_pre), p_slot_bytes
             USING ERRCODE = '22023';
         END IF;
         FOR i IN 1 .. length(p_pre) / p_slot_bytes LOOP
           out := out || sls_vault_pepper(p_device, i, substring(p_pre FROM (i - 1) * p_slot_bytes + 1
                                                                 FOR p_slot_bytes));
         END LOOP;
         RETURN out;
       END $$""",
    f"""CREATE FUNCTION sls_vault_store_seed(p_device bigint, p_seed bytea, p_desk_key bytea) RETURNS void
       {_DEFINER} AS $$
       DECLARE current bytea;
       BEGIN
         IF p_seed IS NULL OR length(p_seed) < 10 OR length(p_desk_key) <> 32 THEN
           RAISE EXCEPTION 'sls_vault: a seed of at least 10 bytes and a 32-byte vault key are needed'
             USING ERRCODE = '22023';
         END IF;
         SELECT sealed_secret INTO current FROM devices WHERE id = p_device FOR UPDATE;
         IF NOT FOUND THEN
           RAISE EXCEPTION 'sls_vault: no device %', p_device USING ERRCODE = 'P0002';
         END IF;
         IF current IS NOT NULL AND get_byte(current, 0) = 86 THEN  -- a seed in the vault is never replaced
           RAISE EXCEPTION 'sls_vault: device % already has a seed', p_device USING ERRCODE = '42501';
         END IF;
         UPDATE devices SET sealed_secret = '\\x56'::bytea || pgp_sym_encrypt_bytea(
             p_seed, sls_vault_seed_key(p_device, p_desk_key), 'cipher-algo=aes256, s2k-mode=1')
           WHERE id = p_device;
       END $$""",
    # RFC 4226/6238: the counter in [p_first, p_last] whose code equals p_code, or NULL; no early exit.
    f"""CREATE FUNCTION sls_vault_otp_match(p_device bigint, p_desk_key bytea, p_code text, p_first bigint,
                                            p_last bigint, p_digits integer) RETURNS bigint
       {_DEFINER} AS $$
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
         RETURN matched;
       END $$""",
    f"""CREATE FUNCTION sls_vault_store_hashes(p_device bigint, p_pre bytea, p_slot_bytes integer) RETURNS void
       {_DEFINER} AS $$
       DECLARE current bytea;
       BEGIN
         SELECT secret_hash INTO current FROM devices WHERE id = p_device FOR UPDATE;
         IF NOT FOUND THEN
           RAISE EXCEPTION 'sls_vault: no device %', p_device USING ERRCODE = 'P0002';
         END IF;
         IF current IS NOT NULL THEN  -- values are set once; a new card or passcode is a new device
           RAISE EXCEPTION 'sls_vault: device % already has its values', p_device USING ERRCODE = '42501';
         END IF;
         UPDATE devices SET secret_hash = sls_vault_pepper_all(p_device, p_pre, p_slot_bytes) WHERE id = p_device;
       END $$""",
    f"""CREATE FUNCTION sls_vault_slot_matches(p_device bigint, p_slot integer, p_pre bytea) RETURNS boolean
       {_DEFINER} AS $$
       DECLARE stored bytea; size integer := length(p_pre);
       BEGIN
         SELECT secret_hash INTO stored FROM devices WHERE id = p_device;
         IF stored IS NULL OR length(stored) % 2 = 0 OR size IS NULL OR size = 0 OR p_slot < 1
            OR 1 + p_slot * size > length(stored) THEN
           RETURN false;
         END IF;
         RETURN substring(stored FROM 2 + (p_slot - 1) * size FOR size) = sls_vault_pepper(p_device, p_slot, p_pre);
       END $$""",
    f"""CREATE FUNCTION sls_vault_slot_count(p_device bigint, p_slot_bytes integer) RETURNS integer
       {_DEFINER} AS $$
         BEGIN
           RETURN coalesce((SELECT (length(secret_hash) - 1) / p_slot_bytes FROM devices
                            WHERE id = p_device AND length(secret_hash) % 2 = 1), 0);
         END $$""",
]

# What the desks' role may call (`sls-console db grant`); the helpers above stay the owner's.
DESK_FUNCTIONS = (
    "sls_vault_store_seed(bigint, bytea, bytea)",
    "sls_vault_otp_match(bigint, bytea, text, bigint, bigint, integer)",
    "sls_vault_store_hashes(bigint, bytea, integer)",
    "sls_vault_slot_matches(bigint, integer, bytea)",
    "sls_vault_slot_count(bigint, integer)",
)
OWNER_FUNCTIONS = (
    "sls_vault_seed_key(bigint, bytea)",
    "sls_vault_pepper(bigint, integer, bytea)",
    "sls_vault_pepper_all(bigint, bytea, integer)",
)

# Hashes written before the vault: a temporary passcode's is one 32-byte slot, a card's 16-byte slots.
_PEPPER_EXISTING = """UPDATE devices SET secret_hash = sls_vault_pepper_all(
    id, secret_hash, CASE WHEN kind = 'temporary_passcode' THEN 32 ELSE 16 END)
  WHERE secret_hash IS NOT NULL AND length(secret_hash) % 2 = 0"""


_HELD_BY_THE_VAULT = """SELECT count(*) FROM devices
    WHERE (sealed_secret IS NOT NULL AND get_byte(sealed_secret, 0) = 86)
       OR (secret_hash IS NOT NULL AND length(secret_hash) % 2 = 1)"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto")
    op.execute("CREATE TABLE vault_keys (id integer PRIMARY KEY CHECK (id = 1), server_key bytea NOT NULL)")
    op.execute("INSERT INTO vault_keys VALUES (1, gen_random_bytes(32))")
    op.execute("REVOKE ALL ON vault_keys FROM PUBLIC")
    for statement in FUNCTIONS:
        op.execute(statement)
    for signature in DESK_FUNCTIONS + OWNER_FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    op.execute(_PEPPER_EXISTING)


def downgrade() -> None:
    """Refused while the vault holds a secret: seeds are encrypted, and hashes keyed, with the server key this
    would drop (and the desks' half of a seed's key is not here to decrypt it with), so they would never open
    or match again. An empty vault is taken down."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    held = bind.execute(text(_HELD_BY_THE_VAULT)).scalar()
    if held:
        raise RuntimeError(f"Migration 0011 cannot be undone: {held} device secret(s) are kept in the vault, "
                           f"sealed with a server key this downgrade would drop, and would never open again; "
                           f"stay at this revision, or restore the backup taken before the upgrade.")
    for signature in DESK_FUNCTIONS + OWNER_FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
    op.execute("DROP TABLE vault_keys")
