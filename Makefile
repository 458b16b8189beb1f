# trailalert developer tasks. `make demo` and `make test` are the README's quick start.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint clean package deploy scan bench docs

install: $(STAMP)

# Re-install only when the project metadata changes, so repeated `make test` is fast.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "trailalert needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# The CLI's own demo (`trailalert demo`); writes build/demo-preview.html, the Slack messages as Slack draws them.
demo: install
	$(BIN)/trailalert demo

# docs/configuration.md (from processor/settings.py) and docs/cli.md (from the commands' help); a test checks them.
docs: install
	$(BIN)/python -m processor.devtools.reference

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check processor backfill tests
	$(BIN)/ruff format --check infra
	$(BIN)/cfn-lint infra/cloudformation/template.yaml infra/cloudformation/member.yaml

# Throughput, Lambda batch time, cold start, memory and --workers scaling against the reference
# algorithm and the parse floor; writes bench/results.json. QUICK=1: a small corpus, under a minute.
bench: install
	$(BIN)/python -m bench $(if $(QUICK),--quick)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache

# --- Deployment (infra/; see docs/deploy.md) ---
LAMBDA_ARCH ?= x86_64
# checkov pins clash with ours, so it lives in its own virtualenv under build/ (ignored, rebuilt on demand).
SCAN_VENV := build/venv-scan
CHECKOV_VERSION := 3.3.30
CHECKOV := BC_SKIP_MAPPING=TRUE $(SCAN_VENV)/bin/checkov --skip-download --compact --quiet

# build/trailalert-lambda.zip: our code plus manylinux wheels for every allowed Python runtime (LAMBDA_ARCH=arm64 for Graviton).
package: install
	$(BIN)/python -m infra.package --architecture $(LAMBDA_ARCH)

# Check every setting, package, upload, show the change set and execute it when confirmed (docs/deploy.md).
# Settings: deploy.env and the environment. DEPLOY_ARGS="--yes --store-secrets --no-env-file" as needed.
DEPLOY_ARGS ?=
deploy: install
	$(BIN)/python -m infra.deploy $(DEPLOY_ARGS)

$(SCAN_VENV)/.installed:
	$(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet checkov==$(CHECKOV_VERSION)
	@touch $@

# Static security scan of both the CloudFormation template and the Terraform module.
scan: $(SCAN_VENV)/.installed
	$(CHECKOV) -d infra/cloudformation --framework cloudformation
	$(CHECKOV) -d infra/terraform --framework terraform
