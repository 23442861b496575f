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
## committed baseline, plus the scenario's absolute thresholds. What .ci/run uses
## (CI_GATE_MODE=calibrated, issue 16): 30 s of the scenario's load taking turns in 2 s windows
## with the same load to the lab's reference echo behind the same nginx (--reference-interleave),
## rtt_service (each reply's time from the actual send) p50 and p99 at most +20 % against
## baselines/lab-nginx-calibrated.json, scaled by how much slower that reference ran than in the
## baseline. Unpinned (--no-pin): pinned, nginx, 4 pods and the reference echo share one core and
## the pods slowed x2.0 where the reference slowed x1.5 (measured; baselines/README.md).
## CI_GATE_MODE=raw: rtt p50 and p99 at most +100 % against baselines/lab-nginx.json, judged raw.
CI_GATE_MODE ?= calibrated
CI_GATE_BASELINE_raw := baselines/lab-nginx.json
CI_GATE_BASELINE_calibrated := baselines/lab-nginx-calibrated.json
CI_GATE_LIMITS_raw := --no-calibrate --max-regression rtt.p50=100% --max-regression rtt.p99=100%
CI_GATE_LIMITS_calibrated := --no-pin --reference-interleave 2 --duration 30 \
	  --max-regression rtt.p50=20% --max-regression rtt.p99=20%
CI_GATE_LIMITS := $(CI_GATE_LIMITS_$(CI_GATE_MODE))
CI_GATE_RUN = $(BIN)/wsbench run scenarios/ci-gate.yaml --lab nginx --gate \
	  --baseline $(CI_GATE_BASELINE_$(CI_GATE_MODE)) $(CI_GATE_LIMITS)
## A failed gate is confirmed by a second, independent run before it fails CI: a real
## regression fails both (the +50 % slowdowns failed by +37 ... +69 %, each significant), a
## noisy minute of a shared host (1 clean run in 56 failed its p99 check, measured) rarely twice.
ci-gate: venv
	rm -rf reports/ci reports/ci-confirm
	$(CI_GATE_RUN) --out reports/ci --junit reports/ci/gate-junit.xml || { \
	  echo "ci-gate: the gate failed; confirming with a second run (reports/ci-confirm)"; \
	  $(CI_GATE_RUN) --out reports/ci-confirm --junit reports/ci-confirm/gate-junit.xml; }

bench: venv
	$(BIN)/python bench/bench_engine.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
