#!/usr/bin/env sh
# Migrate, seed (idempotent) and serve; run by `make run` with DATABASE_URL already set.
set -eu
PY=${PY:-.venv/bin/python}
"$PY" manage.py migrate --noinput
"$PY" manage.py seed_organizations

# The uvicorn workers share their metrics through files in this directory. It must start empty:
# files left by an earlier run would be added into this run's counters.
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    rm -f "$PROMETHEUS_MULTIPROC_DIR"/*.db
else
    PROMETHEUS_MULTIPROC_DIR=$(mktemp -d "${TMPDIR:-/tmp}/payments-metrics.XXXXXX")
    # Ours, so ours to remove; the INT/TERM traps make the shell exit (running the EXIT trap)
    # once uvicorn, which gets the same signal, has shut down.
    trap 'rm -rf "$PROMETHEUS_MULTIPROC_DIR"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
fi
export PROMETHEUS_MULTIPROC_DIR

"$PY" -m uvicorn core.asgi:application \
    --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}" \
    --workers "${WEB_CONCURRENCY:-2}" --no-access-log --lifespan off --timeout-graceful-shutdown 10
