"""The verdict rules, table-driven (no sockets)."""

from __future__ import annotations

import pytest

from wsbench.conform.cases import catalogue
from wsbench.conform.judge import Observation, judge
from wsbench.conform.model import Blob, Case, Event, alive, message, pong

CASES = {c.id: c for c in catalogue(deflate_scale=0.01) if isinstance(c, Case)}
ECHOES_10 = (Event("echoes", Blob.of(b"10")),)
CLEAN_BY_US = dict(closed_by_client=True, server_sent_close=True, server_close_code=1000, clean=True)
FAILED_BY_SERVER = dict(closed_by_client=False, server_sent_close=True, server_close_code=1002)


@pytest.mark.parametrize(
    ("case_id", "observation", "verdict", "close"),
    [
        # echo cases
        ("1.1.2", Observation(events=(message(b"*" * 125),), **CLEAN_BY_US), "OK", "OK"),
        ("1.1.2", Observation(events=(message(b"*" * 124),), **CLEAN_BY_US), "FAILED", "OK"),
        ("1.1.2", Observation(events=(message(b"*" * 125, is_binary=True),), **CLEAN_BY_US),
         "FAILED", "OK"),
        ("1.1.2", Observation(events=(message(b"*" * 125),), closed_by_client=True,
                              server_sent_close=True, server_close_code=1000, clean=False),
         "OK", "UNCLEAN"),
        ("2.2", Observation(events=(pong(b"Hello, world!"),), **CLEAN_BY_US), "OK", "OK"),
        # the server failed a valid connection: wrong endpoint -> FAILED
        ("2.7", Observation(**FAILED_BY_SERVER), "FAILED", "FAILED"),
        # protocol violations must be failed by the server
        ("3.1", Observation(**FAILED_BY_SERVER), "OK", "OK"),
        # the server dropped TCP without a close frame: fine (requireClean False)
        ("3.1", Observation(), "OK", "OK"),
        ("3.1", Observation(events=(message(b"Hello, world!"),), **FAILED_BY_SERVER), "FAILED", "OK"),
        ("3.1", Observation(dropped_by_client=True), "FAILED", "FAILED"),
        ("3.2", Observation(**FAILED_BY_SERVER), "NON-STRICT", "OK"),
        ("3.2", Observation(events=(message(b"Hello, world!"),), **FAILED_BY_SERVER), "OK", "OK"),
        ("3.1", Observation(closed_by_client=False, server_sent_close=True, server_close_code=1000),
         "OK", "WRONG CODE"),
        ("3.7", Observation(closed_by_client=False, server_sent_close=True, server_close_code=1000),
         "FAILED", "WRONG CODE"),
        # fail-fast
        ("6.4.1", Observation(events=(alive("A"),), closed_by_client=False, server_close_code=1007,
                              server_sent_close=True), "OK", "OK"),
        ("6.4.1", Observation(events=(alive("A"), alive("B")), closed_by_client=False,
                              server_close_code=1007, server_sent_close=True), "NON-STRICT", "OK"),
        # close codes: WRONG CODE is fatal in 7.x
        ("7.9.1", Observation(closed_by_client=True, server_sent_close=True, server_close_code=1002),
         "OK", "OK"),
        ("7.9.1", Observation(closed_by_client=True, server_sent_close=True, server_close_code=1000),
         "FAILED", "WRONG CODE"),
        ("7.7.4", Observation(closed_by_client=True, server_sent_close=True, server_close_code=1003,
                              clean=True), "OK", "OK"),
        ("7.9.1", Observation(closed_by_client=True, dropped_by_client=True), "FAILED", "FAILED"),
        # informational stays informational, even with a violation
        ("7.13.1", Observation(closed_by_client=True, violation="close frame with invalid code 5000"),
         "INFORMATIONAL", "OK"),
        # server protocol violations and broken upgrades
        ("1.1.1", Observation(events=(message(b""),), violation="server frame is masked",
                              **CLEAN_BY_US), "FAILED", "OK"),
        ("1.1.1", Observation(handshake_error="HTTP 404 Not Found"), "FAILED", "FAILED"),
        # permessage-deflate: declined, accepted, accepted while ignoring a request
        ("12.1.1", Observation(declined="no offer accepted", **CLEAN_BY_US), "UNIMPLEMENTED", "OK"),
        ("12.1.1", Observation(declined="no offer accepted", closed_by_client=True),
         "UNIMPLEMENTED", "UNCLEAN"),
        ("12.1.1", Observation(events=ECHOES_10, **CLEAN_BY_US), "OK", "OK"),
        ("12.1.1", Observation(events=(Event("echoes", Blob.of(b"3")),), **CLEAN_BY_US),
         "FAILED", "OK"),
        ("13.2.1", Observation(events=ECHOES_10, ignored=("server_no_context_takeover",),
                               **CLEAN_BY_US), "NON-STRICT", "OK"),
        ("13.2.1", Observation(events=ECHOES_10, violation="compressed message does not inflate",
                               **CLEAN_BY_US), "FAILED", "OK"),
    ],
)
def test_rules(case_id: str, observation: Observation, verdict: str, close: str) -> None:
    judgement = judge(CASES[case_id], observation)
    assert (judgement.verdict, judgement.close) == (verdict, close), judgement.reason
    assert judgement.reason and "\n" not in judgement.reason


def test_reasons_say_what_differed() -> None:
    obs = Observation(events=(message(b"x"),), **CLEAN_BY_US)
    assert "observed [message(x)], expected [message(" in judge(CASES["1.1.2"], obs).reason
    assert "RFC 6455: server frame is masked" in judge(
        CASES["1.1.1"], Observation(violation="server frame is masked")).reason


def test_ignored_deflate_request_is_named() -> None:
    obs = Observation(events=ECHOES_10, ignored=("server_no_context_takeover",), **CLEAN_BY_US)
    assert "without the requested server_no_context_takeover" in judge(CASES["13.2.1"], obs).reason
