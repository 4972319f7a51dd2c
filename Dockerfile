# Production image: uvicorn with workers, non-root, no dev dependencies.
FROM python:3.11-slim-bookworm AS build
WORKDIR /app
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md ./
COPY core core
COPY payments payments
COPY loadtest loadtest
RUN python -m venv /venv && /venv/bin/pip install .

FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 app
COPY --from=build /venv /venv
WORKDIR /app
COPY manage.py ./
COPY core core
COPY payments payments
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 DEBUG=0 WEB_CONCURRENCY=2
USER app
EXPOSE 8000
CMD ["sh", "-c", "exec uvicorn core.asgi:application --host 0.0.0.0 --port 8000 --workers ${WEB_CONCURRENCY} --lifespan off --no-access-log"]
