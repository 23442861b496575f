"""Lab fixtures: one lab with every installed must-work proxy, shared by a test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from wsbench.lab import MUST_WORK, Lab, LabOptions, get_spec, missing_proxies

#: short idle timeout so the idle tests take seconds (the shipped values are checked in the configs)
IDLE_S = 2.0


def proxy_params() -> list[object]:
    """Every must-work proxy; a missing binary is a skip with the reason."""
    missing = missing_proxies(MUST_WORK)
    return [
        pytest.param(name, marks=pytest.mark.skipif(name in missing, reason=missing.get(name, "")))
        for name in MUST_WORK
    ]


def installed() -> tuple[str, ...]:
    return tuple(name for name in MUST_WORK if get_spec(name).locate() is not None)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """All installed must-work proxies, 3 pods + 1 alt pod, shipped profile, wss, idle 2 s."""
    names = installed()
    if not names:
        pytest.skip("no must-work proxy is installed (wsbench lab install)")
    state_dir = tmp_path_factory.mktemp("lab")
    running = Lab.up(LabOptions(proxies=names, idle_timeout_s=IDLE_S, state_dir=str(state_dir), name="tests"))
    try:
        yield running
    finally:
        running.down()
