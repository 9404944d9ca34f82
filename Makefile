# The two entry points of the README. Both do all set-up on a fresh machine
# (Python 3.10+, Go and git installed; PyPI and the Go module proxy reachable).
#
#   make check   the main job on the example environments: validate, render --check, lint
#   make test    the whole test suite (plus actionlint, checkov, detect-secrets)

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/.tools/bin:$(CURDIR)/$(BIN):/usr/local/go/bin:$(PATH)

.PHONY: setup tools check test e2e dist docs clean

$(BIN)/hubgen: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(BIN)/hubgen

# What needs the wider network: the JupyterHub chart, which `hubgen lint` fetches from its Helm
# repository into ~/.cache/hubgen/charts (outside the checkout) the first time. Where that repository
# cannot be reached, lint warns that chart values were not checked (HG504) and goes on. The Flux CRDs
# come from the pinned controllers' Go modules (.ci/install-tools downloads them).
setup: $(BIN)/hubgen
	bash .ci/install-tools

# The pinned Go tools and engines (helm, kustomize, flux, the Kubernetes control plane, etcd, kwok, the
# Flux controllers; versions in generator/versions.py), built from the Go module proxy into .tools/bin.
# The first build takes tens of minutes on 2 cores (Go's build cache is reused); re-runs take seconds.
tools:
	bash .ci/install-tools

check: setup
	hubgen validate
	hubgen render --check
	hubgen lint

# pytest covers actionlint and detect-secrets (tests/gitops, tests/secrets); checkov runs in its own venv.
# PYTEST_ARGS selects tests (default: all), e.g. `make test PYTEST_ARGS="tests/core -x"`.
PYTEST_ARGS ?=
test: setup
	bash scripts/checkov.sh
	$(BIN)/python -m pytest -n 2 -q $(PYTEST_ARGS)

# The end-to-end suite alone (docs/e2e.md; `make test` runs it too): each example environment deployed by
# Flux onto its own loopback Kubernetes cluster, the two side by side.
e2e: setup
	$(BIN)/python -m pytest -n 2 -q tests/e2e $(PYTEST_ARGS)

# The wheel and sdist hubgen is installed from (dist/); tests/packaging builds and installs them too.
dist: $(BIN)/hubgen
	$(BIN)/python -m build --outdir dist .

docs: $(BIN)/hubgen
	hubgen checks --markdown > docs/checks.md

clean:
	rm -rf $(VENV) .tools .pytest_cache dist build
