# Two commands matter: `make run` and `make test`. Both set up .venv from scratch if needed.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint test-postgres bench clean playground oidc-provider

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Install everything and start the bot on an embedded SQLite file (./sitrep.db).
run: $(STAMP)
	$(BIN)/sitrep serve

## Install everything, lint (formatting included), type-check and run the test suite (SQLite;
## Postgres too when SITREP_TEST_POSTGRES_URL is set).
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -q

## The same suite against the local Postgres (what .ci/run does second).
test-postgres: $(STAMP)
	SITREP_TEST_POSTGRES_URL=$${SITREP_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
	SITREP_TEST_BACKENDS=postgres $(BIN)/pytest -q

## The Microsoft 365 Agents Playground for tests/e2e/test_teams_playground.py (needs node/npm).
playground:
	npm ci --prefix tests/e2e/playground --no-audit --no-fund

## The OpenID Provider for tests/e2e/test_oidc_login.py (needs node/npm).
oidc-provider:
	npm ci --prefix tests/e2e/oidc --no-audit --no-fund

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python bench/export.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info tests/e2e/playground/node_modules tests/e2e/oidc/node_modules
