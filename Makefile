# Quick start: `make synth`, then `make test`. Both set up what they need first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
CHECKOV_VENV := .tools/checkov
# Project-local Node 22 (from package.json) and the venv come first on PATH.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
export npm_config_loglevel := error
export npm_config_update_notifier := false
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export CHECKOV := $(CURDIR)/$(CHECKOV_VENV)/bin/checkov
export BC_SKIP_MAPPING := TRUE
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
CDK := node_modules/.bin/cdk

.PHONY: setup synth test lint typecheck pytest deploy diff integ review cost diagrams docs bench lock clean

setup: $(VENV)/.installed node_modules/.installed $(CHECKOV_VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -qq -r requirements-dev.txt
	$(VENV)/bin/pip install -qq --no-deps -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	touch $@

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install -qq -r requirements-checkov.txt
	touch $@

## Synthesize every example stack into cdk.out/ (rule packs run as validation plugins).
synth: setup
	rm -rf cdk.out
	$(CDK) synth --quiet --no-notices --no-version-reporting $(CDK_ARGS)
	@echo "Synthesized: $$(cd cdk.out && find . -name '*.template.json' | sort | sed 's|^\./||' | tr '\n' ' ')"

## Lint, type-check and the whole test suite (snapshots, intent, bad input, rule packs, cfn-lint,
## checkov, API docs), side by side: the suite keeps a core busy while the linters use the other.
test: setup
	$(MAKE) --no-print-directory --output-sync=target -j3 lint typecheck pytest

lint: setup
	ruff check .
	ruff format --check .

typecheck: setup
	mypy

pytest: setup
	pytest

## Deploy the example app (needs AWS credentials and a bootstrapped account).
deploy: setup
	$(CDK) deploy --all --no-notices --require-approval broadening

diff: setup
	$(CDK) diff --no-notices

## Deploy a stage and check it works (needs AWS credentials): make integ STAGE=dev [INTEG_ARGS=--keep].
## Not part of `make test`. STAGE is checked before set-up runs.
ifneq ($(filter integ,$(MAKECMDGOALS)),)
ifeq ($(strip $(STAGE)),)
$(error integ: STAGE is empty; run 'make integ STAGE=dev' with a stage name from cdk.json)
endif
endif
integ: setup
	$(VENV)/bin/python -m stacks.deploy_check --stage $(STAGE) $(INTEG_ARGS)

## Markdown review of a template change, for a pull request: the snapshots at REVIEW_BASE
## (a git revision) against the working tree, or BASE_DIR against NEW_DIR (e.g. two cdk.out).
## A REVIEW_BASE without snapshots (before the first ones) counts as an empty base.
REVIEW_BASE ?= HEAD
REVIEW := $(VENV)/bin/python -m ecs_patterns_plus.review
review: $(VENV)/.installed
	@if [ -n "$(BASE_DIR)" ]; then \
	  $(REVIEW) "$(BASE_DIR)" "$(or $(NEW_DIR),cdk.out)" $(REVIEW_ARGS); \
	else \
	  git rev-parse --verify --quiet "$(REVIEW_BASE)^{commit}" >/dev/null \
	    || { echo "review: unknown git revision '$(REVIEW_BASE)'" >&2; exit 2; }; \
	  base=$$(mktemp -d) && trap 'rm -rf "$$base"' EXIT && mkdir -p "$$base/tests/__snapshots__" && \
	  first= && if git cat-file -e "$(REVIEW_BASE):tests/__snapshots__" 2>/dev/null; then \
	    git archive "$(REVIEW_BASE)" tests/__snapshots__ | tar -x -C "$$base"; \
	  else first=--allow-empty-base; fi && \
	  $(REVIEW) "$$base/tests/__snapshots__" tests/__snapshots__ $$first $(REVIEW_ARGS); \
	fi

## Monthly estimate of one stage of the example app (COST_STAGE, default Prod): synthesizes it,
## then prices its assembly offline (COST_ARGS, e.g. COST_ARGS="--assumption log_gb_per_task=5
## --json"). Not part of `make test`.
COST_STAGE ?= Prod
cost: synth
	$(VENV)/bin/python -m ecs_patterns_plus.cost cdk.out/assembly-$(COST_STAGE) $(COST_ARGS)

## Redraw the README's architecture diagrams from the example stacks' snapshots.
diagrams: $(VENV)/.installed
	$(VENV)/bin/python -m ecs_patterns_plus.review.diagrams tests/__snapshots__ \
	  --pattern 'test_example_stack[[]Prod-*' --readme README.md

# Sphinx writes a page per public name into its source directory: a temporary copy of docs/api.
## Build the API reference into build/docs (warnings fail).
docs: $(VENV)/.installed
	rm -rf build/docs
	source=$$(mktemp -d) && trap 'rm -rf "$$source"' EXIT && cp -R docs/api/. "$$source" && \
	  $(VENV)/bin/sphinx-build -b html -W --keep-going -n -q -E --no-color -c docs/api "$$source" build/docs
	@echo "API reference: build/docs/index.html"

## Synthesis and test-suite timings into bench/results.json and the README, and the README's
## hardening-cost table (slow; not in `make test`).
bench: setup
	$(VENV)/bin/python bench/hardening_cost.py
	$(VENV)/bin/python bench/bench.py $(BENCH_ARGS)

## Regenerate the locked development environment from a fresh resolve.
lock:
	rm -rf .tools/lock && $(PYTHON) -m venv .tools/lock
	.tools/lock/bin/pip install -qq -e '.[compliance]' pytest syrupy cfn-lint ruff mypy sphinx
	{ echo "# Locked development environment: regenerate with 'make lock'."; \
	  .tools/lock/bin/pip freeze --exclude-editable; } > requirements-dev.txt

clean:
	rm -rf cdk.out build .pytest_cache .mypy_cache .ruff_cache "$${XDG_CACHE_HOME:-$$HOME/.cache}/ecs_patterns_plus"
