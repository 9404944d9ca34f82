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

setup: $(BIN)/hubgen
	bash .ci/install-tools

check: setup
	hubgen validate
	hubgen render --check
	hubgen lint

test: setup
	$(BIN)/python -m pytest -n 2 -q

docs: $(BIN)/hubgen
	hubgen checks --markdown > docs/checks.md

clean:
	rm -rf $(VENV) .tools .hubgen .pytest_cache
