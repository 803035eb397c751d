# greenlane: `make run` serves the API, `make test` runs every check. Both bootstrap .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
LINTED := src tests migrations $(wildcard loadtests bench)

.PHONY: run test lint typecheck unit openapi bench bench-eligibility loadtest loadtest-ci clean

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

# The lane hot path with wrk against a real server, then the eligibility benchmark. wrk comes
# from Debian (installed here when missing and we may; otherwise: apt-get install wrk).
bench: $(STAMP)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk; } \
		|| { echo "make bench needs wrk: apt-get install wrk" >&2; exit 2; }
	PYTHONPATH=. $(BIN)/python bench/verify.py
	$(MAKE) bench-eligibility

# Dry-run evaluations per second for one worker, median of 5 runs (see bench/eligibility.py).
bench-eligibility: $(STAMP)
	PYTHONPATH=. $(BIN)/python bench/eligibility.py

# Locust lanes against a fresh server; fails on any unexpected answer or a verify p99 over budget
# (see loadtests/locustfile.py). CI runs the 30-second version.
loadtest: $(STAMP)
	$(BIN)/python loadtests/run.py --duration 60s

loadtest-ci: $(STAMP)
	$(BIN)/python loadtests/run.py --duration 30s

clean:
	rm -rf $(VENV) .greenlane .pytest_cache .mypy_cache .ruff_cache
