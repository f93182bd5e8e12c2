# Two commands: `make run` (the whole system locally) and `make test` (every suite).
# Each needs only Python 3.11+, Node 20+ and make; the venv is created and filled on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CONSOLE_STAMP := console/node_modules/.installed
export PYTHONPATH := $(CURDIR):$(CURDIR)/layers/loyalty/python
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
CDK := npx --yes aws-cdk@2.1148.1
ENV ?= dev
LAMBDA_PYTHON = $(shell $(PY) -c "from infra.topology import LAMBDA_PYTHON_VERSION as v; print(v)" 2>/dev/null)

.PHONY: run test unit integration infra contract fuzz e2e browser console chromium lint bench chaos token fire deploy synth redrive openapi clean

$(STAMP): requirements-dev.txt layers/dependencies/requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# The console's packages (the typed API client now; the operator console on it), from its lock file.
$(CONSOLE_STAMP): console/package.json console/package-lock.json
	npm ci --prefix console --no-audit --no-fund
	touch $(CONSOLE_STAMP)

DEMO ?= seed
run: $(STAMP) $(CONSOLE_STAMP)  ## the whole system on 127.0.0.1:3000 (API, console at /console/) and :4566 (AWS emulator); DEMO=seed|live|off (the demo bank)
	$(PY) -m infra.local.console_build
	$(PY) -m infra.local run --demo $(DEMO)

test: lint unit integration infra contract e2e console browser  ## every suite, as CI runs it

# Style, types, and the capability boundaries (import-linter's contracts in pyproject.toml).
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy layers/loyalty/python/loyalty functions infra bench tests
	$(VENV)/bin/lint-imports --no-cache

unit: $(STAMP)
	$(PY) -m pytest tests/unit -q

# Two workers, one local cloud each: a local cloud is one Python process (the GIL), so a second
# one uses the second core. Whole files per worker keep a module's fixtures together.
integration: $(STAMP)
	$(PY) -m pytest tests/integration -q -n 2 --dist loadfile

infra: $(STAMP)  ## CDK assertions, cdk-nag and cfn-lint on the synthesized templates
	$(PY) -m pytest tests/infra -q

e2e: $(STAMP)
	$(PY) -m pytest tests/e2e -q

# The API contract: the generated document, schemathesis against `make run`, the TypeScript client.
contract: $(STAMP) $(CONSOLE_STAMP)
	$(PY) -m pytest tests/contract -q

# The console's own checks: its types (the generated client's included) and Vitest (forms, reports).
console: $(CONSOLE_STAMP)
	npm --prefix console run --silent typecheck
	npm --prefix console test --silent

# The console in headless Chromium against the whole local system, with an axe check on every screen;
# a screenshot of each screen lands in tests/browser/screenshots (CI keeps the folder).
browser: $(STAMP) $(CONSOLE_STAMP) chromium
	$(PY) -m pytest tests/browser -q

# Debian's Chromium: one on PATH (or CHROMIUM=/path), else apt where we are root, else a clear failure.
chromium:
	@if [ -n "$$CHROMIUM" ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium && exit 0; fi; \
	echo "make: no Chromium for the browser tests: install Debian's package (apt-get install -y chromium as root)," \
	  "put one on PATH, or set CHROMIUM=/path/to/chromium" >&2; exit 1

fuzz: $(STAMP)  ## the contract run with schemathesis' coverage phase too (about 10,000 cases a caller)
	CONTRACT_FUZZ_PHASES=examples,coverage,fuzzing,stateful $(PY) -m pytest tests/contract/test_fuzz.py -q

openapi: $(STAMP) $(CONSOLE_STAMP)  ## writes docs/openapi.json from the routes, and the console's typed client from it
	$(PY) -m infra.openapi
	npm --prefix console run --silent generate

bench: $(STAMP)  ## prints the benchmark table; not a test
	$(PY) -m bench

# A whole local cloud in this process under seeded faults while a mixed workload runs; then the day's
# reconciliation and the DLQs are checked (docs/chaos.md). Exits 1 when anything is wrong.
chaos: $(STAMP)  ## make chaos [SIZE=n] [SEED=n] [INTENSITY=x]: throttling, timeouts, kills and partial PutEvents failures under a workload
	$(PY) -m infra.local chaos $(if $(SIZE),--size $(SIZE)) $(if $(SEED),--seed $(SEED)) $(if $(INTENSITY),--intensity $(INTENSITY))

token: $(STAMP)  ## make token SUB=c-001 [GROUPS=operators] [ORG=<org unit>]; the token is the last line
	@$(PY) -m infra.local token "$(SUB)" "$(GROUPS)" "$(ORG)"

fire: $(STAMP)  ## make fire SCHEDULE=<name>: fire a schedule now on a running `make run`
	@$(PY) -m infra.local fire "$(SCHEDULE)"

synth: $(STAMP)  ## make synth ENV=prod [CONTEXT="-c alarmEmail=ops@bank.example"]
	$(CDK) synth --no-notices -c env=$(ENV) $(CONTEXT) --quiet

deploy: $(STAMP)  ## make deploy ENV=dev|staging|prod [CONTEXT="-c alarmEmail=..."] (AWS credentials; docs/operations.md)
	rm -rf build/dependency-layer && $(PY) -m pip install --quiet --platform manylinux2014_aarch64 \
	  --only-binary=:all: --python-version $(LAMBDA_PYTHON) --implementation cp \
	  -t build/dependency-layer/python -r layers/dependencies/requirements.txt
	$(PY) -m infra.local.console_build
	$(CDK) deploy --no-notices -c env=$(ENV) $(CONTEXT) --all --require-approval broadening

# Locally (a running `make run`) unless ENV is given on the command line: the default ENV=dev must
# not send a redrive meant for the local cloud to an AWS account. See docs/operations.md.
redrive: $(STAMP)  ## make redrive QUEUE=<name> [MAX=n] [ENV=dev|staging|prod]: move <name>-dlq back onto <name>
	@$(PY) -m infra.ops.redrive "$(QUEUE)" $(if $(MAX),--max $(MAX)) $(if $(filter command line,$(origin ENV)),--env $(ENV))

clean:
	rm -rf $(VENV) cdk.out build .pytest_cache .mypy_cache .ruff_cache console/node_modules console/build
