# Cadence — the commands every issue relies on (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT

.PHONY: install run test bench chaos deploy-check lint

$(BIN)/python:
	@scripts/ensure-venv "$(PYTHON)" "$(VENV)"
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

## Start web, worker, beat and the provider sandbox with a seeded demo org (SQLite, no servers needed).
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "  Cadence is starting at http://localhost:$(PORT)/  (Django admin for support: /support/)"
	@echo ""
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile

## The whole suite (SQLite unless DATABASE_URL / CELERY_BROKER_URL say otherwise). Installs Debian's
## chromium for the browser tests when it is missing (as root; otherwise it says what to run).
## PYTEST_ARGS narrows the run, e.g. make test PYTEST_ARGS=tests/browser/test_contacts.py
test: install
	@scripts/ensure-chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Every benchmark; figures printed and written to var/bench/results.json.
bench: install
	$(BIN)/python -m tests.bench

## Kill Celery pool processes and cut their database connections during a 100,000-Lead poll and a
## 10,000-message first sync (real workers and beat; PostgreSQL and Redis on 127.0.0.1 needed):
## nothing lost or duplicated, every blow recovered within 300 s. CHAOS_ARGS, e.g. --leads 5000.
chaos: install
	$(BIN)/python -m tests.bench.chaos $(CHAOS_ARGS)

## `check --deploy` under the production profile with throwaway secrets.
deploy-check: install
	DJANGO_SETTINGS_MODULE=config.settings.production \
	SECRET_KEY="deploy-check-$$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
	DATABASE_URL=sqlite:////tmp/cadence-deploy-check.sqlite3 \
	CELERY_BROKER_URL=redis://127.0.0.1:6379/0 \
	CACHE_URL=redis://127.0.0.1:6379/1 \
	ENCRYPTION_KEYS="$$($(BIN)/python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
	ALLOWED_HOSTS=cadence.example.com \
	$(BIN)/python manage.py check --deploy --fail-level WARNING

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
