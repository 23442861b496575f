"""Pure policies (generators) and the message stamp."""

from __future__ import annotations

import itertools
import random

import pytest

from wsbench.protocol.stamp import STAMP_SIZE, read_seq, read_stamp, stamp_factory
from wsbench.shapes import backoff, ramp_offsets, rate_schedule, split_evenly


def test_ramp_offsets():
    assert list(ramp_offsets(4, 2.0)) == [0.0, 0.5, 1.0, 1.5]
    assert list(ramp_offsets(3, 0)) == [0.0, 0.0, 0.0]


def test_rate_schedule_is_anchored_at_the_start():
    times = list(itertools.islice(rate_schedule(1_000, 3.0), 4))
    assert times == [1_000, 1_000 + 333_333_333, 1_000 + 666_666_666, 1_000 + 1_000_000_000]


def test_backoff_grows_to_its_maximum_with_bounded_jitter():
    delays = list(itertools.islice(backoff(initial=0.1, factor=2, maximum=1.0, jitter=0.1,
                                           rng=random.Random(1)), 8))
    assert 0.09 <= delays[0] <= 0.11
    assert all(0.9 <= d <= 1.1 for d in delays[4:])


def test_split_evenly():
    assert split_evenly(10, 3) == [4, 3, 3]
    assert sum(split_evenly(30_001, 7)) == 30_001


def test_stamp_round_trip_and_size():
    make = stamp_factory(48)
    message = make(12345, 987654321)
    assert len(message) == 48
    message.decode("utf-8")  # valid text
    assert read_seq(message) == 12345
    assert read_stamp(message) == (12345, 987654321)


def test_not_a_stamp():
    assert read_seq(b"whoami") == -1
    assert read_seq(b"z" * 40) == -1
    assert read_stamp(b"short") is None


def test_minimum_size():
    with pytest.raises(ValueError):
        stamp_factory(STAMP_SIZE - 1)


def test_stamp_bytes_are_the_documented_hex_digits():
    make = stamp_factory(40)
    for seq, send_ns in [(0, 0), (1, 2), (2**63, 2**64 - 1), (123456789, 987654321012345)]:
        assert make(seq, send_ns) == b"%016x%016x" % (seq, send_ns) + b"." * 8
