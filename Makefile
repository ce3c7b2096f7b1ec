# Interlace: `make run` starts the quickstart hub; `make test` sets up and runs the tests.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.installed-runtime
DEV := $(VENV)/.installed-dev
# `make run` needs only what the hub needs (RUNTIME); the tests and linters add the dev tools
# (ruff, mypy, type stubs, pytest: DEV). Each stamp is remade when pyproject.toml changes.

.PHONY: setup run test test-long lint typecheck audit bench conformance screenshots clean

$(BIN)/python:
	@command -v $(PY) >/dev/null 2>&1 || { echo "Python 3.11 is required (set PY=/path/to/python3.11)"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel

$(RUNTIME): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $(RUNTIME)

$(DEV): pyproject.toml $(RUNTIME)
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(DEV)

setup: $(DEV)

# INTERLACE_PORT (8080) and CRM_PORT (9100) choose the quickstart's ports
run: $(RUNTIME)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash examples/quickstart/run.sh

lint: $(DEV)
	$(BIN)/ruff check src tests benchmarks

typecheck: $(DEV)
	$(BIN)/mypy

# Known vulnerabilities in the installed dependencies. Needs the vulnerability database (the PyPI
# JSON API, or OSV with `-s osv`): not part of `make test`, which must pass offline. --strict fails
# when a dependency could not be looked up, so a green audit means every package was checked.
audit: $(DEV)
	$(BIN)/pip-audit --skip-editable --strict --progress-spinner off

# PYTHONDONTWRITEBYTECODE removed: the suite starts the CLI and hubs as processes a few hundred
# times, and each recompiled the package's source (0.1 s) where this machine's environment sets it.
# (`env -u`, not `VAR= cmd`: make runs that through sh, and the shell-completion test then finds sh
# as the shell it completes for.)
test: $(DEV) lint typecheck
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest -q --durations=25

test-long: $(DEV) lint typecheck
	$(BIN)/pytest -q -m "" --timeout=3600

bench: $(DEV)
	$(BIN)/pip install -q -e '.[dev,bench]'
	@command -v wrk >/dev/null 2>&1 || { echo "bench needs wrk (Debian: apt-get install wrk) and npm for Node-RED"; exit 1; }
	$(BIN)/python benchmarks/bench_webhook.py --write
	$(BIN)/python benchmarks/bench_engine.py --write
	$(BIN)/python benchmarks/bench_overload.py --write
	$(BIN)/python benchmarks/bench_scale.py --write
	$(BIN)/python benchmarks/bench_mapping.py --write
	$(BIN)/python benchmarks/bench_files.py
	$(BIN)/python benchmarks/bench_databases.py --rows 100000

# The console's pages as its browser tests see them, into docs/console/ (needs /usr/bin/chromium)
screenshots: $(DEV)
	INTERLACE_SCREENSHOTS=$(CURDIR)/docs/console $(BIN)/pytest -q tests/web/test_console_browser.py
	INTERLACE_SCREENSHOTS=$(CURDIR)/docs/approvals $(BIN)/pytest -q tests/web/test_tasks_browser.py

conformance: $(DEV)
	$(BIN)/python benchmarks/jsonata_conformance.py --write

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache examples/quickstart/.interlace examples/quickstart/erp.db* examples/quickstart/crm-orders.jsonl
