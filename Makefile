# Two set-up-free commands: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint bench venv clean

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
	$(BIN)/ruff check wsbench tests bench
	$(BIN)/pytest -q

bench: venv
	$(BIN)/python bench/bench_engine.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
