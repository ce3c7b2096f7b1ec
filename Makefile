# Interlace: `make run` starts the quickstart hub; `make test` sets up and runs the tests.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test test-long lint typecheck audit bench conformance clean

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "Python 3.11 is required (set PY=/path/to/python3.11)"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash examples/quickstart/run.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

# Known vulnerabilities in the installed dependencies. Needs the vulnerability database (the PyPI
# JSON API, or OSV with `-s osv`): not part of `make test`, which must pass offline. --strict fails
# when a dependency could not be looked up, so a green audit means every package was checked.
audit: $(STAMP)
	$(BIN)/pip-audit --skip-editable --strict --progress-spinner off

test: $(STAMP) lint typecheck
	$(BIN)/pytest -q

test-long: $(STAMP) lint typecheck
	$(BIN)/pytest -q -m "" --timeout=3600

bench: $(STAMP)
	$(BIN)/pip install -q -e '.[dev,bench]'
	$(BIN)/python benchmarks/bench_webhook.py
	$(BIN)/python benchmarks/bench_mapping.py
	$(BIN)/python benchmarks/bench_files.py
	$(BIN)/python benchmarks/bench_databases.py --rows 100000

conformance: $(STAMP)
	$(BIN)/python benchmarks/jsonata_conformance.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache examples/quickstart/.interlace examples/quickstart/erp.db*
