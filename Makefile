# Spójnia: `make run` serves the API on the embedded SQLite with demo data; `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install run serve test lint unit-test test-postgres test-sqlite api bench clean

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Spójnia needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/spojnia migrate
	$(BIN)/spojnia seed-demo
	$(BIN)/spojnia serve --host 127.0.0.1 --port 8000

lint: install
	$(BIN)/ruff check app tests bench examples
	$(BIN)/ruff format --check app tests bench examples
	$(BIN)/mypy
	$(BIN)/lint-imports

# The full suite on PostgreSQL (the local server, a database made for the run), then the
# repository, migration and smoke tests again on SQLite.
test-postgres: install
	$(BIN)/pytest

test-sqlite: install
	SPOJNIA_TEST_DATABASE=sqlite $(BIN)/pytest

test: lint test-postgres test-sqlite

api: install
	$(BIN)/spojnia export-api --out openapi

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache spojnia.db* .spojnia
