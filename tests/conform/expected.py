"""What the independent servers are known to do, case by case (shared by the server tests
and the timing test), with the reason each differs from a plain OK."""

from __future__ import annotations

from wsbench.conform.result import ConformResult

__all__ = ["KNOWN_FAILURES", "DEFLATE_EXPECTED", "check_deflate"]

#: cases each library fails, and why (the same verdict Autobahn's rules give)
KNOWN_FAILURES: dict[str, dict[str, str]] = {
    # websockets' own compliance notes: a close in the middle of a fragmented message is a
    # protocol error for it, so it answers 1002 where Autobahn wants 1000.
    "websockets": {"7.1.5": "close code 1002"},
    # aiohttp accepts 1006 in a close frame (RFC 6455 7.4.1: must not be sent) and answers 1000.
    "aiohttp": {"7.9.5": "close code 1000"},
    # tornado echoes whatever close code it got, so it sends invalid codes back.
    "tornado": {f"7.9.{i}": "invalid code" for i in range(1, 10)},
    "node-ws": {},
}

#: with permessage-deflate on: subgroup -> (verdict of each of its 18 cases, words of the reason);
#: every other 12.x / 13.x case is OK
DEFLATE_EXPECTED: dict[str, dict[str, tuple[str, str]]] = {
    # websockets and aiohttp decline an offer asking for server_max_window_bits=8 (zlib cannot
    # compress with a 256-byte window); 13.7's list of offers has one they accept
    "websockets": {"13.3": ("UNIMPLEMENTED", "accepted no"), "13.5": ("UNIMPLEMENTED", "accepted no")},
    "aiohttp": {"13.3": ("UNIMPLEMENTED", "accepted no"), "13.5": ("UNIMPLEMENTED", "accepted no")},
    # tornado accepts server_no_context_takeover without saying so (NON-STRICT), and answers
    # HTTP 500 to server_max_window_bits=8 (its zlib.compressobj(wbits=-8) raises)
    "tornado": {"13.2": ("NON-STRICT", "server_no_context_takeover"),
                "13.6": ("NON-STRICT", "server_no_context_takeover"),
                "13.3": ("FAILED", "HTTP 500"), "13.5": ("FAILED", "HTTP 500"),
                "13.7": ("FAILED", "HTTP 500")},
    # ws accepts every offer (node's zlib takes window bits 8)
    "node-ws": {},
}


def check_deflate(result: ConformResult, name: str) -> None:
    """12.x / 13.x verdicts as DEFLATE_EXPECTED says for ``name`` (permessage-deflate on)."""
    expected = DEFLATE_EXPECTED[name]
    seen = {cid: r for cid, r in result.cases.items() if cid.split(".")[0] in ("12", "13")}
    assert len(seen) == 216
    for cid, r in seen.items():
        verdict, words = expected.get(cid.rsplit(".", 1)[0], ("OK", ""))
        assert (r.verdict, r.close) == (verdict, "OK" if verdict != "FAILED" else r.close), (cid, r.reason)
        assert words in r.reason, (cid, r.reason)
        size = int(r.description.split("payload size ")[1].split(",")[0])
        if verdict == "OK" and size >= 1024:  # ws sends smaller messages uncompressed
            assert r.observed["deflate"]["messages_received_compressed"] >= 1, cid


