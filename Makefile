# Two entry points (see README): `make demo` runs the main job, `make test` the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo serve serve-docs test lint typecheck bench docs clean system-deps test-deps

# serve: the port and address of `make serve` (PORT=8080 make serve, or make serve PORT=8080)
PORT ?= 8000
BIND ?= 127.0.0.1

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

## system-deps: install the Debian packages the tests and the demo need (root), when missing
system-deps:
	sh scripts/system-deps.sh

# The tests need no root: a contributor who is not root and lacks a package is told which,
# and the tests that need it skip with that reason (under CI=true they fail instead).
test-deps:
	@sh scripts/system-deps.sh || { [ "$$(id -u)" != 0 ] && [ "$${CI:-}" != true ] \
		&& echo "continuing without them: the tests that need them skip" >&2; }

## demo: make a demo backup tree, collect it, build the example docs with charts
demo: $(STAMP) system-deps
	$(MAKE) -C example_docs demo PYTHON=$(abspath $(PY)) SCM_MONITOR=$(abspath $(VENV)/bin/scm-monitor)

## serve: the demo page built by `make demo`, on http://127.0.0.1:$(PORT)/ (Ctrl-C stops it)
# Served, not opened from disk: browsers refuse a file:// page's requests for its JSON data.
serve:
	@test -f example_docs/_build/html/index.html || { echo "no example_docs/_build/html yet: run 'make demo' first" >&2; exit 2; }
	@echo "serving example_docs/_build/html on http://$(BIND):$(PORT)/ (Ctrl-C stops it)"
	$(PYTHON) -m http.server --bind $(BIND) --directory example_docs/_build/html $(PORT)

# the JS test tools (acorn for the ES2017 syntax check), pinned by tests/js/package-lock.json
JS_DEPS := tests/js/node_modules/.package-lock.json
$(JS_DEPS): tests/js/package.json tests/js/package-lock.json
	@if command -v npm >/dev/null 2>&1; then cd tests/js && npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm is missing: the JS syntax test skips" >&2; fi

## test: ruff, mypy (strict), then every test, with real sshd, Chromium, PostgreSQL and SMTP
test: $(STAMP) test-deps $(JS_DEPS)
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .

## typecheck: mypy, strict on the package (configured in pyproject.toml)
typecheck: $(STAMP)
	$(PY) -m mypy

bench: $(STAMP) system-deps
	$(PY) -m benchmarks

## docs: the project's own documentation (uses the extension on a demo tree)
docs: $(STAMP)
	$(MAKE) -C docs html SPHINXBUILD=$(abspath $(VENV)/bin/sphinx-build)

## serve-docs: the built documentation on http://127.0.0.1:$(PORT)/
serve-docs:
	$(PYTHON) -m http.server --bind $(BIND) --directory docs/_build/html $(PORT)

clean:
	rm -rf $(VENV) build dist *.egg-info example_docs/_build test-output
