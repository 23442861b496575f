"""The compiled picows listener (wsbench/engine/_fastpath.pyx) against the Python one.

The fast path re-implements ``Session.on_message`` + ``send_next`` for a matched
closed-loop reply; these tests hold it to the same bytes and the same figures.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from tests.conform.conftest import serving
from wsbench.engine import _fastpath, transports  # `make test` builds it: fail, not skip, without
from wsbench.engine.runner import run_scenario
from wsbench.protocol.stamp import read_seq, stamp_factory
from wsbench.scenario import parse_scenario

QUIRKY = Path(__file__).resolve().parents[1] / "servers" / "quirky_echo.py"


def test_the_extension_is_built_and_used():
    # `make test` installs with `pip install -e .`, which builds it: CI measures the fast path
    assert transports.FastListener is _fastpath.FastListener


def test_stamps_and_seqs_are_the_python_ones():
    rng = random.Random(6455)
    for size in (32, 33, 100):
        make = stamp_factory(size)
        for _ in range(5000):
            seq, send_ns = rng.getrandbits(63), rng.getrandbits(64)
            message = make(seq, send_ns)
            assert _fastpath.stamp(seq, send_ns, size) == message
            assert _fastpath.parse_seq(message) == read_seq(message) == seq
    for not_a_stamp in (b"hello", b"g" * 32, b"0000000000000ABC" + b"0" * 16, b"8" + b"f" * 31):
        assert _fastpath.parse_seq(not_a_stamp) == -1  # the fast path then hands over to Python
    with pytest.raises(ValueError):
        _fastpath.stamp(1, 2, 31)


@pytest.mark.parametrize("message_type", ["text", "binary"])
def test_both_listeners_count_the_quirky_servers_truth(tmp_path, monkeypatch, message_type):
    sessions, messages = 3, 60
    per_session = {"sent": 60, "received": 60, "lost": 0, "duplicated": 60 // 5,
                   "unmatched": 60 // 7, "reordered": 60 // 17}
    figures = {}
    with serving([sys.executable, str(QUIRKY)], tmp_path / "quirky.log") as url:
        for listener in ("fast", "python"):
            monkeypatch.setenv("WSBENCH_PURE_PYTHON", "1" if listener == "python" else "0")
            scenario = parse_scenario({
                "targets": [f"q={url}"], "processes": 1, "out": str(tmp_path / listener),
                "sessions": sessions, "ramp": 0, "mode": "closed", "messages": messages,
                "message_type": message_type, "reply_timeout": 0.3, "duration": 30,
            })
            result = run_scenario(scenario).result
            expected = "python" if listener == "python" else "compiled"
            assert [w["hot_path"] for w in result["generator"]["workers"]] == [expected]
            target = result["targets"]["q"]
            got = {key: target["messages"][key] for key in per_session}
            assert got == {key: value * sessions for key, value in per_session.items()}, listener
            assert target["rtt"]["count"] == sessions * messages
            assert target["closes"]["by_side"]["client"] == sessions
            figures[listener] = got
    assert figures["fast"] == figures["python"]
