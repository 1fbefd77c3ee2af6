# Two entry points (see README): `make demo` runs the main job, `make test` the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench docs clean system-deps

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

system-deps:
	sh scripts/system-deps.sh

## demo: make a demo backup tree, collect it, build the example docs with charts
demo: $(STAMP) system-deps
	$(MAKE) -C example_docs demo PYTHON=$(abspath $(PY)) SCM_MONITOR=$(abspath $(VENV)/bin/scm-monitor)

## test: every test, with real sshd, Chromium, PostgreSQL and SMTP
test: $(STAMP) system-deps
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .

bench: $(STAMP) system-deps
	$(PY) -m benchmarks

## docs: the project's own documentation (uses the extension on a demo tree)
docs: $(STAMP)
	$(MAKE) -C docs html SPHINXBUILD=$(abspath $(VENV)/bin/sphinx-build)

clean:
	rm -rf $(VENV) build dist *.egg-info example_docs/_build test-output
