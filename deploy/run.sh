#!/bin/sh
# Start one production process of sync_platform with the PostgreSQL instance:
#   deploy/run.sh daemon       # dagster-daemon: sensors, schedules, automation, the run queue
#   deploy/run.sh webserver    # dagster-webserver (UI + GraphQL) on $DAGSTER_WEBSERVER_HOST:$DAGSTER_WEBSERVER_PORT
#   deploy/run.sh check        # validate the definitions against this environment, then exit
#   deploy/run.sh backup DIR   # copy the DuckDB warehouse to DIR while the duckdb_writer pool is paused
# Used by `make daemon`, `make webserver` and the systemd units in deploy/systemd/.
#
# Environment: secrets and connections come from the environment only. When SYNC_ENV_FILE names
# a file (KEY=value lines, e.g. /etc/sync-platform/sync-platform.env, mode 600, never in git) it
# is read first; deploy/sync-platform.env.example lists every variable.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${SYNC_ENV_FILE:-}" ]; then
  [ -r "$SYNC_ENV_FILE" ] || { echo "SYNC_ENV_FILE=$SYNC_ENV_FILE is not readable" >&2; exit 2; }
  set -a
  # shellcheck disable=SC1090
  . "$SYNC_ENV_FILE"
  set +a
fi

export SYNC_DATA_DIR="${SYNC_DATA_DIR:-$ROOT/data}"
export SYNC_MAPPINGS_DIR="${SYNC_MAPPINGS_DIR:-$ROOT/mappings}"
export DAGSTER_HOME="${DAGSTER_HOME:-$SYNC_DATA_DIR/dagster_home_postgres}"
export DAGSTER_PG_HOST="${DAGSTER_PG_HOST:-127.0.0.1}"
export DAGSTER_PG_PORT="${DAGSTER_PG_PORT:-5432}"
export DAGSTER_PG_USER="${DAGSTER_PG_USER:-postgres}"
export DAGSTER_PG_PASSWORD="${DAGSTER_PG_PASSWORD:-}"
export DAGSTER_PG_DB="${DAGSTER_PG_DB:-dagster}"
BIN="${SYNC_VENV_BIN:-$ROOT/.venv/bin}"

# the instance is the reviewed file in git, installed fresh on every start
mkdir -p "$DAGSTER_HOME" "$SYNC_DATA_DIR"
cp "$ROOT/dagster.postgres.yaml" "$DAGSTER_HOME/dagster.yaml"
cd "$ROOT"

command="${1:-}"
[ $# -gt 0 ] && shift
case "$command" in
  daemon)
    exec "$BIN/dagster-daemon" run -w workspace.yaml "$@" ;;
  webserver)
    exec "$BIN/dagster-webserver" -w workspace.yaml \
      -h "${DAGSTER_WEBSERVER_HOST:-127.0.0.1}" -p "${DAGSTER_WEBSERVER_PORT:-3000}" "$@" ;;
  check)
    exec "$BIN/dagster" definitions validate -w workspace.yaml "$@" ;;
  backup)
    exec "$BIN/python" -m sync_platform.instance backup "$@" ;;
  *)
    echo "usage: deploy/run.sh daemon|webserver|check|backup DIR [extra arguments]" >&2
    exit 2 ;;
esac
