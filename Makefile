# greenlane: `make run` serves the API, `make test` runs every check. Both bootstrap .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
LINTED := src tests $(wildcard loadtests bench reliability)

.PHONY: run test lint fmt typecheck imports unit fuzz openapi screenshots chromium
.PHONY: bench bench-eligibility bench-status-lists bench-profile loadtest loadtest-ci faults reliability clean
.PHONY: federation federation-demo

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

# Applies ruff's safe fixes, then formats; `make lint` checks and reports what is left.
fmt: $(STAMP)
	$(BIN)/ruff check --fix-only $(LINTED)
	$(BIN)/ruff format $(LINTED)

# The harnesses too: they import the package as a library, so a change there breaks them.
typecheck: $(STAMP)
	MYPYPATH=src:. $(BIN)/mypy --strict --explicit-package-bases src $(filter-out src,$(LINTED))

# The layering contracts in pyproject.toml's [tool.importlinter].
imports: $(STAMP)
	$(BIN)/lint-imports

unit: $(STAMP)
	$(BIN)/pytest tests/unit

# pytest exits 5 when it collects nothing, so an empty run fails here too. Coverage includes the
# server and CLI subprocesses ([tool.coverage] in pyproject.toml); below the floor the run fails.
COVERAGE_FLOOR ?= 93
test: lint typecheck imports chromium
	$(BIN)/pytest --cov=greenlane --cov-report=term-missing:skip-covered \
		--cov-fail-under=$(COVERAGE_FLOOR)

# Debian's Chromium for the console's browser tests (Playwright cannot download its own here);
# installed when missing and we may, otherwise say how.
chromium:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq chromium; } \
		|| { echo "the browser tests need Chromium: apt-get install chromium" >&2; exit 2; }

# A screenshot of each console page into docs/console/ (docs/console.md shows them), taken by
# the browser tests' tour against a fresh database.
screenshots: $(STAMP) chromium
	mkdir -p docs/console
	GREENLANE_SCREENSHOTS=docs/console $(BIN)/pytest -q -p no:randomly \
		tests/console/test_browser.py::test_every_page_in_the_browser

# Contract fuzzing at length: 500 schemathesis examples per operation (`make test` runs 25 with a
# fixed seed). Each run draws a new seed and prints it; set GREENLANE_FUZZ_SEED to replay one.
fuzz: $(STAMP)
	@seed=$${GREENLANE_FUZZ_SEED:-$$(date +%s)}; echo "GREENLANE_FUZZ_SEED=$$seed"; \
		GREENLANE_FUZZ_EXAMPLES=500 GREENLANE_FUZZ_SEED=$$seed $(BIN)/pytest tests/fuzz

openapi: $(STAMP)
	$(BIN)/greenlane openapi

# The lane hot path with wrk against a real server, side by side with the peer where
# ../shared/peer is there (docs/performance.md), then the eligibility benchmark. wrk comes from
# Debian (installed here when missing and we may; otherwise: apt-get install wrk).
bench: $(STAMP)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk; } \
		|| { echo "make bench needs wrk: apt-get install wrk" >&2; exit 2; }
	PYTHONPATH=. $(BIN)/python bench/verify.py
	$(MAKE) bench-eligibility
	$(MAKE) bench-status-lists

# Dry-run evaluations per second for one worker, median of 5 runs (see bench/eligibility.py).
bench-eligibility: $(STAMP)
	PYTHONPATH=. $(BIN)/python bench/eligibility.py

# For 10^6 tokens with 1 % revoked: the served status list's size, what one revocation costs, and
# the verify check with and without the status look-up (see bench/status_lists.py).
bench-status-lists: $(STAMP)
	PYTHONPATH=. $(BIN)/python bench/status_lists.py

# Where a worker's CPU goes on POST /v1/verify, at saturation and at half of it: py-spy samples
# every worker under wrk's load and charges each sample by layer (see bench/profile.py).
bench-profile: $(STAMP)
	PYTHONPATH=. $(BIN)/python bench/profile.py

# Locust lanes against a fresh server; fails on any unexpected answer or a verify p99 over budget
# (see loadtests/locustfile.py). CI runs the 30-second version.
loadtest: $(STAMP)
	$(BIN)/python loadtests/run.py --duration 60s

loadtest-ci: $(STAMP)
	$(BIN)/python loadtests/run.py --duration 30s

# Database faults under a steady verify load, one row per fault (see reliability/faults.py).
# `make test` runs the short version (tests/reliability/).
faults: $(STAMP)
	PYTHONPATH=. $(BIN)/python reliability/faults.py

# Every reliability figure in one table: faults, two processes on one database, SIGTERM.
reliability: $(STAMP)
	PYTHONPATH=. $(BIN)/python reliability/report.py

# Two agencies federated: a peer's rotation and outage as they reach the other's lanes, timed
# (docs/figures/federation.md; `make reliability` includes the same rows).
federation: $(STAMP)
	PYTHONPATH=. $(BIN)/python reliability/federation.py

# Thailand and Lao PDR on this machine, federated, one clearance walked across (docs/federation.md).
federation-demo: $(STAMP)
	$(BIN)/greenlane federation-demo

clean:
	rm -rf $(VENV) .greenlane .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.*
