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

.PHONY: setup check test bench docs clean

$(BIN)/hubgen: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(BIN)/hubgen

# Charts: on a networked machine hubgen fills its chart cache (~/.cache/hubgen/charts, outside the
# checkout) from the chart repository. Offline (here, CI), seed it from the reference copy beside the
# repository when there is one.
CHART_VERSION := $(shell $(PYTHON) generator/versions.py chart-version)
Z2JH_REFERENCE ?= $(abspath $(CURDIR)/../shared/reference/z2jh-$(CHART_VERSION))

setup: $(BIN)/hubgen
	bash .ci/install-tools
	CHART_CACHE="$$($(BIN)/python -c 'from generator.paths import cache_root; print(cache_root() / "charts")')"; \
	if [ -d "$(Z2JH_REFERENCE)" ] && [ ! -e "$$CHART_CACHE/jupyterhub-$(CHART_VERSION)" ]; then \
	  mkdir -p "$$CHART_CACHE" && ln -s "$(Z2JH_REFERENCE)" "$$CHART_CACHE/jupyterhub-$(CHART_VERSION)"; fi

check: setup
	hubgen validate
	hubgen render --check
	hubgen lint

# pytest covers actionlint and detect-secrets (tests/gitops, tests/secrets); checkov runs in its own venv.
test: setup
	bash scripts/checkov.sh
	$(BIN)/python -m pytest -n 2 -q

docs: $(BIN)/hubgen
	hubgen checks --markdown > docs/checks.md

clean:
	rm -rf $(VENV) .tools .pytest_cache
