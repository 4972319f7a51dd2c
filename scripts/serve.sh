#!/usr/bin/env sh
# Migrate, seed (idempotent) and serve; run by `make run` with DATABASE_URL already set.
set -eu
PY=${PY:-.venv/bin/python}
"$PY" manage.py migrate --noinput
"$PY" manage.py seed_organizations
exec "$PY" -m uvicorn core.asgi:application \
    --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}" \
    --workers "${WEB_CONCURRENCY:-2}" --no-access-log --lifespan off --timeout-graceful-shutdown 10
