"""The case catalogue: Autobahn's numbering and counts, selection patterns (no sockets)."""

from __future__ import annotations

from collections import Counter

import pytest

from wsbench.conform.cases import catalogue, select, split_patterns
from wsbench.conform.cases.utf8 import utf8_test_sequences
from wsbench.conform.model import SendMessage, Verdict
from wsbench.errors import UsageError

# Autobahn|Testsuite's case counts for the groups built here (517 minus 216 in 12/13).
AUTOBAHN_COUNTS = {"1": 16, "2": 11, "3": 7, "4": 10, "5": 20, "6": 145, "7": 37, "9": 54, "10": 1}


def test_counts_match_autobahn() -> None:
    cases = catalogue()
    assert Counter(c.group_number for c in cases) == AUTOBAHN_COUNTS
    assert len({c.id for c in cases}) == len(cases) == 301


def test_numbering_is_contiguous_within_each_subgroup() -> None:
    by_parent: dict[str, list[int]] = {}
    for case in catalogue():
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
    for case in catalogue():
        if case.id.startswith("6.") and not case.id.startswith("6.4."):
            if case.close.by_client:
                assert case.outcomes[0].events[0].kind == "message", case.id
            else:
                assert case.close.codes == (1007,), case.id


def test_every_case_has_an_ok_outcome_first() -> None:
    for case in catalogue():
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
    assert len(select(cases, exclude=["9.*"])) == 301 - 54
    assert [c.id for c in select(cases, include=["10.*"])] == ["10.1.1"]
    with pytest.raises(UsageError, match="matches no case"):
        select(cases, include=["11.*"])
