#!/usr/bin/env bash
# Runs the customer360 code location locally on a PostgreSQL-backed Dagster instance (webserver + daemon through
# `dagster dev`), with the deployment's own deploy/dagster.yaml: run queue, warehouse pool of 1, run retries.
#
#   scripts/dagster_postgres_stack.sh            # UI on http://127.0.0.1:3000
#   PORT=3333 scripts/dagster_postgres_stack.sh
#
# Creates (once) the role and database `customer360_dagster` on the local cluster; DAGSTER_HOME is .dagster_home/
# (gitignored). The C360_* variables of your shell (landing zone, DuckDB path, alert webhook, ...) pass through.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-3000}"
DB="${DAGSTER_PG_DB:-customer360_dagster}"
ROLE="${DAGSTER_PG_USERNAME:-customer360_dagster}"
bash scripts/test_services.sh >/dev/null
PGPORT=$(pg_lsclusters -h | awk '$4 == "online" {print $3; exit}')
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
PASSFILE=.dagster_home/.pg_password
mkdir -p .dagster_home/compute_logs .dagster_home/artifacts
[ -s "$PASSFILE" ] || (umask 077 && head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$PASSFILE")
PASSWORD=$(cat "$PASSFILE")
if [ "$(as_postgres psql -qAtX -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" = "1" ]; then
  as_postgres psql -qAtX -c "ALTER ROLE $ROLE LOGIN PASSWORD '$PASSWORD'" >/dev/null
else
  as_postgres psql -qAtX -c "CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'" >/dev/null
fi
[ "$(as_postgres psql -qAtX -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" = "1" ] \
  || as_postgres psql -qAtX -c "CREATE DATABASE $DB OWNER $ROLE" >/dev/null
cp deploy/dagster.yaml .dagster_home/dagster.yaml
export DAGSTER_HOME="$PWD/.dagster_home"
export DAGSTER_PG_HOST=127.0.0.1 DAGSTER_PG_PORT="$PGPORT" DAGSTER_PG_DB="$DB" DAGSTER_PG_USERNAME="$ROLE"
export DAGSTER_PG_PASSWORD="$PASSWORD"
export DAGSTER_COMPUTE_LOG_DIR="$DAGSTER_HOME/compute_logs" DAGSTER_ARTIFACT_DIR="$DAGSTER_HOME/artifacts"
echo "Dagster on PostgreSQL database $DB (port $PGPORT): http://127.0.0.1:$PORT"
exec .venv/bin/dagster dev -h 127.0.0.1 -p "$PORT" -w workspace.yaml
