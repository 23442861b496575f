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
## committed baseline. CI runs on fresh machines and a baseline compares machines too (first
## CI run: rtt p99 13.0 ms there vs 5.2 ms in the baseline, p50 1.15 vs 0.93 ms): so the
## regression checks are on medians with room for another machine; tails have thresholds.
ci-gate: venv
	rm -rf reports/ci
	$(BIN)/wsbench run scenarios/ci-gate.yaml --lab nginx --out reports/ci --gate \
	  --baseline baselines/lab-nginx.json \
	  --max-regression rtt.p50=200% --max-regression upgrade.total.p50=200% \
	  --junit reports/ci/gate-junit.xml

bench: venv
	$(BIN)/python bench/bench_engine.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
