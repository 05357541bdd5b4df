# Ticketstream: `make run` starts the whole system on embedded servers, `make test` checks it.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.8
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
PYTHON ?= python3
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(shell $(PYTHON) -c 'import sys; print(sys.executable)')
RUN := $(UV) run --frozen --no-sync

.PHONY: help sync test-servers run test lint typecheck unit integration e2e schemas bench demo clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

sync: | $(UV) ## install the workspace into .venv from uv.lock
	$(UV) sync --frozen

run: sync ## start NATS, PostgreSQL and every service on 127.0.0.1 (data under .run/)
	$(RUN) python -m ticketstream.embedded.supervisor --data .run

test-servers: ## what the tests need beyond the workspace: Dovecot (IMAP), from Debian's packages
	bash scripts/ensure-dovecot

test: sync lint typecheck test-servers ## lint, type-check and run every test (unit, integration, e2e)
	$(RUN) pytest

lint: sync ## ruff: lint and formatting
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck: sync ## mypy (strict on the libraries)
	$(RUN) mypy

unit: sync ## only the tests that need no server
	$(RUN) pytest -m unit

integration: sync test-servers ## only the tests on real NATS / PostgreSQL / Dovecot
	$(RUN) pytest -m integration

e2e: sync ## only the tests with services as separate processes
	$(RUN) pytest -m e2e

schemas: sync ## regenerate the committed JSON Schemas and AsyncAPI document from the models
	$(RUN) python -m ticketstream.events.schemas write libs/events/schemas

bench: sync ## benchmarks beside raw baselines of the same run (options: BENCH_ARGS="--help")
	$(RUN) python -m bench $(BENCH_ARGS)

demo: sync ## the seed scenario through the public HTTP APIs, on `make run`'s system or its own
	$(RUN) python -m demo

clean: ## remove the virtualenv, caches and .run/ data
	rm -rf .venv .tools .mypy_cache .ruff_cache .pytest_cache .run
