"""The case catalogue: Autobahn's numbering and counts, selection patterns (no sockets)."""

from __future__ import annotations

from collections import Counter

import pytest

from wsbench.conform.cases import catalogue, select, split_patterns
from wsbench.conform.cases.deflate import MESSAGE_SIZES, PARAMETER_OFFERS
from wsbench.conform.cases.ingress import IngressCheck
from wsbench.conform.cases.testdata import DATA_SETS, data, window
from wsbench.conform.cases.utf8 import utf8_test_sequences
from wsbench.conform.model import Case, EchoLoop, SendMessage, Verdict
from wsbench.conform.runner import choose_cases
from wsbench.errors import UsageError

# Autobahn|Testsuite's case counts (517 in all), then wsbench's own ingress group.
AUTOBAHN_COUNTS = {"1": 16, "2": 11, "3": 7, "4": 10, "5": 20, "6": 145, "7": 37, "9": 54, "10": 1,
                   "12": 90, "13": 126}
INGRESS = 14


def autobahn_cases() -> list[Case]:
    return [c for c in catalogue() if isinstance(c, Case)]


def test_counts_match_autobahn() -> None:
    cases = catalogue()
    assert Counter(c.group_number for c in cases) == {**AUTOBAHN_COUNTS, "ingress": INGRESS}
    assert len({c.id for c in cases}) == len(cases) == 517 + INGRESS
    assert len(autobahn_cases()) == 517
    assert [c.id for c in cases[-INGRESS:]][:3] == ["ingress.idle-timeout", "ingress.ping-keepalive",
                                                    "ingress.max-message"]


def test_numbering_is_contiguous_within_each_subgroup() -> None:
    by_parent: dict[str, list[int]] = {}
    for case in autobahn_cases():
        parent, _, last = case.id.rpartition(".")
        by_parent.setdefault(parent, []).append(int(last))
    for parent, numbers in by_parent.items():
        assert numbers == list(range(1, len(numbers) + 1)), parent


def test_utf8_subgroups_follow_markus_kuhns_list() -> None:
    sizes = {f"6.{i}": len(seqs) for i, (_, seqs) in enumerate(utf8_test_sequences(), start=5)}
    assert sizes["6.5"] == 5 and sizes["6.6"] == 11 and sizes["6.22"] == 34 and sizes["6.23"] == 7
    assert len(sizes) == 19  # 6.5 .. 6.23


def test_utf8_validity_agrees_with_a_strict_decoder() -> None:
    for _, sequences in utf8_test_sequences():
        for valid, payload in sequences:
            try:
                payload.decode("utf-8")
                decodes = True
            except UnicodeDecodeError:
                decodes = False
            assert decodes == valid, payload.hex()


def test_invalid_utf8_cases_expect_1007_and_valid_ones_an_echo() -> None:
    for case in autobahn_cases():
        if case.id.startswith("6.") and not case.id.startswith("6.4."):
            if case.close.by_client:
                assert case.outcomes[0].events[0].kind == "message", case.id
            else:
                assert case.close.codes == (1007,), case.id


def test_every_case_has_an_ok_outcome_first() -> None:
    for case in autobahn_cases():
        assert case.outcomes and case.outcomes[0].verdict == Verdict.OK, case.id
        assert case.description and case.expectation, case.id


def test_scale_shrinks_group_9_only() -> None:
    full = {c.id: c for c in catalogue()}
    small = {c.id: c for c in catalogue(scale=1 / 16)}
    assert full["1.1.7"] == small["1.1.7"]
    big, little = full["9.1.6"].actions[0], small["9.1.6"].actions[0]
    assert isinstance(big, SendMessage) and isinstance(little, SendMessage)
    assert big.payload.length == 16 << 20 and little.payload.length == 1 << 20
    with pytest.raises(UsageError):
        catalogue(scale=0)


def test_select_patterns() -> None:
    cases = catalogue()
    assert split_patterns(["1.*,5.*", " 9.7.1 "]) == ["1.*", "5.*", "9.7.1"]
    ids = [c.id for c in select(cases, include=["1.*", "5.*"])]
    assert len(ids) == 36 and ids[0] == "1.1.1" and "10.1.1" not in ids
    ids = [c.id for c in select(cases, include=["2.*"], exclude=["2.1*"])]
    assert ids == ["2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8", "2.9"]
    assert len(select(cases, exclude=["9.*"])) == 517 + INGRESS - 54
    assert len(select(cases, include=["ingress.*"])) == INGRESS
    assert [c.id for c in select(cases, include=["10.*"])] == ["10.1.1"]
    with pytest.raises(UsageError, match="matches no case"):
        select(cases, include=["11.*"])


