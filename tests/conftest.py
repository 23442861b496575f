"""Shared fixtures."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
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
