# The two commands a newcomer needs: `make run` and `make test`. Everything else is optional.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Runs a command with DATABASE_URL set: the given one, or an embedded PostgreSQL it starts.
WITH_DB := $(PY) scripts/embedded_db.py exec --

export DEBUG ?= 1

.PHONY: run test seed migrate reconcile superuser lint format install db-stop clean

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10) and "Python 3.10+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

run: $(VENV)/.installed  ## from nothing to the API on http://127.0.0.1:8000
	$(WITH_DB) env PY=$(PY) sh scripts/serve.sh

test: $(VENV)/.installed  ## the whole suite on real PostgreSQL
	$(WITH_DB) $(PY) -m pytest $(PYTEST_ARGS)

seed: $(VENV)/.installed
	$(WITH_DB) $(PY) manage.py seed_organizations

migrate: $(VENV)/.installed
	$(WITH_DB) $(PY) manage.py migrate --noinput

reconcile: $(VENV)/.installed  ## every balance == its balance log == its credited payments
	$(WITH_DB) $(PY) manage.py reconcile

superuser: $(VENV)/.installed  ## an admin login for /admin/ (prompts for name and password)
	$(PY) scripts/embedded_db.py exec --interactive -- \
		sh -c '$(PY) manage.py migrate --noinput && $(PY) manage.py createsuperuser'

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

db-stop: $(VENV)/.installed  ## stop the embedded PostgreSQL if one is left running
	$(PY) scripts/embedded_db.py stop

clean: db-stop
	rm -rf $(VENV)