def test_deflate_cases_follow_autobahn() -> None:
    cases = {c.id: c for c in autobahn_cases() if c.group_number in ("12", "13")}
    assert len(MESSAGE_SIZES) == 18 and len(PARAMETER_OFFERS) == 7
    first = cases["12.1.1"]
    loop = first.actions[0]
    assert isinstance(loop, EchoLoop) and loop.count == 1000 and loop.payload.length == 16
    assert loop.data_set == "json" and not loop.binary and loop.fragment_size is None
    assert first.deflate == PARAMETER_OFFERS[0] and first.close.by_client
    last = cases["12.5.18"].actions[0]
    assert isinstance(last, EchoLoop) and last.data_set == "pdf" and last.binary
    assert (last.payload.length, last.fragment_size) == (131072, 32768)
    assert len(cases["13.7.1"].deflate) == 3
    assert "server_max_window_bits=9" in cases["13.5.3"].deflate[0].header_value()
    assert all(c.deflate for c in cases.values())
    assert not any(c.deflate for c in autobahn_cases() if c.group_number not in ("12", "13"))


def test_deflate_scale_shrinks_counts_only() -> None:
    small = {c.id: c for c in catalogue(deflate_scale=0.01) if isinstance(c, Case)}
    loop = small["12.2.10"].actions[0]
    assert isinstance(loop, EchoLoop) and loop.count == 10 and loop.payload.length == 131072
    tiny = small.get("13.1.1")
    assert tiny is not None
    assert catalogue(deflate_scale=1e-9)[0].id == "1.1.1"  # at least one message per case
    with pytest.raises(UsageError, match="deflate scale"):
        catalogue(deflate_scale=0)


def test_test_data_is_deterministic_sized_and_text_is_ascii() -> None:
    for name, spec in DATA_SETS.items():
        blob = data(name)
        assert len(blob) == spec.size, name
        if not spec.binary:
            assert blob.isascii(), name  # a window cut anywhere stays valid UTF-8
    assert list(DATA_SETS) == ["json", "bitmap", "prose", "html", "pdf"]  # Autobahn's 12.1-12.5
    assert data("bitmap")[:2] == b"BM" and data("pdf")[:5] == b"%PDF-"
    size = len(data("html"))
    assert window("html", 0, 16) == data("html")[:16]
    assert window("html", 1, 100_000) == data("html")[100_000 - size:] + data("html")[: 200_000 - 2 * size]
    assert len(window("html", 3, 131_072)) == 131_072 and window("json", 5, 0) == b""


def test_idle_checks_need_a_bound() -> None:
    ids = [c.id for c in choose_cases(cases=["ingress.*"])]
    assert "ingress.idle-timeout" not in ids and "ingress.max-message" in ids
    ids = [c.id for c in choose_cases(cases=["ingress.*"], idle_bound=5)]
    assert ids[:2] == ["ingress.idle-timeout", "ingress.ping-keepalive"]
    with pytest.raises(UsageError, match="--idle-bound"):
        choose_cases(cases=["ingress.idle-timeout"])
    checks = [c for c in catalogue() if isinstance(c, IngressCheck)]
    assert all(c.description and c.expectation and c.group == "Ingress" for c in checks)


def test_cases_send_what_autobahn_sends() -> None:
    """The differences issue 11 listed, each as Autobahn's file has it."""
    from wsbench.conform.model import SendClose, SendFrames, Timer, Wait
    from wsbench.protocol.frames import Opcode

    cases = {c.id: c for c in autobahn_cases()}
    frame = cases["3.6"].actions[0].frames[0]  # case3_6.py: a binary frame, RSV 6
    assert (frame.opcode, frame.rsv, frame.payload) == (Opcode.BINARY, 6, b"Hello, world!")
    frame = cases["3.7"].actions[0].frames[0]  # case3_7.py: an empty close frame, RSV 7
    assert (frame.opcode, frame.rsv, frame.payload) == (Opcode.CLOSE, 7, b"")
    for cid in ("4.1.5", "4.2.5"):  # one octet at a time
        assert cases[cid].actions[0].chop == 1 and cases[cid].timing_dependent
    assert cases["4.1.4"].actions[0].frames[1].payload == b"Hello, world!"
    for cid in ("5.19", "5.20", "6.4.1", "6.4.2", "6.4.3", "6.4.4"):  # continueLater, no ping
        actions = cases[cid].actions
        assert any(isinstance(a, Wait) for a in actions), cid
        assert not any(isinstance(a, SendFrames) and any(f.opcode == Opcode.PING for f in a.frames)
                       for a in actions if cid.startswith("6")), cid
    assert [f.payload for f in cases["7.1.2"].actions[0].frames] == [b"\x03\xe8", b""]
    assert isinstance(cases["7.3.1"].actions[0], SendClose) and cases["7.3.1"].actions[0].code is None
    assert cases["6.2.2"].actions[0].frames[0].payload == "Hello-µ@ßöä".encode()
    assert cases["7.1.6"].actions[0].frames[0].payload[:10] == b"BAsd7&jh23"
    assert len(cases["7.1.6"].actions[0].frames[0].payload) == 256 * 1024
    assert cases["6.5.1"].actions[1] == Timer("kill", 0.5)
    assert cases["9.1.6"].actions[1] == Timer("close", 100)
    assert cases["9.5.1"].actions[1] == Timer("close", 1000) and cases["9.5.1"].length_only
    assert cases["6.3.1"].close.wrong_endpoint_fatal and not cases["3.1"].close.wrong_endpoint_fatal
