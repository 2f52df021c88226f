"""SMS codes in the vault on PostgreSQL: a texted code's hash kept where the desks' role cannot read it

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01

Both databases get `challenges.secret_hash` (the ORM maps it). On SQLite nothing else changes: the code's
keyed hash stays in `challenges.text`, as the desk holds every key anyway. On PostgreSQL a texted code's
hash (the desk's keyed hash of the six digits) is keyed again with the server key and stored by a SECURITY
DEFINER function in `secret_hash`, which `db grant` withholds from the desks' role (no SELECT, no UPDATE);
the desks' role also loses UPDATE on the devices' seed and hash columns (it could clear a seed, then store
one it knows through sls_vault_store_seed);
checking it goes through the vault's admission and failure count (migration 0013). Codes waiting for an
answer when this runs are moved in the same way.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DEFINER = "LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp"
_PEPPERED = ("'\\x56'::bytea || hmac({pre} || int8send({challenge}), "
             "(SELECT server_key FROM vault_keys WHERE id = 1), 'sha256')")

FUNCTIONS = [
    f"""CREATE FUNCTION sls_vault_store_code(p_challenge bigint, p_pre bytea) RETURNS void {_DEFINER} AS $$
       BEGIN
         IF p_pre IS NULL OR length(p_pre) <> 32 THEN
           RAISE EXCEPTION 'sls_vault: a code hash is 32 bytes' USING ERRCODE = '22023';
         END IF;
         UPDATE challenges SET secret_hash = {_PEPPERED.format(pre='p_pre', challenge='p_challenge')}
           WHERE id = p_challenge AND secret_hash IS NULL;
         IF NOT FOUND THEN  -- no such challenge, or its code is set already: a code is stored once
           RAISE EXCEPTION 'sls_vault: challenge % cannot take a code', p_challenge USING ERRCODE = '42501';
         END IF;
       END $$""",
    f"""CREATE FUNCTION sls_vault_code_matches(p_challenge bigint, p_pre bytea) RETURNS boolean {_DEFINER} AS $$
       DECLARE stored bytea; device bigint; ok boolean;
       BEGIN
         SELECT secret_hash, device_id INTO stored, device FROM challenges WHERE id = p_challenge;
         IF stored IS NULL OR p_pre IS NULL THEN
           RETURN false;
         END IF;
         PERFORM sls_vault_admit(device);
         ok := stored = {_PEPPERED.format(pre='p_pre', challenge='p_challenge')};
         PERFORM sls_vault_counted(device, ok);
         RETURN ok;
       END $$""",
]
DESK_FUNCTIONS = ("sls_vault_store_code(bigint, bytea)", "sls_vault_code_matches(bigint, bytea)")

_MOVE_WAITING = f"""UPDATE challenges c SET secret_hash = {_PEPPERED.format(pre="decode(c.text, 'hex')",
                                                                            challenge='c.id')}, text = ''
  FROM devices d WHERE d.id = c.device_id AND d.kind = 'sms' AND c.answered_at IS NULL
   AND c.text ~ '^[0-9a-f]{{64}}$'"""

_GRANT_TO_CHECKERS = """DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT DISTINCT grantee FROM information_schema.routine_privileges
           WHERE routine_name = 'sls_vault_otp_match' AND privilege_type = 'EXECUTE'
             AND grantee NOT IN (current_user, 'PUBLIC') LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION {functions} TO %I', r.grantee);
    EXECUTE format('REVOKE SELECT, UPDATE ON challenges FROM %I', r.grantee);
    EXECUTE format('GRANT SELECT (id, device_id, text, issued_at, expires_at, answered_at), '
                   'UPDATE (id, device_id, text, issued_at, expires_at, answered_at) ON challenges TO %I',
                   r.grantee);
    EXECUTE format('REVOKE UPDATE ON devices FROM %I', r.grantee);
    EXECUTE format('GRANT UPDATE (%s) ON devices TO %I', (
      SELECT string_agg(quote_ident(column_name), ', ') FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = 'devices'
        AND column_name NOT IN ('sealed_secret', 'secret_hash')), r.grantee);
  END LOOP;
END $$"""


def upgrade() -> None:
    with op.batch_alter_table("challenges") as batch:
        batch.add_column(sa.Column("secret_hash", sa.LargeBinary(), nullable=True))
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in FUNCTIONS:
        op.execute(statement)
    for signature in DESK_FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    op.execute(_GRANT_TO_CHECKERS.format(functions=", ".join(DESK_FUNCTIONS)))
    op.execute(_MOVE_WAITING)


def downgrade() -> None:
    """Refused while a code waits in the vault (it could not be checked again); otherwise taken down."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        waiting = bind.execute(sa.text("SELECT count(*) FROM challenges WHERE secret_hash IS NOT NULL "
                                       "AND answered_at IS NULL AND expires_at > now()")).scalar()
        if waiting:
            raise RuntimeError(f"Migration 0015 cannot be undone while {waiting} texted code(s) wait for an answer "
                               f"in the vault; wait until they expire, then try again.")
        for signature in DESK_FUNCTIONS:
            op.execute(f"DROP FUNCTION {signature}")
    with op.batch_alter_table("challenges") as batch:
        batch.drop_column("secret_hash")
