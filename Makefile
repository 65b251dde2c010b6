# Two entry points matter: `make run` (local Airflow + sandbox) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= $(CURDIR)/.venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONPATH := $(CURDIR)/plugins:$(CURDIR)/include:$(CURDIR)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install run sandbox test test-fast lint format bench clean

$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip wheel 2> >(grep -v "is ignored: it is neither" >&2)
	$(BIN)/pip install --quiet -r requirements.txt -r requirements-dev.txt -c constraints.txt \
		2> >(grep -v "is ignored: it is neither" >&2)
	# The package itself, editable: registers its connection types with Airflow (provider entry point).
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e . 2> >(grep -v "is ignored: it is neither" >&2)
	touch $(STAMP)

install: $(STAMP)

## make run: SQLite Airflow (standalone, LocalExecutor) + the sandbox servers; UI on :8080; Ctrl-C stops all.
run: install
	$(BIN)/python scripts/run_local.py

## make sandbox: only the local protocol servers (DSpace, Wayback SPN2, CMS, link farm) in the foreground.
sandbox: install
	$(BIN)/python -m ocw_sandbox all --data-dir var/sandbox

## make test: lint, then the whole suite. In CI (CI=true) PostgreSQL and Redis tests must run, never skip.
test: install lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: install
	$(BIN)/python -m pytest -m "not airflow_e2e and not integration and not make_run" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## make bench: every benchmark, each side by side with its baseline; results in benchmarks/results/.
bench: install
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf var .pytest_cache .ruff_cache
