#!/usr/bin/env sh
# Migrate, seed (idempotent) and serve; run by `make run` with DATABASE_URL already set.
# In background mode (WEBHOOK_PROCESSING=background) a procrastinate worker runs beside the
# server; a signal to this process group stops both, and either exiting stops the other.
set -eu
PY=${PY:-.venv/bin/python}
"$PY" manage.py migrate --noinput
"$PY" manage.py seed_organizations

serve() {
    "$PY" -m uvicorn core.asgi:application \
        --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}" \
        --workers "${WEB_CONCURRENCY:-2}" --no-access-log --lifespan off \
        --timeout-graceful-shutdown 10
}

if [ "${WEBHOOK_PROCESSING:-sync}" != "background" ]; then
    serve
    exit $?
fi

"$PY" manage.py procrastinate worker &
worker=$!
trap 'kill -TERM "$worker" 2>/dev/null || true' EXIT
serve
