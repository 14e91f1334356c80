# Plain entry points. `make test` is the test command README gives and CI runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STACK ?= dev

.PHONY: venv tools test lint format preview up clean

# The virtualenv Pulumi.yaml names; rebuilt when a requirements file changes.
$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

# Go tools (promtool) built from the Go module proxy, cached outside the repo.
tools:
	scripts/tools.sh build

test: venv tools
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Needs the pulumi CLI and the kubernetes/random plugins on PATH (see README).
preview: venv
	@command -v pulumi >/dev/null || { echo "pulumi CLI not found on PATH; see README 'Running the engine'" >&2; exit 1; }
	pulumi preview -s $(STACK)

up: venv
	@command -v pulumi >/dev/null || { echo "pulumi CLI not found on PATH; see README 'Running the engine'" >&2; exit 1; }
	pulumi up -s $(STACK)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
