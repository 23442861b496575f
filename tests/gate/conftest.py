"""Fixtures for gate tests: the Result generator shared with tests/report."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPORT_TESTS = Path(__file__).resolve().parents[1] / "report"


def _resultgen() -> ModuleType:
    qualified = "wsbench_tests_report_resultgen"
    if qualified not in sys.modules:
        spec = importlib.util.spec_from_file_location(qualified, REPORT_TESTS / "resultgen.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[qualified] = module
        spec.loader.exec_module(module)
    return sys.modules[qualified]


@pytest.fixture(scope="session")
def resultgen() -> ModuleType:
    return _resultgen()


@pytest.fixture(scope="session")
def result(resultgen):
    """nginx (slowest, one disruption), envoy (one disruption), haproxy (no disruption)."""
    return resultgen.make_result()
