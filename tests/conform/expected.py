"""The verdicts Autobahn|Testsuite's case code gives for what each independent server does,
case by case (shared by the server tests and the full-suite test), with the source of
every verdict that is not OK.

Sources (the libraries' own words or code, versions as installed by scripts/test-setup):

* websockets (17.x), ``compliance/README.rst``, "Conformance notes": NON-STRICT in 3.2,
  3.3, 4.1.3, 4.1.4, 4.2.3, 4.2.4 and 5.15 ("notices the protocol error and closes the
  connection at the library level before the application gets a chance to echo"), in
  6.4.1-6.4.4 ("doesn't notice the invalid utf-8 fast enough"); 7.1.5 fails ("treats
  closing the connection in the middle of a fragmented message as a protocol error ...
  sends a close frame with code 1002").
* aiohttp (3.14), ``aiohttp/_websocket/reader_py.py``: ``ALLOWED_CLOSE_CODES = {int(i) for
  i in WSCloseCode}``, and ``aiohttp/_websocket/models.py`` lists ``ABNORMAL_CLOSURE =
  1006``: a close with 1006 is accepted and answered with 1000 -> 7.9.5 WRONG CODE, FAILED.
* tornado (6.x), ``tornado/websocket.py`` ``_handle_message``: "# Echo the received close
  code, if any (RFC 6455 section 5.5.1). self.close(self.close_code)": invalid codes are
  sent back -> 7.9.1-7.9.9 FAILED (Autobahn takes the invalid code as 1000: WRONG CODE).
* aiohttp, tornado and node ``ws`` check UTF-8 once a message is complete (not per frame),
  so 6.4.1-6.4.4 are NON-STRICT for them as for websockets.
"""

from __future__ import annotations

from wsbench.conform.result import ConformResult

__all__ = ["AUTOBAHN_VERDICTS", "TIMING_DEPENDENT", "DEFLATE_CHECKS", "FRAME_CHECKS",
           "check_verdicts", "check_deflate"]

_FAIL_FAST = {f"6.4.{i}": "NON-STRICT" for i in range(1, 5)}
_INFORMATIONAL = {"7.1.6": "INFORMATIONAL", "7.13.1": "INFORMATIONAL", "7.13.2": "INFORMATIONAL"}

#: groups 1-7, 9 (at 1/16), 10, with permessage-deflate off: the verdicts that are not OK
AUTOBAHN_VERDICTS: dict[str, dict[str, str]] = {
    "websockets": {**{c: "NON-STRICT" for c in ("3.2", "4.1.3", "4.1.4", "4.2.3", "4.2.4", "5.15")},
                   **_FAIL_FAST, **_INFORMATIONAL, "7.1.5": "FAILED"},
    "aiohttp": {**_FAIL_FAST, **_INFORMATIONAL, "7.9.5": "FAILED"},
    "tornado": {**_FAIL_FAST, **_INFORMATIONAL, **{f"7.9.{i}": "FAILED" for i in range(1, 10)}},
    "node-ws": {**_FAIL_FAST, **_INFORMATIONAL},
}

#: OK or NON-STRICT from run to run, in Autobahn as here: the first message's echo races the
#: invalid frame that follows it in a separate write (see the README)
TIMING_DEPENDENT = {"3.3", "3.4", "4.1.5", "4.2.5"}

#: wsbench checks that are not OK, with permessage-deflate on: tornado accepts
#: server_no_context_takeover without echoing it (13.2, 13.5, 13.6 ask for it)
DEFLATE_CHECKS: dict[str, set[str]] = {
    "websockets": set(), "aiohttp": set(), "node-ws": set(),
    "tornado": {f"13.{s}.{i}" for s in (2, 5, 6) for i in range(1, 19)},
}

#: the ``server-frames`` check FAILED: tornado echoes invalid close codes (7.9.x, 7.13.x)
FRAME_CHECKS: dict[str, set[str]] = {
    "websockets": set(), "aiohttp": set(), "node-ws": set(),
    "tornado": {*(f"7.9.{i}" for i in range(1, 10)), "7.13.1", "7.13.2"},
}


def check_verdicts(result: ConformResult, name: str) -> None:
    """Groups 1-7, 9, 10: every verdict as AUTOBAHN_VERDICTS says, closes OK where the
    verdict passes, the wsbench checks as FRAME_CHECKS says, the close-code probes OK."""
    expected = AUTOBAHN_VERDICTS[name]
    seen = {cid: r for cid, r in result.cases.items() if cid.split(".")[0] not in ("12", "13")}
    assert len(seen) == 301
    wrong = {}
    for cid, r in seen.items():
        allowed = {"OK", "NON-STRICT"} if cid in TIMING_DEPENDENT else {expected.get(cid, "OK")}
        if r.verdict not in allowed:
            wrong[cid] = (r.verdict, sorted(allowed), r.reason)
        elif r.verdict in ("OK", "NON-STRICT") and r.close != "OK":
            wrong[cid] = (r.verdict, r.close, r.reason)
    assert not wrong, wrong
    failed_checks = {cid for cid, r in seen.items()
                     if any(c["verdict"] != "OK" for c in r.checks.values())}
    assert failed_checks == FRAME_CHECKS[name], failed_checks ^ FRAME_CHECKS[name]
    assert {pid: r.verdict for pid, r in result.probes.items()} == dict.fromkeys(
        ["wsbench.close-1012", "wsbench.close-1013", "wsbench.close-1014"], "OK")


def check_deflate(result: ConformResult, name: str) -> None:
    """12.x / 13.x with permessage-deflate on: all OK, compressed both ways, and the
    deflate-offer checks as DEFLATE_CHECKS says."""
    seen = {cid: r for cid, r in result.cases.items() if cid.split(".")[0] in ("12", "13")}
    assert len(seen) == 216
    for cid, r in seen.items():
        assert (r.verdict, r.close) == ("OK", "OK"), (cid, r.reason)
        size = int(r.description.split("payload size ")[1].split(",")[0])
        if size >= 1024:  # ws sends smaller messages uncompressed
            assert r.observed["deflate"]["messages_received_compressed"] >= 1, cid
    not_ok = {cid for cid, r in seen.items() if r.checks["deflate-offer"]["verdict"] != "OK"}
    assert not_ok == DEFLATE_CHECKS[name], sorted(not_ok ^ DEFLATE_CHECKS[name])
    for cid in not_ok:
        assert "server_no_context_takeover" in seen[cid].checks["deflate-offer"]["reason"]
