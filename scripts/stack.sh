#!/usr/bin/env bash
# The scale-out topology without Docker: a Prefect server and an MLflow tracking server,
# both on PostgreSQL, plus a Dask scheduler and workers, as local background processes.
#
#   scripts/stack.sh start    create the databases if missing, start everything, wait
#                             until healthy, print the client environment
#   scripts/stack.sh status   which processes run, and the client environment
#   scripts/stack.sh env      only the client environment (eval-able lines)
#   scripts/stack.sh stop     stop every process (its whole process group); idempotent
#   scripts/stack.sh dropdb   drop the two databases (after stop; asks no questions)
#
# Everything is configured by environment variables (defaults in brackets):
#   STACK_DIR [.stack]                 pid files, logs, server homes, served artifacts
#   STACK_HOST [127.0.0.1]             interface every server binds to
#   STACK_PG_HOST [127.0.0.1] STACK_PG_PORT [5432] STACK_PG_USER [postgres]
#   STACK_PG_PASSWORD []               PostgreSQL connection (user needs CREATEDB)
#   STACK_PREFECT_DB [nnflow_prefect] STACK_MLFLOW_DB [nnflow_mlflow]
#   STACK_PREFECT_PORT [4201] STACK_MLFLOW_PORT [5001] STACK_DASK_PORT [8786]
#   STACK_DASK_DASHBOARD_PORT []       empty: no Dask dashboard (it needs bokeh)
#   STACK_WORKERS [2]                  Dask workers, one thread each
#   STACK_MLFLOW_WORKERS [1]           MLflow server worker processes
#   STACK_WORKDIR [repository root]    working directory of the Dask workers
#   STACK_BIN [.venv/bin]              where prefect, mlflow, dask and python live
#   STACK_TIMEOUT [180]                seconds to wait for each service to be healthy
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

STACK_DIR=${STACK_DIR:-.stack}
STACK_HOST=${STACK_HOST:-127.0.0.1}
STACK_PG_HOST=${STACK_PG_HOST:-127.0.0.1}
STACK_PG_PORT=${STACK_PG_PORT:-5432}
STACK_PG_USER=${STACK_PG_USER:-postgres}
STACK_PG_PASSWORD=${STACK_PG_PASSWORD:-}
STACK_PREFECT_DB=${STACK_PREFECT_DB:-nnflow_prefect}
STACK_MLFLOW_DB=${STACK_MLFLOW_DB:-nnflow_mlflow}
STACK_PREFECT_PORT=${STACK_PREFECT_PORT:-4201}
STACK_MLFLOW_PORT=${STACK_MLFLOW_PORT:-5001}
STACK_DASK_PORT=${STACK_DASK_PORT:-8786}
STACK_DASK_DASHBOARD_PORT=${STACK_DASK_DASHBOARD_PORT:-}
STACK_WORKERS=${STACK_WORKERS:-2}
STACK_MLFLOW_WORKERS=${STACK_MLFLOW_WORKERS:-1}
STACK_WORKDIR=${STACK_WORKDIR:-$ROOT}
STACK_BIN=${STACK_BIN:-$ROOT/.venv/bin}
STACK_TIMEOUT=${STACK_TIMEOUT:-180}

mkdir -p "$STACK_DIR"
STACK_DIR=$(cd "$STACK_DIR" && pwd)
PY="$STACK_BIN/python"

PREFECT_API_URL="http://$STACK_HOST:$STACK_PREFECT_PORT/api"
MLFLOW_TRACKING_URI="http://$STACK_HOST:$STACK_MLFLOW_PORT"
DASK_ADDRESS="tcp://$STACK_HOST:$STACK_DASK_PORT"

log() { echo "stack: $*" >&2; }
die() { log "error: $*"; exit 1; }

pg_url() {  # pg_url DRIVER DATABASE
    local auth=$STACK_PG_USER
    [ -n "$STACK_PG_PASSWORD" ] && auth="$STACK_PG_USER:$("$PY" -c \
        'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' \
        "$STACK_PG_PASSWORD")"
    echo "$1://$auth@$STACK_PG_HOST:$STACK_PG_PORT/$2"
}

stack_db() {  # stack_db create|drop DB...: one implementation, shared with the tests
    "$PY" "$ROOT/scripts/stack_db.py" "$@" --url "$(pg_url postgresql postgres)"
}

alive() { [ -f "$STACK_DIR/$1.pid" ] && kill -0 "$(cat "$STACK_DIR/$1.pid")" 2>/dev/null; }

services() {  # every service this configuration has, in start order
    printf '%s\n' prefect mlflow dask-scheduler
    for i in $(seq 1 "$STACK_WORKERS"); do echo "dask-worker-$i"; done
}

launch() {  # launch NAME CMD...: own session (so one kill reaches its children), own log
    local name=$1; shift
    if alive "$name"; then log "$name already runs (pid $(cat "$STACK_DIR/$name.pid"))"; return; fi
    # The child writes its own pid: after setsid it leads its process group, so the pid
    # is also the group id that `stop` signals.
    setsid bash -c 'echo $$ > "$0"; exec "$@"' "$STACK_DIR/$name.pid" "$@" \
        >"$STACK_DIR/$name.log" 2>&1 </dev/null &
    for _ in $(seq 50); do [ -s "$STACK_DIR/$name.pid" ] && break; sleep 0.1; done
    log "$name started (pid $(cat "$STACK_DIR/$name.pid"), log $STACK_DIR/$name.log)"
}

