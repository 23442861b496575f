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
test: venv
	./scripts/test-setup
	$(BIN)/ruff check wsbench tests bench scenarios
	$(BIN)/pytest -q

## ci-gate: the project's own performance gate, live through the lab's nginx, against the
## committed baseline: message latency at most +20 % on p50 and p99, judged calibrated when the
## run's machine (or its load) differs from the baseline's; upgrades (20 per run: too few for a
## 20 % judgement) keep the scenario's absolute threshold (baselines/README.md).
CI_GATE_LIMITS := --max-regression rtt.p50=20% --max-regression rtt.p99=20%
ci-gate: venv
	rm -rf reports/ci
	$(BIN)/wsbench run scenarios/ci-gate.yaml --lab nginx --out reports/ci --gate \
	  --baseline baselines/lab-nginx.json $(CI_GATE_LIMITS) \
	  --junit reports/ci/gate-junit.xml

bench: venv
	$(BIN)/python bench/bench_engine.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
