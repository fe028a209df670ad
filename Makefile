# Vigil: `make demo` and `make test` set up everything they need in .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
PYTEST_WORKERS ?= auto

.PHONY: demo test bench bench-full bench-prowler lint fmt clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Vigil needs Python >= 3.11 (set PYTHON=python3.11)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[emulator,dev]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/vigil demo

test: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

bench-full: $(STAMP)
	$(BIN)/python benchmarks/run.py --full

# Prowler, in a venv of its own, for the API-calls-per-resource comparison (make bench then includes it).
PROWLER_VERSION ?= 5.46.0
.venv-prowler/bin/prowler:
	$(PYTHON) -m venv .venv-prowler
	.venv-prowler/bin/python -m pip install --quiet 'prowler==$(PROWLER_VERSION)'

bench-prowler: $(STAMP) .venv-prowler/bin/prowler
	$(BIN)/python benchmarks/run.py --only prowler

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

clean:
	rm -rf $(VENV) .venv-prowler .vigil .pytest_cache .mypy_cache .ruff_cache build *.egg-info src/*.egg-info
