# Plain entry points. `make test` is the test command README gives and CI runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STACK ?= dev

.PHONY: venv tools test lint format preview up cluster-up cluster-down cluster-status clean

# The virtualenv Pulumi.yaml names; rebuilt when a requirements file changes.
$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

# Go tools (promtool, Kubernetes control plane, etcd, kwok) built from the Go
# module proxy, cached outside the repo by version.
tools:
	scripts/tools.sh build

# A local control plane with fake GPU nodes (scripts/local-cluster-nodes.yaml).
cluster-up: venv tools
	scripts/local-cluster up

cluster-down:
	scripts/local-cluster down

cluster-status:
	scripts/local-cluster status

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

clean: cluster-down
	rm -rf $(VENV) .pytest_cache .ruff_cache .local
