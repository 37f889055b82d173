# The two commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test lint format bench clean browser-deps backup restore audit

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.run-installed

# honcho gives each process its own PORT (web 8000, worker 8100…): SITE_URL, the address of the
# links in emails and notifications, follows the web server's whichever process sends them.
run: $(VENV)/.run-installed
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo
	@echo "Serving on http://127.0.0.1:$(PORT)/ with a Celery worker and beat. Ctrl-C stops everything."
	PATH="$(CURDIR)/$(BIN):$$PATH" PORT=$(PORT) SITE_URL="$${SITE_URL:-http://127.0.0.1:$(PORT)}" \
		$(BIN)/python -m config.procs --procfile Procfile start

test: $(VENV)/.dev-installed browser-deps
	$(BIN)/pytest $(PYTEST_ARGS)

# axe-core for the accessibility checks, from the npm registry (they skip without npm).
browser-deps:
	@if [ -f tests/browser/node_modules/axe-core/axe.min.js ]; then :; \
	elif command -v npm >/dev/null 2>&1; then npm ci --prefix tests/browser --no-audit --no-fund --silent; \
	else echo "npm not found: the accessibility checks will skip"; fi

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Backups of DATABASE_URL (see docs/operations.md, Backups): var/backups/ unless OUT is given.
backup: $(VENV)/.run-installed
	$(BIN)/python manage.py backup_db $(if $(OUT),--out "$(OUT)")

# Refuses a database that holds data unless FORCE=1.
restore: $(VENV)/.run-installed
	@test -n "$(FILE)" || { echo "usage: make restore FILE=var/backups/ags-....pgdump [FORCE=1]"; exit 2; }
	$(BIN)/python manage.py restore_db "$(FILE)" $(if $(FORCE),--force)

# Known vulnerabilities in the installed packages (all but this project, as pinned by pip
# freeze), and bandit on our code. --strict: a package that could not be checked fails the audit
# instead of being skipped.
audit: $(VENV)/.dev-installed
	$(BIN)/bandit --quiet -c pyproject.toml --severity-level medium -r config diary outcomes bench
	@mkdir -p var
	$(BIN)/pip freeze --all --exclude-editable > var/installed-requirements.txt
	@if $(BIN)/python -c "import urllib.request as u; u.urlopen('https://pypi.org/pypi/django/5.2/json', timeout=15)" 2>/dev/null; then \
		$(BIN)/pip-audit --strict --progress-spinner off --no-deps --disable-pip \
			--requirement var/installed-requirements.txt \
		|| { echo "pip-audit failed: a known vulnerability above, or a package it could not check"; exit 1; }; \
	else \
		echo "WARNING: pip-audit NOT RUN: PyPI's vulnerability data (https://pypi.org/pypi/NAME/VERSION/json) is out of reach from this machine."; \
		echo "WARNING: the installed set is NOT checked for known vulnerabilities; run 'make audit' where PyPI is reachable."; \
	fi

$(VENV)/.bench-installed: pyproject.toml | $(VENV)/.dev-installed
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@

# Benchmarks on a database of their own beside DATABASE_URL's (PostgreSQL for real figures);
# SCALE=small for a quick run.
bench: $(VENV)/.bench-installed
	$(BIN)/python -m bench $(if $(SCALE),--scale $(SCALE))

clean:
	rm -rf $(VENV) var
