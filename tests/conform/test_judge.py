"""The verdict rules, table-driven (no sockets): Autobahn's ``Case.onConnectionLost`` and
the cases' overrides, and wsbench's own checks apart from them."""

from __future__ import annotations

import pytest

from wsbench.conform.cases import catalogue
from wsbench.conform.checks import case_checks
from wsbench.conform.judge import Observation, judge
from wsbench.conform.model import Blob, Case, Event, alive, message, pong

CASES = {c.id: c for c in catalogue(deflate_scale=0.01) if isinstance(c, Case)}
ECHOES_10 = (Event("echoes", Blob.of(b"10")),)
CLEAN_BY_US = dict(closed_by_client=True, server_sent_close=True, server_close_code=1000, clean=True)
FAILED_BY_SERVER = dict(closed_by_client=False, server_sent_close=True, server_close_code=1002)
#: nobody failed the connection in time: wsbench's killAfter sent close 1001, then dropped
KILLED = dict(closed_by_client=True, dropped_by_client=True)


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
        # the server started the close of a valid connection: the wrong endpoint marks
        # only the close (Autobahn keeps the events' verdict)
        ("2.7", Observation(**FAILED_BY_SERVER), "OK", "FAILED"),
        ("1.1.1", Observation(**FAILED_BY_SERVER), "FAILED", "FAILED"),
        # protocol violations must be failed by the server
        ("3.1", Observation(**FAILED_BY_SERVER), "OK", "OK"),
        ("3.1", Observation(), "OK", "OK"),  # TCP dropped without a close frame: fine
        ("3.1", Observation(events=(message(b"Hello, world!"),), **FAILED_BY_SERVER), "FAILED", "OK"),
        # the server never failed it: the wrong endpoint closed, the verdict stays
        ("3.1", Observation(**KILLED), "OK", "FAILED"),
        ("3.2", Observation(**FAILED_BY_SERVER), "NON-STRICT", "OK"),
        ("3.2", Observation(events=(message(b"Hello, world!"),), **FAILED_BY_SERVER), "OK", "OK"),
        ("3.1", Observation(closed_by_client=False, server_sent_close=True, server_close_code=1000),
         "OK", "WRONG CODE"),
        ("3.7", Observation(closed_by_client=False, server_sent_close=True, server_close_code=1000),
         "OK", "WRONG CODE"),
        # wsbench had to drop a connection the server should have closed
        ("3.1", Observation(dropped_by_client=True), "OK", "FAILED BY CLIENT"),
        # fail-fast, and closedByWrongEndpointIsFatal
        ("6.4.1", Observation(events=(alive("A"),), closed_by_client=False, server_close_code=1007,
                              server_sent_close=True), "OK", "OK"),
        ("6.4.1", Observation(events=(alive("A"), alive("B")), closed_by_client=False,
                              server_close_code=1007, server_sent_close=True), "NON-STRICT", "OK"),
        ("6.4.1", Observation(events=(alive("A"), alive("B")), **KILLED), "FAILED", "FAILED"),
        ("6.3.1", Observation(**KILLED), "FAILED", "FAILED"),
        # close codes: WRONG CODE is fatal in 7.x
        ("7.9.1", Observation(closed_by_client=True, server_sent_close=True, server_close_code=1002),
         "OK", "OK"),
        ("7.9.1", Observation(closed_by_client=True, server_sent_close=True, server_close_code=1000),
         "FAILED", "WRONG CODE"),
        ("7.7.4", Observation(closed_by_client=True, server_sent_close=True, server_close_code=1003,
                              clean=True), "OK", "OK"),
        ("7.9.1", Observation(closed_by_client=True, dropped_by_client=True), "OK", "FAILED BY CLIENT"),
        # informational stays informational, the close behaviour too
        ("7.13.1", Observation(closed_by_client=True, violation="close frame with invalid code 5000"),
         "INFORMATIONAL", "INFORMATIONAL"),
        ("7.1.6", Observation(**FAILED_BY_SERVER), "INFORMATIONAL", "INFORMATIONAL"),
        # group 9: type and length, not content
        ("9.1.1", Observation(events=(message(Blob(b"x", 65536)),), **CLEAN_BY_US), "OK", "OK"),
        ("9.1.1", Observation(events=(message(Blob(b"x", 65535)),), **CLEAN_BY_US), "FAILED", "OK"),
        ("9.2.1", Observation(events=(message(Blob(b"x", 65536)),), **CLEAN_BY_US), "FAILED", "OK"),
        # broken upgrades
        ("1.1.1", Observation(handshake_error="HTTP 404 Not Found"), "FAILED", "FAILED"),
        # permessage-deflate: declined, accepted
        ("12.1.1", Observation(declined="no offer accepted", **CLEAN_BY_US), "UNIMPLEMENTED", "OK"),
        ("12.1.1", Observation(declined="no offer accepted", closed_by_client=True),
         "UNIMPLEMENTED", "UNCLEAN"),
        ("12.1.1", Observation(events=ECHOES_10, **CLEAN_BY_US), "OK", "OK"),
        ("12.1.1", Observation(events=(Event("echoes", Blob.of(b"3")),), **CLEAN_BY_US),
         "FAILED", "OK"),
    ],
)
def test_rules(case_id: str, observation: Observation, verdict: str, close: str) -> None:
    judgement = judge(CASES[case_id], observation)
    assert (judgement.verdict, judgement.close) == (verdict, close), judgement.reason
    assert judgement.reason and "\n" not in judgement.reason


def test_reasons_say_what_differed() -> None:
    obs = Observation(events=(message(b"x"),), **CLEAN_BY_US)
    assert "observed [message(x)], expected [message(" in judge(CASES["1.1.2"], obs).reason
    assert "RFC 6455 (server frame is masked)" in judge(
        CASES["1.1.1"], Observation(violation="server frame is masked", **CLEAN_BY_US)).reason


def test_wsbench_checks_never_change_the_verdict() -> None:
    obs = Observation(events=ECHOES_10, **CLEAN_BY_US)
    assert judge(CASES["13.2.1"], obs).verdict == "OK"
    checks = case_checks(CASES["13.2.1"], problems=(), ignored=("server_no_context_takeover",),
                         agreed=True)
    assert checks["deflate-offer"].verdict == "NON-STRICT"
    assert "without the requested server_no_context_takeover" in checks["deflate-offer"].reason
    assert checks["server-frames"].verdict == "OK"
    frames = case_checks(CASES["7.9.1"], problems=["close frame with invalid code 1004"])
    assert frames["server-frames"].verdict == "FAILED" and "1004" in frames["server-frames"].reason
    assert "deflate-offer" not in frames and "echo-content" not in frames
    content = case_checks(CASES["9.1.1"], problems=(), content_ok=False)
    assert content["echo-content"].verdict == "FAILED"


def test_every_autobahn_case_cites_its_file() -> None:
    for case in CASES.values():
        assert case.source.startswith("crossbario/autobahn-testsuite autobahntestsuite/"), case.id
        assert case.source.endswith(".py"), case.id
    assert CASES["3.6"].source.endswith("case3_6.py")
    assert CASES["6.17.3"].source.endswith("case6_x_x.py")
