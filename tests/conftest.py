"""Shared fixtures."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from wsbench.server.process import ServeOptions, ServerProcess, start_server


@pytest.fixture
def echo_server() -> Iterator[Callable[..., ServerProcess]]:
    """Factory: ``echo_server(delay_ms=20, ...)`` starts a real ``wsbench serve`` subprocess
    (keywords are ServeOptions fields) and returns its ServerProcess once it is ready.
    Every server it started is stopped at teardown, also when the test failed."""
    with contextlib.ExitStack() as stack:

        def start(**options: Any) -> ServerProcess:
            return stack.enter_context(start_server(ServeOptions(**options)))

        yield start


_WORKER_ROOT = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist each worker gets its own default lab folder (``lab up`` without
    ``WSBENCH_LAB_DIR`` in one worker never meets the other worker's labs)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker and not os.environ.get("WSBENCH_LAB_DIR"):
        root = Path(tempfile.mkdtemp(prefix=f"wsbench-tests-{worker}-"))
        os.environ["WSBENCH_LAB_DIR"] = str(root / "lab")
        os.environ["XDG_STATE_HOME"] = str(root / "state")
        config.stash[_WORKER_ROOT] = root


def pytest_unconfigure(config: pytest.Config) -> None:
    root = config.stash.get(_WORKER_ROOT, None)
    if root is not None:
        shutil.rmtree(root, ignore_errors=True)

