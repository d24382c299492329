# nnflow: `make train` and `make test` bootstrap .venv from requirements.lock on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Prefect state and MLflow store stay inside the project; no telemetry (no internet).
export PREFECT_HOME ?= $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_UI_ENABLED ?= false

.PHONY: setup train test lint bench ui clean lock

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	$(PYTHON) -m uv venv --quiet --seed --allow-existing --python $(PYTHON) $(VENV)
	$(PYTHON) -m uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(PYTHON) -m uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

train: $(STAMP)
	$(BIN)/nnflow train --data data/digits.csv --hidden 25 --lam 1 --optimizer lbfgs --max-iter 200

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -m "not stack" tests

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python -m benchmarks

ui: $(STAMP)
	$(BIN)/nnflow ui

# Re-pin after editing requirements.in (name==version lines only, no index URLs).
lock:
	$(PYTHON) -m uv pip compile --quiet --no-emit-index-url --python-version 3.11 \
		requirements.in -o requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis

# Scale-out stack without Docker: Postgres-backed Prefect + MLflow servers and a Dask
# cluster as local processes (scripts/stack.sh; settings via STACK_* variables).
.PHONY: stack stack-stop test-stack

stack: $(STAMP)
	scripts/stack.sh start

stack-stop:
	scripts/stack.sh stop

# Integration suite: fresh databases on the local PostgreSQL, servers started and stopped
# by the tests; fails (never skips) when PostgreSQL is not reachable.
test-stack: $(STAMP)
	@scripts/ensure-compose.sh
	$(BIN)/python -m pytest -q -m stack tests/stack
