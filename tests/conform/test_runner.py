"""The library entry point the lab integration calls once per proxy URL."""

from __future__ import annotations

import socket

import pytest

from wsbench.conform import RunOptions, run_conformance
from wsbench.conform.ingress import IngressOptions
from wsbench.errors import UsageError


def test_unreachable_target_gives_failed_cases_not_an_exception(unit: float) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_conformance(f"ws://127.0.0.1:{port}/", cases=["1.1.1", "2.1"],
                             options=RunOptions(timeout=2 * unit))
    assert result.complete and result.failed == ["1.1.1", "2.1"]
    assert result.cases["2.1"].reason.startswith("upgrade failed: cannot connect")


@pytest.mark.parametrize(
    ("url", "kwargs"),
    [("tcp://x/", {}), ("ws://127.0.0.1:1/", {"cases": ["11.*"]}),
     ("ws://127.0.0.1:1/", {"options": RunOptions(concurrency=0)}),
     ("ws://127.0.0.1:1/", {"deflate_scale": 0}),
     ("ws://127.0.0.1:1/", {"cases": ["ingress.ping-keepalive"]})],
)
def test_bad_input_raises_usage_error(url: str, kwargs: dict) -> None:
    with pytest.raises(UsageError):
        run_conformance(url, **kwargs)


def test_verdicts_by_case(websockets_server: str, unit: float) -> None:
    result = run_conformance(websockets_server, cases=["2.*"], options=RunOptions(timeout=5 * unit))
    assert result.verdicts() == dict.fromkeys(
        ["2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8", "2.9", "2.10", "2.11"], "OK")


def test_ingress_options_are_checked() -> None:
    with pytest.raises(UsageError, match="idle bound"):
        IngressOptions(idle_bound=0)
    with pytest.raises(UsageError, match="wss://"):
        IngressOptions(tls_url="ws://x/")
