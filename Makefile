# plan2cash — `make demo` and `make test` work on a fresh clone: both create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# every install is pinned by constraints.txt, so a clean clone gets the versions the tests passed on
CONSTRAINTS := constraints.txt

.PHONY: demo test lint typecheck unit bench clean constraints

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

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy app collectors sync metrics alerts sandbox

unit: $(STAMP)
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench.backfill
	$(BIN)/python -m bench.workers

clean:
	rm -rf $(VENV) var/*.db var/*.db-wal var/*.db-shm
