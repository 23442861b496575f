# Two set-up-free commands: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test ci-gate bench venv clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

venv: $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'

## demo: install, run the default scenario against an embedded echo server, show the report path
demo: venv
	$(BIN)/wsbench run

## test: install everything the tests need (Python packages; as root also the lab's proxies and chromium), then pytest
## test: the suite on two pytest-xdist workers, one test file per worker at a time
## (--dist loadfile; tests/conftest.py gives each worker its own lab folder);
## PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= 2
test: venv
	./scripts/test-setup
	$(BIN)/ruff check wsbench tests bench scenarios
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile

## ci-gate: the project's own performance gate, live through the lab's nginx, against a
## committed baseline, plus the scenario's absolute thresholds. What .ci/run uses (raw):
## message latency p50 and p99 at most +100 % (2x) against baselines/lab-nginx.json, judged
## RAW: it has passed on every fresh CI machine so far. CI_GATE_MODE=calibrated is issue 16's
## gate, +20 % on p50 and p99, calibrated by the probe through nginx, against
## baselines/lab-nginx-calibrated.json (recorded with that probe): on the development machine
## its p50 check passed 5 of 5 clean runs and failed 5 of 5 runs with the pods slowed by +50 %,
## but its p99 check failed 2 of 5 clean runs (a 10 s p99 on a 2-core machine moves by up to 2x
## with nothing changed; baselines/README.md), so CI does not use it yet.
CI_GATE_MODE ?= raw
CI_GATE_BASELINE_raw := baselines/lab-nginx.json
CI_GATE_BASELINE_calibrated := baselines/lab-nginx-calibrated.json
CI_GATE_LIMITS_raw := --no-calibrate --max-regression rtt.p50=100% --max-regression rtt.p99=100%
CI_GATE_LIMITS_calibrated := --max-regression rtt_service.p50=20% --max-regression rtt_service.p99=20%
CI_GATE_LIMITS := $(CI_GATE_LIMITS_$(CI_GATE_MODE))
ci-gate: venv
	rm -rf reports/ci
	$(BIN)/wsbench run scenarios/ci-gate.yaml --lab nginx --out reports/ci --gate \
	  --baseline $(CI_GATE_BASELINE_$(CI_GATE_MODE)) $(CI_GATE_LIMITS) \
	  --junit reports/ci/gate-junit.xml

bench: venv
	$(BIN)/python bench/bench_engine.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
