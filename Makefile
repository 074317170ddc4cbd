# The two set-up commands: `make run` (local service) and `make test`. Each bootstraps .venv.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv run test lint typecheck unit train sam-check clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[train,plots,dev]"
	@touch $@

venv: $(STAMP)

## run: train both shipped models into artifacts/ (the local service arrives with issue 3)
run: $(STAMP)
	$(BIN)/propensity train --model bank
	$(BIN)/propensity train --model telecom

## test: lint, type-check, then the whole test suite (fails when no test ran)
test: $(STAMP) lint typecheck
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

## train MODEL=bank: one model into artifacts/<model>
train: $(STAMP)
	$(BIN)/propensity train --model $(or $(MODEL),bank)

## sam-check: cfn-lint, sam validate --lint, sam build, built sizes (own tool venv)
sam-check:
	bash scripts/sam-check.sh

clean:
	rm -rf .aws-sam artifacts .pytest_cache .mypy_cache .ruff_cache
