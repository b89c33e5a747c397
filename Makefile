# Every target works on a fresh clone: `setup` builds .venv and the others depend on it.
# Targets that act on one environment take ENV= (default: sandbox), e.g. `make render ENV=prod`.
ENV ?= sandbox
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SSO := $(BIN)/sekoia-sso

.PHONY: setup test lint render check docs

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

# Regenerate the module README's inputs/outputs tables from its variables and outputs.
docs: setup
	$(BIN)/python scripts/module_docs.py
