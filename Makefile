# The two set-up commands of the README: `make run` and `make test`.
# Each creates the virtual environment and installs what it needs on its own;
# the local stack (Kafka, PostgreSQL, Kubernetes + kwok, helm) is built and cached by
# `devsessions stack up` under $${DEVSESSIONS_CACHE_DIR:-~/.cache/devsessions}.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Reinstall when the distribution's shape changes (dependencies or top-level packages).
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml consumer/__init__.py events/__init__.py deploy/local/devstack/__init__.py | sha1sum | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: venv run test lint unit stack-up stack-down stack-status bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

## The main job: bring the local stack up, run the consumer, provision one project end to end.
run: venv
	$(BIN)/devsessions stack up
	$(BIN)/devsessions demo

## The whole test suite: lint, types, then every test (unit and real-stack).
test: venv lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: venv
	$(BIN)/python -m pytest -m "not stack" $(PYTEST_ARGS)

stack-up: venv
	$(BIN)/devsessions stack up
stack-down: venv
	$(BIN)/devsessions stack down
stack-status: venv
	$(BIN)/devsessions stack status

## Quick end-to-end benchmarks (full sizes: see BENCHMARKS.md). Uses the stack the
## environment names (`eval "$$(devsessions stack env)"`), else brings the local one up.
BENCH_OUT ?= .bench
bench: venv
	@test -n "$$DEVSESSIONS_KAFKA_BOOTSTRAP_SERVERS" || $(BIN)/devsessions stack up
	@mkdir -p $(BENCH_OUT)
	$(BIN)/devsessions bench burst -n 10 --json $(BENCH_OUT)/burst.json --plot $(BENCH_OUT)/burst.png
	$(BIN)/devsessions bench steady --rate 2 --seconds 10 --json $(BENCH_OUT)/steady.json
	$(BIN)/devsessions bench intake --events 2000 --json $(BENCH_OUT)/intake.json
	$(BIN)/devsessions bench replay --events 5000 --json $(BENCH_OUT)/replay.json
	$(BIN)/devsessions bench helm --rounds 3 --json $(BENCH_OUT)/helm.json

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
