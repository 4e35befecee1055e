# The two commands in README.md: `make synth` and `make test`. Setup steps run only when their inputs change.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The pinned Node (npm package `node`) and CDK CLI come first on PATH, also for jsii inside Python.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup synth nag cfn-lint lint test clean
.DEFAULT_GOAL := synth

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

setup: $(VENV)/.installed node_modules/.installed

# Synthesize every environment (cdk-nag runs inside synth and fails it on unacknowledged findings), then lint.
synth: setup
	rm -rf cdk.out
	cdk synth --quiet
	$(MAKE) --no-print-directory lint

# cfn-lint, then the policy lint (sesmail lint, docs/policy-lint.md); both fail on any finding.
lint: setup
	$(VENV)/bin/cfn-lint
	$(VENV)/bin/sesmail lint cdk.out

test: setup
	$(PY) -m pytest

clean:
	rm -rf cdk.out .venv node_modules build dist *.egg-info
