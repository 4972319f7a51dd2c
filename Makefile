# The two commands a newcomer needs: `make run` and `make test`. Everything else is optional.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Runs a command with DATABASE_URL set: the given one, or the embedded PostgreSQL, which stays
# up while any target uses it and stops after the last one (scripts/embedded_db.py).
WITH_DB = $(PY) scripts/embedded_db.py exec --as 'make $@' --

.PHONY: help run test test-fast manage worker seed migrate reconcile superuser lint format lock install \
	db-stop db-reset clean loadtest bench bench-scale bench-instructions bench-statements
.DEFAULT_GOAL := help

# The variables that matter, listed by `make help` (each is read from the command line, the
# environment or .env; every setting is in .env.example and docs/configuration.md):
#: PORT=8000               where make run listens (HOST=127.0.0.1: 0.0.0.0 for every address)
#: DATABASE_URL=...        your PostgreSQL instead of the embedded one: postgresql://USER:PASS@HOST:5432/DB
#: WEB_CONCURRENCY=2       uvicorn worker processes of make run
#: WEBHOOK_PROCESSING=sync background: answer "accepted" and credit in a worker (make run starts one)
#: ARGS="reconcile"        make manage's command: any manage.py command on make run's database
#: PYTEST_ARGS="-k races"  make test's pytest arguments (a path, -k, -x, -v...)
#: DEBUG=1                 development (make's default; unset elsewhere = 0, production): docs/security.md
#: LOADTEST_URL, LOADTEST_ARGS, BENCH_ARGS, INSTRUCTIONS_ARGS, SCALE_ARGS: the load test and benchmarks

help:  ## this list, and the variables that matter
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'
	@echo
	@echo "Variables: PORT=8001 make run, or exported (the service's settings may sit in .env too):"
	@grep -hE '^#: ' $(MAKEFILE_LIST) | sed 's/^#: /  /'

# Every dependency is pinned (`make lock`): the runtime ones by requirements.lock, here as in the
# Docker image, so the tests run the versions that ship; the development and test ones by
# requirements-dev.lock, so that `make test` runs the same tools on every machine. pip's own output
# is long, and silent with --quiet: the awk prints one line per package collected (one updated
# line on a terminal).
LOCKS := -c requirements.lock -c requirements-dev.lock
$(VENV)/.installed: pyproject.toml requirements.lock requirements-dev.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10) and "Python 3.10+ is required")'
	@echo "make: installing .venv with the locked dependencies (about a minute the first time)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@set -o pipefail; tty=; if [ -t 1 ]; then tty=1; fi; \
	$(PY) -m pip install --progress-bar off $(LOCKS) -e '.[dev]' \
		| awk -v tty="$$tty" ' \
			/^Collecting / { n++; name = $$2; sub(/[<>=!~;[(].*/, "", name); \
				if (tty) printf "\r  collected %3d: %-40s", n, name; \
				else printf "  collected %3d: %s\n", n, name; fflush() } \
			/^Installing collected packages/ { if (tty) printf "\n"; \
				if (n) printf "  installing %d packages...\n", n; \
				else print "  dependencies already installed; installing the project..."; fflush() } \
			/^Successfully installed/ { print "  installed."; fflush() }'
	@touch $@

install: $(VENV)/.installed  ## create .venv with the locked dependencies (the others do it first)

run: $(VENV)/.installed  ## from nothing to the API on http://127.0.0.1:8000
	$(WITH_DB) env PY=$(PY) sh scripts/serve.sh

test: $(VENV)/.installed  ## the whole suite on real PostgreSQL
	$(WITH_DB) $(PY) -m pytest $(PYTEST_ARGS)

# Everything that starts no process and no browser (pyproject.toml's markers): a change checked
# in under a minute before the whole suite runs.
test-fast: $(VENV)/.installed  ## the suite without servers, workers or browsers, under a minute
	$(WITH_DB) $(PY) -m pytest -m "not processes and not browser and not slow" $(PYTEST_ARGS)

# The database make run uses: the embedded one, migrated first (quietly) as make run leaves it,
# or the DATABASE_URL you give (from the environment or .env), used exactly as it is.
# --interactive: a command may prompt (createsuperuser, changepassword).
manage: $(VENV)/.installed  ## any manage.py command on make run's database: make manage ARGS="reconcile"
	@$(PY) scripts/embedded_db.py exec --interactive --as 'make manage' -- sh -c ' \
		if [ -n "$${EMBEDDED_DB:-}" ]; then "$$0" manage.py migrate --noinput -v 0 || exit; fi; \
		exec "$$0" manage.py "$$@"' $(PY) $(ARGS)

worker: $(VENV)/.installed  ## background-mode worker (make run starts one itself in that mode)
	$(WITH_DB) $(PY) manage.py procrastinate worker

seed: $(VENV)/.installed  ## create the demo organizations (idempotent)
	$(WITH_DB) $(PY) manage.py seed_organizations

migrate: $(VENV)/.installed  ## apply the database migrations
	$(WITH_DB) $(PY) manage.py migrate --noinput

reconcile: $(VENV)/.installed  ## every balance == its balance log == its credited payments
	$(WITH_DB) $(PY) manage.py reconcile

