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

## ci-gate: the project's own performance gate: a short run through the lab's nginx vs. a committed baseline
ci-gate: venv
	$(BIN)/wsbench run scenarios/ci-gate.yaml --lab nginx --out reports/ci --gate \
	  --baseline baselines/lab-nginx.json --max-regression rtt.p99=100% \
	  --max-regression upgrade.total.p99=200% --junit reports/ci/gate-junit.xml

bench: venv
	$(BIN)/python bench/bench_engine.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
