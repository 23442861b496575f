"""Fixtures for report tests: simulated Results, files on disk, one headless Chromium."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE.parents[1] / "test-artifacts"


def _load(name: str) -> ModuleType:
    """Import a helper next to this file under a unique name (works in any import mode)."""
    qualified = f"wsbench_tests_report_{name}"
    if qualified not in sys.modules:
        spec = importlib.util.spec_from_file_location(qualified, HERE / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[qualified] = module
        spec.loader.exec_module(module)
    return sys.modules[qualified]


@pytest.fixture(scope="session")
def resultgen() -> ModuleType:
    return _load("resultgen")


@pytest.fixture(scope="session")
def full_result(resultgen):
    return resultgen.make_result(thresholds=["rtt.p99 < 4ms", "sessions.dropped < 50"])


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser():
    helper = _load("browser")
    binary = helper.chromium_path()
    if binary is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium); CI installs it")
    with helper.Browser(binary) as opened:
        yield opened
