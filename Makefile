# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
SDK_VENV ?= .venv-sdk
BIN    := $(VENV)/bin

.PHONY: demo demo-reset test test-unit test-fast smoke lint lock bench setup sdk-venv clean

## setup: the project's virtual environment, with the local Hub and the dev tools
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[localhub,dev]'
	touch $@

## sdk-venv: the official client (jina-hubble-sdk 0.39.0) in its own environment, for interop tests
sdk-venv: $(SDK_VENV)/.installed

$(SDK_VENV)/.installed:
	$(PYTHON) -m venv $(SDK_VENV)
	$(SDK_VENV)/bin/pip install --quiet 'jina-hubble-sdk==0.39.0' 'setuptools<81'
	touch $@

## demo: start a local Hub, push examples/hello-executor through the action's entrypoint, show outputs + summary
demo: setup
	PYTHONPATH=tests $(BIN)/python scripts/demo.py $(DEMO_ARGS)

## demo-reset: forget the demo Hub's state (executors, tags, tasks)
demo-reset:
	rm -rf .demo

## test: lint, type-check and run every test (the local Hub, the official client, the container)
test: setup sdk-venv lint
	$(BIN)/pytest $(PYTEST_ARGS)

## test-unit: the fast tests alone (tests/unit: no subprocess, well under a minute)
test-unit: setup
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

## test-fast: everything but the container smoke test (no root needed)
test-fast: setup sdk-venv
	$(BIN)/pytest -m "not container" $(PYTEST_ARGS)

## smoke: only the container smoke test (root: installs docker.io + debootstrap, builds the image)
smoke: setup
	$(BIN)/pytest tests/e2e/container $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check src tests scripts bench
	$(BIN)/ruff format --check src tests scripts bench
	$(BIN)/mypy

## bench: hub-push vs the official client on 100 MiB-1 GiB executors (~5 min; bench/results/)
bench: setup sdk-venv
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/discover_scale.py
	$(BIN)/python bench/run.py $(BENCH_ARGS)

## lock: regenerate requirements/*.lock (hash-pinned image dependencies) from pyproject.toml
lock: setup
	$(BIN)/python scripts/lock.py

clean:
	rm -rf $(VENV) $(SDK_VENV) .demo .pytest_cache .mypy_cache .ruff_cache build *.egg-info src/*.egg-info
