"""The suite against real, independent servers over real sockets on 127.0.0.1.

Groups 1-7, 9 (scaled to 1/16) and 10 must give exactly the verdicts Autobahn's case
code gives for what each library does (tests/conform/expected.py, with the library's
own word for every verdict that is not OK); groups 12-13 are UNIMPLEMENTED while a
server has permessage-deflate off and OK with it on. A server slow to answer pings and
one that never answers them get Autobahn's verdicts in groups 5 and 6 (no sync pings).
Against the deliberately non-conforming server, exactly the cases it violates FAIL.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conform.conftest import SERVERS, serving
from tests.conform.expected import AUTOBAHN_VERDICTS, DEFLATE_CHECKS, check_deflate, check_verdicts
from wsbench.conform.cases import catalogue
from wsbench.conform.model import Case, Verdict
from wsbench.conform.result import ConformResult
from wsbench.conform.runner import RunOptions, run_conformance

SCALE = 1 / 16
#: 3 messages per 12.x / 13.x case instead of Autobahn's 1000
DEFLATE_SCALE = 0.003
PASSING = {Verdict.OK, Verdict.NON_STRICT, Verdict.INFORMATIONAL}
NOT_RFC6455 = ["ingress.*"]

def run(url: str, unit: float, *, timeout: float = 5.0, cases: tuple[str, ...] = (),
        exclude: tuple[str, ...] = ("12.*", "13.*", *NOT_RFC6455)) -> ConformResult:
    return run_conformance(url, scale=SCALE, deflate_scale=DEFLATE_SCALE, cases=cases,
                           exclude=exclude, options=RunOptions(timeout=timeout * unit))


@pytest.mark.parametrize("echo_server", list(AUTOBAHN_VERDICTS), indirect=True)
def test_conforming_server(echo_server: str, unit: float,
                           request: pytest.FixtureRequest) -> None:
    name = request.node.callspec.params["echo_server"]
    result = run(echo_server, unit, exclude=tuple(NOT_RFC6455))
    assert result.complete and len(result.cases) == 517
    check_verdicts(result, name)
    # NON-STRICT only where Autobahn allows it (the case has such an outcome)
    cases = {c.id: c for c in catalogue(scale=SCALE) if isinstance(c, Case)}
    for cid, r in result.cases.items():
        if r.verdict == Verdict.NON_STRICT:
            assert any(o.verdict == Verdict.NON_STRICT for o in cases[cid].outcomes), cid
        if r.verdict == Verdict.INFORMATIONAL:
            assert cases[cid].informational, cid
    # permessage-deflate is off in these servers: every 12.x / 13.x case is UNIMPLEMENTED
    deflate = [r for cid, r in result.cases.items() if cid.split(".")[0] in ("12", "13")]
    assert len(deflate) == 216
    assert {(r.verdict, r.close) for r in deflate} == {(Verdict.UNIMPLEMENTED, "OK")}


@pytest.mark.parametrize(("flag", "failed"), [
    (("--pong-delay", "0.3"), set()),
    # Autobahn expects the pongs themselves in these (case5_6.py ... case5_20.py)
    (("--no-pong",), {"5.6", "5.7", "5.8", "5.19", "5.20"}),
])
def test_groups_5_and_6_need_no_pong(flag: tuple[str, ...], failed: set[str], unit: float,
                                     tmp_path: Path) -> None:
    """As Autobahn: no case in groups 5-6 uses a ping as a barrier, so a server that is slow
    to answer pings (or never does) fails only the cases that expect the pong."""
    command = [sys.executable, str(SERVERS / "pong_echo.py"), *flag]
    with serving(command, tmp_path / "server.log") as url:
        result = run(url, unit, cases=("5.*", "6.*"), exclude=())
    assert len(result.cases) == 20 + 145
    assert set(result.failed) == failed, {c: result.cases[c].reason for c in result.failed}
    for cid in failed:
        assert "expected [pong(" in result.cases[cid].reason
    # frame by frame: fail-fast on frames (6.4.1/6.4.2), not within one frame (6.4.3/6.4.4)
    assert {c: r.verdict for c, r in result.cases.items() if r.verdict == Verdict.NON_STRICT} == {
        "5.15": "NON-STRICT", "6.4.3": "NON-STRICT", "6.4.4": "NON-STRICT"}


@pytest.mark.parametrize("deflate_server", list(DEFLATE_CHECKS), indirect=True)
def test_deflate(deflate_server: str, unit: float, request: pytest.FixtureRequest) -> None:
    name = request.node.callspec.params["deflate_server"]
    result = run(deflate_server, unit, cases=("12.*", "13.*"), exclude=())
    assert result.complete
    check_deflate(result, name)
    ratio = result.cases["12.1.10"].observed["deflate"]["sent_ratio"]
    assert ratio is not None and ratio < 0.5  # JSON compresses: the frames really are deflated


@pytest.mark.parametrize("echo_server", ["bad"], indirect=True)
def test_non_conforming_server_fails_exactly_what_it_breaks(echo_server: str,
                                                             unit: float) -> None:
    result = run(echo_server, unit, timeout=1.5)
    cases = [c for c in catalogue(scale=SCALE) if isinstance(c, Case)]
    # 3.7 is an empty close frame with RSV 7: a server that ignores RSV answers it with an
    # empty close, which Autobahn's case3_7.py cannot tell from failing the connection
    ignores_rsv = {c.id for c in cases if c.group_number == "3"} - {"3.7"}
    skips_utf8 = {c.id for c in cases if c.group_number == "6" and not c.close.by_client}
    inherited = {"7.1.5"}  # from the websockets Sans-I/O core it is built on (see above)
    failed = set(result.failed)
    assert failed == ignores_rsv | skips_utf8 | inherited, sorted(
        failed ^ (ignores_rsv | skips_utf8 | inherited))
    assert len(skips_utf8) == 75  # 6.3.x, 6.4.x and every invalid Markus Kuhn sequence
    assert "not valid UTF-8" in result.cases["6.3.1"].reason
    assert "observed [message(Hello, world!)], expected []" in result.cases["3.1"].reason
