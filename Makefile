# Every target works on a fresh clone: `setup` builds .venv and the others depend on it.
# Targets that act on one environment take ENV= (default: sandbox), e.g. `make render ENV=prod`.
ENV ?= sandbox
# Extra arguments for the command, e.g. `make apply ENV=prod ARGS=--yes`. The sandbox is throwaway
# and its tenant has users with incomplete profiles on purpose: apply it without asking, warning only.
ifeq ($(ENV),sandbox)
APPLY_ARGS ?= --yes --warn-only
endif
ARGS ?=
# The sandbox's profile (sandbox/profiles.py): fast (default) or reality, e.g. `make sandbox PROFILE=reality`.
PROFILE ?= fast
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SSO := $(BIN)/sekoia-sso
# checkov in a venv of its own: its many pinned dependencies would fight ours in .venv.
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV := .venv-checkov

.PHONY: setup test test-fast test-slow bench lint render check docs demo plan apply status preflight rotate destroy connect output list sandbox init

setup: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@# pip byte-compiles what it installs, but not an editable checkout; with PYTHONDONTWRITEBYTECODE set
	@# (as on our machines) every command would compile the package again. Stale files are ignored.
	$(BIN)/python -m compileall -q orchestrator sandbox > /dev/null
	touch $@

# Two workers, each test file on one (module fixtures stay shared): most of an end-to-end test waits on
# Terraform and the emulators, so the suite takes about two thirds of its time on one worker.
test: setup
	$(BIN)/pytest -q -n 2 --dist loadfile

# The fast tier (tests/unit): pure code and short-lived local processes, no server and no Terraform plan
# or apply, in seconds.
test-fast: setup
	$(BIN)/pytest -q tests/unit

lint: setup $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)
	$(BIN)/ruff check orchestrator sandbox tests scripts bench
	$(BIN)/mypy orchestrator
	terraform fmt -check -recursive terraform/
	$(BIN)/python scripts/module_docs.py --check
	$(BIN)/cog --check README.md
	@# The CI recipes a team copies: actionlint and zizmor (offline) on the GitHub workflows, our own rules on
	@# those and on the Azure DevOps pipelines (parsed, templates resolved, required keys there).
	$(BIN)/actionlint recipes/github/workflows/*.yml
	$(BIN)/zizmor --offline --quiet recipes/github/workflows/*.yml
	$(BIN)/python scripts/check_recipes.py
	@# Offline: no policies or suppressions fetched (--skip-download), no module downloaded; findings fail.
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --download-external-modules false \
		--framework terraform secrets -d terraform/modules/sekoia-sso -d terraform/envs

$(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION):
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet checkov==$(CHECKOV_VERSION)
	touch $@

# The commands that act on one environment, e.g. `make plan ENV=prod ARGS=--json` runs `sekoia-sso plan prod --json`.
ENV_COMMANDS := render check plan status preflight connect rotate destroy
$(ENV_COMMANDS): setup
	$(SSO) $@ $(ENV) $(ARGS)

# The whole flow on envs/sandbox.yaml against the local emulators: sandbox up, apply, status, sandbox down.
demo: setup
	$(BIN)/python scripts/demo.py

# The emulators on 127.0.0.1 until Ctrl-C; `make apply ENV=sandbox` in another terminal uses them.
sandbox: setup
	$(BIN)/python -m sandbox up --profile $(PROFILE)

apply: setup
	$(SSO) apply $(ENV) $(APPLY_ARGS) $(ARGS)

# Every environment of envs/ side by side, e.g. `make list ARGS=--json`.
list: setup
	$(SSO) list $(ARGS)

# Start a repository of your own elsewhere, e.g. `make init DIR=../sso-infra` (README: "Start your own repository").
init: setup
	$(SSO) init $(DIR) $(ARGS)

# One Terraform output, e.g. `make output ENV=prod NAME=client_id` (a sensitive one only to a terminal).
output: setup
	$(SSO) output $(ENV) $(NAME) $(ARGS)

# Benchmarks (preflight of 100,000 users, no-op re-apply, --help start-up, the reality profile): one table of ratios.
bench: setup
	$(BIN)/python -m bench.run

test-slow: setup
	$(BIN)/pytest -q -m slow

# Regenerate the module README's inputs/outputs tables from its variables and outputs.
docs: setup
	$(BIN)/python scripts/module_docs.py
