# Production image: uvicorn with workers, non-root, runtime dependencies only, static files built in.
# The base is pinned by digest so a rebuild gets the same bytes; bump tag and digest together
# (`docker buildx imagetools inspect python:<tag>` prints the digest).
ARG PYTHON_IMAGE=python:3.11.10-slim-bookworm@sha256:5148c0e4bbb64271bca1d3322360ebf4bfb7564507ae32dd639322e4952a6b16

# --- build: the virtualenv, from the lock file only -------------------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.lock /tmp/
# requirements.lock pins the whole runtime closure (`make lock`): --no-deps installs exactly it,
# and `pip check` fails the build if the lock ever misses a dependency.
RUN python -m venv /venv \
    && /venv/bin/pip install --no-deps -r /tmp/requirements.lock \
    && /venv/bin/pip check

# --- runtime ----------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin app
COPY --from=build /venv /venv
WORKDIR /app
COPY manage.py ./
COPY core core
COPY payments payments
COPY statements statements
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DEBUG=0 \
    HOST=0.0.0.0 \
    PORT=8000 \
    WEB_CONCURRENCY=2
# Admin and Swagger UI files for ServeStatic; owned by root, so the app cannot change them.
RUN python manage.py collectstatic --noinput --verbosity 0
USER app
EXPOSE 8000
# /readyz: the process answers and its database is reachable and migrated. The request goes to
# "localhost", which ALLOWED_HOSTS must therefore include (compose.yaml does).
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:8000/readyz', timeout=2)"]
# `manage.py check` first: with several workers uvicorn's supervisor exits 0 even when the app
# refuses to start (unsafe production settings), so the container would look like a clean stop.
# A fresh metrics directory per start: the workers share their Prometheus samples through it.
# exec, and core.serve execs uvicorn (its command line, defined once): uvicorn is PID 1 and gets
# SIGTERM directly, then drains for up to 10 s.
CMD ["sh", "-c", "python manage.py check --database default && export PROMETHEUS_MULTIPROC_DIR=$(mktemp -d) && exec python -m core.serve"]
