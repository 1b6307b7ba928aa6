# plan2cash — `make demo` and `make test` work on a fresh clone: both create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# every install is pinned by constraints.txt, so a clean clone gets the versions the tests passed on
CONSTRAINTS := constraints.txt

.PHONY: demo test check lint typecheck unit fast bench clean constraints

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e '.[dev]'
	touch $(STAMP)

# refresh the pins: the newest versions pyproject.toml allows, then what is installed is written down
constraints:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade --upgrade-strategy eager -e '.[dev]'
	{ sed -n '/^#/p' $(CONSTRAINTS); $(BIN)/python -m pip freeze --exclude-editable | grep -v '^plan2cash'; } > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/plan2cash demo

test: $(STAMP) lint typecheck unit

# the inner loop (under 90 s): lint, types, the import contracts and the fast tests
check: $(STAMP) lint typecheck fast

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy app collectors sync metrics alerts sandbox

# the whole suite in units handed out longest first: a file, or for the files tests/scheduling.py
# names a test or a sandbox firm at a time; two workers a core, since much of it waits on
# servers, browsers and subprocesses; each worker migrates once, each test gets a
# fresh-as-migrated store (tests/conftest.py)
WORKERS ?= $(shell echo $$(( $$(nproc) * 2 )))
unit: $(STAMP)
	$(BIN)/pytest -q -n $(WORKERS) --dist loadfile

# the unit tests that need no sandbox firm, browser or PostgreSQL (SQLite stands in)
fast: $(STAMP)
	$(BIN)/pytest -q -n auto --dist loadfile -m "not postgres" -k "not postgresql" --ignore tests/metrics/test_truth.py tests/collectors tests/metrics tests/test_architecture.py tests/sync/test_settings.py tests/sync/rules tests/sync/store/test_columns.py tests/sync/test_pipeline.py

bench: $(STAMP)
	$(BIN)/python -m bench.backfill
	$(BIN)/python -m bench.workers

clean:
	rm -rf $(VENV) var/*.db var/*.db-wal var/*.db-shm
