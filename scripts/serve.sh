#!/usr/bin/env sh
# Migrate, seed (idempotent) and serve; run by `make run` with DATABASE_URL already set.
# In background mode (WEBHOOK_PROCESSING=background) a procrastinate worker runs beside the
# server. SIGINT, SIGTERM or SIGHUP to this shell alone (scripts/embedded_db.py sends SIGTERM when
# the launcher dies) stops both; the server exiting stops the worker, the worker exiting stops
# the server (status 1).
set -eu
PY=${PY:-.venv/bin/python}
# A busy HOST:PORT is said now, in one line naming PORT=, not by uvicorn after migrate and seed.
"$PY" scripts/preflight.py port
"$PY" manage.py migrate --noinput
# The owner's login is migrate's alone: the seed, the server and the worker run without it, so
# no report of their environment can show it (docs/security.md, "Database roles").
unset DATABASE_OWNER_URL DATABASE_OWNER_URL_FILE
"$PY" manage.py seed_organizations

server=""
worker=""
own_metrics_dir=""
cleanup() {
    if [ -n "$worker" ]; then kill -TERM "$worker" 2>/dev/null || true; fi
    if [ -n "$own_metrics_dir" ]; then rm -rf "$own_metrics_dir"; fi
}
# A signal may reach this shell only (not its process group), so it is passed on to uvicorn,
# whose graceful shutdown is then waited for; the EXIT trap then stops the worker.
stop() {
    trap '' INT TERM HUP
    if [ -n "$server" ]; then
        kill -TERM "$server" 2>/dev/null || true
        wait "$server" || true
    fi
    exit "$1"
}
trap cleanup EXIT
trap 'stop 129' HUP
trap 'stop 130' INT
trap 'stop 143' TERM

# The uvicorn workers share their metrics through files in this directory. It must start empty:
# files left by an earlier run would be added into this run's counters.
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    rm -f "$PROMETHEUS_MULTIPROC_DIR"/*.db
else
    PROMETHEUS_MULTIPROC_DIR=$(mktemp -d "${TMPDIR:-/tmp}/payments-metrics.XXXXXX")
    own_metrics_dir=$PROMETHEUS_MULTIPROC_DIR
fi
export PROMETHEUS_MULTIPROC_DIR

if [ "${WEBHOOK_PROCESSING:-sync}" = "background" ]; then
    "$PY" manage.py procrastinate worker &
    worker=$!
fi

# In the background and waited for: a shell runs its traps only once a foreground command ends,
# but interrupts `wait` at once. uvicorn's command line is core/serve.py's (HOST, PORT,
# WEB_CONCURRENCY from the environment); core.serve execs uvicorn, so $server is uvicorn.
"$PY" -m core.serve &
server=$!

# A worker that exits stops the server too, with its status: a server that keeps answering
# "accepted" with nobody to credit would hide it (/readyz says so as well). Polled, as a POSIX
# shell cannot wait for whichever child ends first.
alive() {
    state=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${state#Z}" = "$state" ]
}
if [ -n "$worker" ]; then
    while alive "$server"; do
        if ! alive "$worker"; then
            status=0
            wait "$worker" || status=$?
            worker=""
            echo "serve.sh: the background worker exited (status $status); stopping the server." >&2
            stop 1
        fi
        sleep 1
    done
fi
wait "$server"
