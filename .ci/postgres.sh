#!/usr/bin/env bash
# A PostgreSQL server for the model suite: installs it from the OS packages when missing, starts the newest
# installed version's cluster on loopback, creates the role and database `sls_test`, and prints the
# SQLAlchemy URL as its only line on stdout (progress goes to stderr):
#   export SLS_TEST_DATABASE_URL="$(.ci/postgres.sh)"
#   .venv/bin/python -m pytest -q -m "not gui and not e2e"
# SLS_PG_NAME=other gives a separate role and database. Stop the server with: .ci/postgres.sh stop
# SLS_PG_CLUSTER=name SLS_PG_PORT=5499 uses (and creates) a cluster of its own on that port: a server a test may
# stop and start without disturbing anyone else's (the server-restart test does).
set -euo pipefail

NAME=${SLS_PG_NAME:-sls_test}  # another name gives a separate role and database (parallel runs)
CLUSTER=${SLS_PG_CLUSTER:-main}
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }

if [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
    echo "Installing PostgreSQL from the OS packages..." >&2
    as_root apt-get update -qq >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
VERSION=$(ls /usr/lib/postgresql | sort -n | tail -1)

cluster_field() { pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" -v f="$1" '$1==v && $2==c {print $f}'; }

if [ -z "$(cluster_field 1)" ]; then
    as_root pg_createcluster "$VERSION" "$CLUSTER" ${SLS_PG_PORT:+-p "$SLS_PG_PORT"} >&2
fi
if [ "${1:-}" = "stop" ]; then
    as_root pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$CLUSTER" stop >&2 || true
    exit 0
fi
if [ "$(cluster_field 4)" != "online" ]; then
    echo "Starting PostgreSQL $VERSION cluster $CLUSTER..." >&2
    as_root pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$CLUSTER" start >&2
fi
PORT=$(cluster_field 3)
for _ in $(seq 1 50); do
    pg_isready -q -h 127.0.0.1 -p "$PORT" && break
    sleep 0.2
done
pg_isready -q -h 127.0.0.1 -p "$PORT" || { echo "PostgreSQL did not come up on 127.0.0.1:$PORT" >&2; exit 1; }

psql_admin() { as_postgres psql -X -q -p "$PORT" -v ON_ERROR_STOP=1 "$@"; }
psql_admin -c "DO \$\$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$NAME') THEN
        CREATE ROLE $NAME LOGIN PASSWORD '$NAME';
    END IF; END \$\$;" >&2
# ${NAME}_desk: a login role with no privileges of its own, for the test that `sls-console db grant` gives
# the desks' role only what the console needs (docs/deploy.md).
psql_admin -c "DO \$\$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${NAME}_desk') THEN
        CREATE ROLE ${NAME}_desk LOGIN PASSWORD '${NAME}_desk';
    END IF; END \$\$;" >&2
if [ -z "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$NAME'")" ]; then
    psql_admin -c "CREATE DATABASE $NAME OWNER $NAME" >&2
fi
echo "postgresql+psycopg://$NAME:$NAME@127.0.0.1:$PORT/$NAME"
