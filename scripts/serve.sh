#!/usr/bin/env sh
# Migrate, seed (idempotent) and serve; run by `make run` with DATABASE_URL already set.
# In background mode (WEBHOOK_PROCESSING=background) a procrastinate worker runs beside the
# server; a signal to this process group stops both, and the server exiting stops the worker.
set -eu
PY=${PY:-.venv/bin/python}
"$PY" manage.py migrate --noinput
"$PY" manage.py seed_organizations

worker=""
own_metrics_dir=""
cleanup() {
    if [ -n "$worker" ]; then kill -TERM "$worker" 2>/dev/null || true; fi
    if [ -n "$own_metrics_dir" ]; then rm -rf "$own_metrics_dir"; fi
}
# The INT/TERM traps make the shell exit (running the EXIT trap) once uvicorn, which gets the
# same signal, has shut down.
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

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

# uvicorn's command line is core/serve.py's (HOST, PORT, WEB_CONCURRENCY from the environment).
"$PY" -m core.serve