wait_until() {  # wait_until NAME CHECK...: poll CHECK until it passes or NAME dies
    local name=$1; shift
    local deadline=$((SECONDS + STACK_TIMEOUT))
    until "$@" >/dev/null 2>&1; do
        alive "$name" || { tail -n 30 "$STACK_DIR/$name.log" >&2; die "$name exited"; }
        [ $SECONDS -lt $deadline ] || {
            tail -n 30 "$STACK_DIR/$name.log" >&2; die "$name not healthy after ${STACK_TIMEOUT}s"; }
        sleep 1
    done
    log "$name healthy"
}

http_ok() { "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=3)' "$1"; }
port_open() { "$PY" -c 'import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 3)' "$1" "$2"; }

print_env() {
    echo "export PREFECT_API_URL=$PREFECT_API_URL"
    echo "export MLFLOW_TRACKING_URI=$MLFLOW_TRACKING_URI"
    echo "export DASK_ADDRESS=$DASK_ADDRESS"
}

start() {
    [ -x "$PY" ] || die "no Python at $PY: run 'make setup' or set STACK_BIN"
    stack_db create "$STACK_PREFECT_DB" "$STACK_MLFLOW_DB" \
        || die "PostgreSQL at $STACK_PG_HOST:$STACK_PG_PORT is not usable (see above)"
    mkdir -p "$STACK_DIR/prefect-home" "$STACK_DIR/artifacts"
    # A half-started stack is worse than none: any failure below stops what did start.
    trap '[ $? -eq 0 ] || { log "start failed; stopping what started"; stop; }' EXIT

    launch prefect env -u PREFECT_API_URL PREFECT_HOME="$STACK_DIR/prefect-home" \
        PREFECT_SERVER_DATABASE_CONNECTION_URL="$(pg_url postgresql+asyncpg "$STACK_PREFECT_DB")" \
        PREFECT_SERVER_ANALYTICS_ENABLED=false PREFECT_SERVER_UI_ENABLED=false DO_NOT_TRACK=1 \
        "$STACK_BIN/prefect" server start --host "$STACK_HOST" --port "$STACK_PREFECT_PORT" \
        --no-ui --analytics-off

    # SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3; the lock pins psycopg2.
    launch mlflow env MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=1 "$STACK_BIN/mlflow" server \
        --backend-store-uri "$(pg_url postgresql+psycopg2 "$STACK_MLFLOW_DB")" \
        --serve-artifacts --artifacts-destination "$STACK_DIR/artifacts" \
        --host "$STACK_HOST" --port "$STACK_MLFLOW_PORT" --workers "$STACK_MLFLOW_WORKERS"

    local dashboard=(--no-dashboard)
    [ -n "$STACK_DASK_DASHBOARD_PORT" ] \
        && dashboard=(--dashboard-address "$STACK_HOST:$STACK_DASK_DASHBOARD_PORT")
    launch dask-scheduler "$STACK_BIN/dask" scheduler --host "$STACK_HOST" \
        --port "$STACK_DASK_PORT" "${dashboard[@]}"
    wait_until dask-scheduler port_open "$STACK_HOST" "$STACK_DASK_PORT"

    # One thread per worker and no BLAS threads of its own: parallelism is the workers'.
    # The workers log to the same servers the clients use.
    for i in $(seq 1 "$STACK_WORKERS"); do
        mkdir -p "$STACK_DIR/dask-worker-$i"
        (cd "$STACK_WORKDIR" && launch "dask-worker-$i" env OMP_NUM_THREADS=1 \
            OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 PREFECT_API_URL="$PREFECT_API_URL" \
            MLFLOW_TRACKING_URI="$MLFLOW_TRACKING_URI" MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=1 \
            "$STACK_BIN/dask" worker "$DASK_ADDRESS" \
            --name "stack-worker-$i" --nthreads 1 --nworkers 1 --host "$STACK_HOST" \
            --no-dashboard --local-directory "$STACK_DIR/dask-worker-$i")
    done

    wait_until prefect http_ok "$PREFECT_API_URL/health"
    wait_until mlflow http_ok "$MLFLOW_TRACKING_URI/health"
    for i in $(seq 1 "$STACK_WORKERS"); do
        wait_until "dask-worker-$i" grep -q "Registered to" "$STACK_DIR/dask-worker-$i.log"
    done
    trap - EXIT
    print_env >"$STACK_DIR/env"
    log "up; point clients at it with:"
    print_env
}

stop() {
    local name pid
    for name in $(services | tac) $(cd "$STACK_DIR" && ls -- *.pid 2>/dev/null | sed 's/\.pid$//'); do
        [ -f "$STACK_DIR/$name.pid" ] || continue
        pid=$(cat "$STACK_DIR/$name.pid")
        # The whole group, even if its leader died first (uvicorn workers, nannies).
        if [ -n "$pid" ] && kill -0 -- "-$pid" 2>/dev/null; then
            kill -TERM -- "-$pid" 2>/dev/null || true
            for _ in $(seq 100); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.1; done
            kill -KILL -- "-$pid" 2>/dev/null || true
            log "$name stopped (pid $pid)"
        fi
        rm -f "$STACK_DIR/$name.pid"
    done
    rm -f "$STACK_DIR/env"
}

status() {
    local name down=0
    for name in $(services); do
        if alive "$name"; then echo "$name: running (pid $(cat "$STACK_DIR/$name.pid"))"
        else echo "$name: stopped"; down=1; fi
    done
    print_env
    return $down
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    status) status ;;
    env) print_env ;;
    dropdb) stack_db drop "$STACK_PREFECT_DB" "$STACK_MLFLOW_DB" ;;
    *) echo "usage: $0 start|stop|status|env|dropdb" >&2; exit 2 ;;
esac