superuser: $(VENV)/.installed  ## an admin login for /admin/ (prompts for name and password)
	$(PY) scripts/embedded_db.py exec --interactive --as 'make $@' -- \
		sh -c '$(PY) manage.py migrate --noinput && $(PY) manage.py createsuperuser'

# Duplicate storm against a server that is already running (`make run` in another terminal); it
# starts no database and no server. Exit 1 unless every balance is exact and nothing 5xx'd.
#   make loadtest LOADTEST_ARGS="--ops 20000 --dup 5 --concurrency 128 --hot"
#   make loadtest LOADTEST_URL=http://127.0.0.1:8001 LOADTEST_ARGS="--json"
# Signing secret and read token: BANK_WEBHOOK_SECRET and API_TOKEN (or --secret / --token).
LOADTEST_URL ?= http://127.0.0.1:8000
loadtest: $(VENV)/.installed  ## duplicate storm against a running server (LOADTEST_URL)
	$(PY) -m loadtest --url $(LOADTEST_URL) $(LOADTEST_ARGS)

# A benchmark, not a test: starts the service as production runs it on the local database (the
# embedded one unless DATABASE_URL is set), storms it (spread, hot, burst), runs pgbench with
# the service's own SQL as the ceiling, prints one table. A few minutes; see README "Performance".
bench: $(VENV)/.installed  ## throughput against pgbench's ceiling, a few minutes
	$(WITH_DB) $(PY) -m loadtest.bench $(BENCH_ARGS)

# What one webhook delivery costs the service's Python, counted in instructions by valgrind's
# callgrind rather than timed: the same number whatever else the machine is doing, so a change of
# a few percent in the request's path shows. In-process, no server; about a minute.
bench-instructions: $(VENV)/.installed  ## instructions per webhook delivery (valgrind), ~1 min
	$(WITH_DB) $(PY) -m loadtest.instructions $(INSTRUCTIONS_ARGS)

# A statement of 100,000 lines imported while webhooks of the same payments storm in; prints the
# import's time and memory and checks the ledger after (docs/performance.md). About two minutes.
bench-statements: $(VENV)/.installed  ## import a 100,000-line statement during a webhook storm
	$(WITH_DB) $(PY) -m loadtest.statement_import $(STATEMENTS_BENCH_ARGS)

# Does the service slow down as its tables grow? Loads a payment history in SQL (0, 1M, 10M rows
# over 100k organizations) into a database of its own (payments_scale), storms the service at each
# size, times the sweep, reconcile and the admin lists at the largest, and writes scale.md,
# scale.json and scale.png into build/bench/ (docs/performance.md). Half an hour on 2 CPUs.
#   make bench-scale SCALE_ARGS="--levels 0,100000 --ops 2000"
$(VENV)/.bench-installed: $(VENV)/.installed
	$(PY) -m pip install --quiet $(LOCKS) -e '.[bench]'
	@touch $@

bench-scale: $(VENV)/.bench-installed  ## the service at 0, 1M and 10M rows of history, a picture; ~30 min
	$(WITH_DB) $(PY) -m loadtest.scale $(SCALE_ARGS)

lint: $(VENV)/.installed  ## ruff, and the import contracts (pyproject.toml [tool.importlinter])
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: $(VENV)/.installed  ## ruff fix and format
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Re-resolve the dependencies (the newest pyproject.toml allows) in a scratch venv and pin the
# whole closure: the runtime one in requirements.lock (`make install` and the Docker image
# install from it), then, on top of it, the development and test extra in requirements-dev.lock.
LOCK_VENV := build/lock-venv
LOCK_FREEZE := $(LOCK_VENV)/bin/pip freeze --exclude bank-webhook-payments
lock:  ## re-resolve and pin the dependencies in requirements.lock and requirements-dev.lock
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --quiet --upgrade pip
	$(LOCK_VENV)/bin/pip install --quiet .
	{ echo "# Runtime dependencies, pinned. Generated by \`make lock\`; do not edit by hand."; \
	  $(LOCK_FREEZE); } > requirements.lock
	$(LOCK_VENV)/bin/pip install --quiet -c requirements.lock '.[dev]'
	{ echo "# Development and test dependencies beyond requirements.lock, pinned. Generated by \`make lock\`;"; \
	  echo "# do not edit by hand."; \
	  $(LOCK_FREEZE) | grep -vxFf requirements.lock; } > requirements-dev.lock
	rm -rf $(LOCK_VENV)

# None of these installs anything: without .venv no embedded PostgreSQL can be running.
db-stop:  ## stop the embedded PostgreSQL now (it warns if a make run/worker/test still uses it)
	@if [ -x $(PY) ]; then $(PY) scripts/embedded_db.py stop; fi

db-reset:  ## delete the embedded database's data (.pgdata); the next make run starts afresh
	@if [ -x $(PY) ]; then $(PY) scripts/embedded_db.py reset; else rm -rf .pgdata .pgdata.users; fi

clean: db-stop  ## delete .venv and the caches (keeps the database in .pgdata)
	rm -rf $(VENV) build .pytest_cache .ruff_cache .import_linter_cache .grimp_cache
