# The two commands in README.md: `make synth` and `make test`. Setup steps run only when their inputs change.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The pinned Node (npm package `node`) and CDK CLI come first on PATH, also for jsii inside Python.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
# A company's own configuration file (docs/configuration.md): `make synth CONFIG=../acme-mail/mail.json` synthesizes
# and checks its environments instead of the examples in cdk.json. The tests never read it.
ifdef CONFIG
export SESMAIL_CONFIG := $(abspath $(CONFIG))
endif

.PHONY: setup synth nag cfn-lint lint test clean deploy diff
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

# The whole suite on two workers (pytest-xdist; each loads its own jsii runtime, about 0.5 GB), tests handed out by
# file so a file's module fixtures are built once. PYTEST_ARGS: more pytest arguments (benchmarks/tests.py uses it).
# Byte-code caching on for the tests even where the machine sets PYTHONDONTWRITEBYTECODE: each worker otherwise
# rewrites the assertions of every test module and compiles the project again at every run (about 4 s of a worker's
# start here). The caches are __pycache__ folders, ignored by git and left out of the Lambda assets.
PYTEST_WORKERS ?= 2
test: setup
	env -u PYTHONDONTWRITEBYTECODE $(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# Deploy (or diff) one environment with the pinned Node and CDK CLI: make deploy ENV=prod [CDK_FLAGS=...].
# Not `npx cdk`: npx puts the system's PATH first, so the CLI ran on the machine's Node instead of the pinned one.
deploy diff: setup
	@test -n "$(ENV)" || { echo "make $@: ENV=<environment> is required (an environment of cdk.json)" >&2; exit 2; }
	@echo "make $@: node $$(node --version) from $$(command -v node)" >&2
	$(PY) tools/deploy.py $@ $(ENV) $(CDK_FLAGS)

clean:
	rm -rf cdk.out .venv node_modules build dist *.egg-info
