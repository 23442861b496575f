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
from wsbench.server.process import ServeOptions, start_server

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


def _both_listeners(tmp_path, monkeypatch, options: ServeOptions, **settings) -> dict[str, dict]:
    """The target's figures of one run per listener (the compiled one, then the Python one),
    each against a fresh ``wsbench serve`` (its quirks count sessions from the first)."""
    targets = {}
    for listener in ("fast", "python"):
        monkeypatch.setenv("WSBENCH_PURE_PYTHON", "1" if listener == "python" else "0")
        with start_server(options) as server:
            scenario = parse_scenario({"targets": [f"t={server.url}"], "processes": 1, "ramp": 0,
                                       "mode": "closed", "out": str(tmp_path / listener), **settings})
            result = run_scenario(scenario).result
        assert [w["hot_path"] for w in result["generator"]["workers"]] == [
            "compiled" if listener == "fast" else "python"]
        targets[listener] = result["targets"]["t"]
    return targets


def test_a_missing_echo_takes_the_session_off_the_fast_path_and_back(tmp_path, monkeypatch):
    # every 4th message is not echoed: the worker's reply-timeout check reads the session's
    # state (the listener writes back what it holds) and sends the next message itself; the
    # listener takes the state again at the next matched reply
    targets = _both_listeners(tmp_path, monkeypatch, ServeOptions(drop_every=4), sessions=3,
                              messages=24, reply_timeout=0.1, duration=30)
    for listener, target in targets.items():
        messages = target["messages"]
        assert (messages["sent"], messages["received"], messages["lost"]) == (72, 54, 18), listener
        assert messages["duplicated"] == messages["unmatched"] == 0, listener
        assert target["rtt"]["count"] == 54, listener
        assert target["closes"]["by_side"]["client"] == 3, listener


def test_the_state_survives_a_reconnect(tmp_path, monkeypatch):
    # the server closes the first two sessions after 5 echoes: the listener writes the state
    # back at the disconnect, the session goes on with its budget on a new connection
    options = ServeOptions(close_sessions=2, close_after_messages=5, close_code=1001)
    targets = _both_listeners(tmp_path, monkeypatch, options, sessions=3, messages=20,
                              reconnect=True, reply_timeout=0.5, duration=30)
    for listener, target in targets.items():
        messages = target["messages"]
        assert messages["sent"] == 60, listener  # each session's budget, across its connections
        assert messages["received"] + messages["lost"] == 60, listener
        assert target["rtt"]["count"] == messages["received"], listener
        assert target["sessions"]["reconnected"] == 2, listener
    assert targets["fast"]["messages"] == targets["python"]["messages"]


@pytest.mark.parametrize("size", [32, 300])
def test_a_stop_mid_run_waits_for_the_reply_the_listener_holds(tmp_path, monkeypatch, size):
    # no message budget: the run's end finishes every session while the listener holds its
    # one outstanding message; finish() reads it back and waits for the reply (none lost).
    # 300 bytes: a 16-bit length in the frame header, and padding that picows masks in the
    # listener's buffer (rewritten at each send: the server would close on invalid UTF-8)
    targets = _both_listeners(tmp_path, monkeypatch, ServeOptions(), sessions=3, duration=1.0,
                              reply_timeout=2, message_size=size)
    for listener, target in targets.items():
        messages = target["messages"]
        assert messages["sent"] > 300, listener
        assert messages["lost"] == 0, listener
        assert messages["received"] == messages["sent"] == target["rtt"]["count"], listener
        assert target["closes"]["by_side"]["client"] == 3, listener
