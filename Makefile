# Every target works on a fresh clone: `setup` builds .venv and the others depend on it.
# Targets that act on one environment take ENV= (default: sandbox), e.g. `make render ENV=prod`.
ENV ?= sandbox
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SSO := $(BIN)/sekoia-sso

.PHONY: setup test test-slow bench lint render check docs demo plan apply status preflight rotate destroy connect sandbox

setup: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

test: setup
	$(BIN)/pytest -q

lint: setup
	$(BIN)/ruff check orchestrator sandbox tests scripts
	terraform fmt -check -recursive terraform/
	$(BIN)/python scripts/module_docs.py --check

render: setup
	$(SSO) render $(ENV)

check: setup
	$(SSO) check $(ENV)

# The whole flow on envs/sandbox.yaml against the local emulators: sandbox up, apply, status, sandbox down.
demo: setup
	$(BIN)/python scripts/demo.py

# The emulators on 127.0.0.1 until Ctrl-C; `make apply ENV=sandbox` in another terminal uses them.
sandbox: setup
	$(BIN)/python -m sandbox up

plan: setup
	$(SSO) plan $(ENV)

apply: setup
	$(SSO) apply $(ENV)

status: setup
	$(SSO) status $(ENV)

preflight: setup
	$(SSO) preflight $(ENV)

connect: setup
	$(SSO) connect $(ENV)

rotate: setup
	$(SSO) rotate $(ENV)

destroy: setup
	$(SSO) destroy $(ENV)

# Benchmarks (preflight of 100,000 users, no-op re-apply, --help start-up): one table of ratios.
bench: setup
	$(BIN)/python -m bench.run

test-slow: setup
	$(BIN)/pytest -q -m slow

# Regenerate the module README's inputs/outputs tables from its variables and outputs.
docs: setup
	$(BIN)/python scripts/module_docs.py
