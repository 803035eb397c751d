# greenlane: `make run` serves the API, `make test` runs every check. Both bootstrap .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
LINTED := src tests migrations $(wildcard loadtests bench)

.PHONY: run test lint typecheck unit openapi bench bench-eligibility loadtest clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/greenlane serve

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

typecheck: $(STAMP)
	$(BIN)/mypy --strict src

unit: $(STAMP)
	$(BIN)/pytest tests/unit

# pytest exits 5 when it collects nothing, so an empty run fails here too.
test: lint typecheck
	$(BIN)/pytest

openapi: $(STAMP)
	$(BIN)/greenlane openapi

# Dry-run evaluations per second for one worker, median of 5 runs (see bench/eligibility.py).
bench-eligibility: $(STAMP)
	$(BIN)/python bench/eligibility.py

clean:
	rm -rf $(VENV) .greenlane .pytest_cache .mypy_cache .ruff_cache
