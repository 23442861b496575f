"""Histogram: HdrHistogram semantics and wire format, checked against HdrHistogram_py."""

from __future__ import annotations

import ast
import base64
import inspect
import json
import pickle
import struct
import zlib

import numpy as np
import pytest
from hdrh.histogram import HdrHistogram

import wsbench.metrics
from wsbench.metrics import Histogram, merge_all
from wsbench.metrics import histogram as histogram_module

HIGHEST = 3_600_000_000
EDGES = [0, 1, 2047, 2048, HIGHEST]
PERCENTILES = [0.0, 0.1, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 99.999, 100.0]
SWEEP = [step / 10 for step in range(1, 1001)]  # p0.1 .. p100 in steps of 0.1


def log_uniform(seed: int, size: int, high: int = HIGHEST) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.exp(rng.uniform(0.0, np.log(high), size)).astype(np.int64)


def sample(seed: int, size: int) -> np.ndarray:
    """Log-uniform values from 1 µs to 1 h, plus the edge values."""
    return np.concatenate([log_uniform(seed, size), np.array(EDGES, dtype=np.int64)])


def reference(values: np.ndarray, lowest: int = 1, highest: int = HIGHEST, digits: int = 3):
    ref = HdrHistogram(lowest, highest, digits)
    for value in values.tolist():
        assert ref.record_value(value)
    return ref


def ref_counts(ref: HdrHistogram) -> np.ndarray:
    return np.array(ref.counts[: ref.counts_len], dtype=np.int64)


def dense(hist: Histogram) -> np.ndarray:
    counts = np.zeros(hist.counts_len, dtype=np.int64)
    indices, values = hist.to_sparse()
    counts[indices] = values
    return counts


def filled(values: np.ndarray, **layout: int) -> Histogram:
    hist = Histogram(**layout)
    hist.record_many(values)
    return hist


@pytest.fixture(scope="module", params=[(1, 1), (2, 10), (3, 1_000), (4, 20_000)], ids=str)
def pair(request: pytest.FixtureRequest) -> tuple[Histogram, HdrHistogram]:
    values = sample(*request.param)
    return filled(values), reference(values)


# --- layout and statistics ----------------------------------------------------------------


@pytest.mark.parametrize(
    "lowest, highest, digits",
    [(1, HIGHEST, 3), (1000, 10**10, 2), (1, 10**6, 5), (7, 2**40, 4), (1, 2**61, 3)],
)
def test_layout_matches_reference(lowest: int, highest: int, digits: int) -> None:
    hist = Histogram(lowest=lowest, highest=highest, significant_digits=digits)
    ref = HdrHistogram(lowest, highest, digits)
    assert hist.counts_len == ref.counts_len
    assert hist.layout == (lowest, highest, digits)
    values = np.concatenate([log_uniform(5, 2_000, highest), [0, 1, lowest, highest]])
    values = np.concatenate([values, [2**k + d for k in range(1, 61) for d in (-1, 0, 1)]])
    values = values[values <= highest]
    expected = [ref.get_counts_array_index(value) for value in values.tolist()]
    assert [hist.index_of(value) for value in values.tolist()] == expected
    assert hist._indices(values).tolist() == expected  # the vectorised bit trick


def test_statistics_match_reference(pair: tuple[Histogram, HdrHistogram]) -> None:
    hist, ref = pair
    assert hist.count == ref.get_total_count()
    assert hist.min == ref.get_min_value()
    assert hist.max == ref.get_max_value()
    assert hist.mean == pytest.approx(ref.get_mean_value(), rel=1e-9, abs=0)
    for percentile in PERCENTILES:
        assert hist.value_at_percentile(percentile) == ref.get_value_at_percentile(percentile)
    expected = ref.get_percentile_to_value_dict(SWEEP)  # same rule, one pass
    assert {p: hist.value_at_percentile(p) for p in SWEEP} == expected


def test_spectrum_matches_reference_iterator(pair: tuple[Histogram, HdrHistogram]) -> None:
    hist, ref = pair
    for ticks in (1, 5):
        expected = [
            (step.percentile_level_iterated_to, step.value_iterated_to)
            for step in ref.get_percentile_iterator(ticks)
        ]
        assert hist.percentile_spectrum(ticks) == expected


def test_spectrum_ends_for_huge_counts() -> None:
    hist = Histogram()
    hist.add_sparse([5, 10], [10**16, 1])  # levels crawl towards 100 % below float precision
    spectrum = hist.percentile_spectrum()
    assert spectrum[0] == (0.0, 5)
    assert spectrum[-1] == (100.0, 10)
    assert all(0.0 <= percentile <= 100.0 for percentile, _ in spectrum)
    assert len(spectrum) < 1_000


def test_empty_histogram() -> None:
    hist, ref = Histogram(), HdrHistogram(1, HIGHEST, 3)
    assert (hist.count, hist.min, hist.max, hist.mean) == (0, 0, 0, 0.0)
    assert hist.value_at_percentile(99.0) == ref.get_value_at_percentile(99.0) == 0
    assert hist.percentile_spectrum() == [] == list(ref.get_percentile_iterator(5))
    assert hist.encode() == ref.encode().decode()
    assert Histogram.decode(ref.encode()) == hist
    summary = hist.summary_ms()
    assert summary.pop("hdr") == hist.encode()
    assert summary == dict.fromkeys(["count", "min", "mean", "p50", "p90", "p99", "p999", "max"], 0)


def test_summary_ms_is_in_milliseconds(pair: tuple[Histogram, HdrHistogram]) -> None:
    hist, ref = pair
    summary = hist.summary_ms()
    assert summary["count"] == ref.get_total_count()
    assert summary["min"] == ref.get_min_value() / 1000
    assert summary["max"] == ref.get_max_value() / 1000
    assert summary["mean"] == pytest.approx(ref.get_mean_value() / 1000, rel=1e-9)
    for key, percentile in (("p50", 50), ("p90", 90), ("p99", 99), ("p999", 99.9)):
        assert summary[key] == ref.get_value_at_percentile(percentile) / 1000
        assert isinstance(summary[key], float)
    assert Histogram.decode(summary["hdr"]) == hist
    json.dumps(summary)


@pytest.mark.parametrize("percentile", [-1.0, float("nan")])
def test_percentile_out_of_range(percentile: float) -> None:
    with pytest.raises(ValueError):
        filled(np.array([5])).value_at_percentile(percentile)


def test_percentile_above_100_is_the_max() -> None:
    hist = filled(sample(6, 100))
    assert hist.value_at_percentile(250.0) == hist.max


# --- recording ----------------------------------------------------------------------------


def test_record_many_equals_record() -> None:
    values = np.concatenate([sample(7, 100_000), [HIGHEST + 1, 2**40, 0, 0]])
    one_by_one = Histogram()
    for value in values.tolist():
        one_by_one.record(value)
    batched = Histogram()
    for batch in np.array_split(values, 25):
        batched.record_many(batch)
    assert batched == one_by_one
    assert batched.clamped == one_by_one.clamped == 2
    assert batched.count == values.size


def test_record_many_input_kinds() -> None:
    values = [0, 3, 2047, 2048, 99_999]
    expected = filled(np.array(values))
    assert filled(values) == expected  # type: ignore[arg-type]
    assert filled(np.array(values, dtype=np.int32)) == expected
    assert filled(np.array(values, dtype=np.uint64)) == expected
    assert filled(np.array(values).reshape(1, -1)) == expected
    huge = filled(np.array([2**64 - 1, 5], dtype=np.uint64))
    assert huge.clamped == 1
    assert huge == filled(np.array([HIGHEST, 5]))
    empty = Histogram()
    empty.record_many([])
    empty.record_many(np.array([], dtype=np.float64))
    assert empty == Histogram()


def test_record_many_rejects_bad_input_without_recording() -> None:
    hist = filled(np.array([5, 6]))
    before = hist.copy()
    with pytest.raises(ValueError):
        hist.record_many(np.array([5, -1]))
    with pytest.raises(TypeError):
        hist.record_many(np.array([1.5, 2.0]))
    assert hist == before


def test_record_scalars_counts_and_errors() -> None:
    hist = Histogram()
    hist.record(np.int64(5), 3)
    hist.record(np.uint32(2048), np.int64(2))
    hist.record(True)
    ref = HdrHistogram(1, HIGHEST, 3)
    ref.record_value(5, 3)
    ref.record_value(2048, 2)
    ref.record_value(1)
    assert np.array_equal(dense(hist), ref_counts(ref))
    for bad_value, bad_count, error in [
        (-1, 1, ValueError),
        (1, -1, ValueError),
        (1.5, 1, TypeError),
        ("7", 1, TypeError),
        (7, 1.0, TypeError),
    ]:
        with pytest.raises(error):
            hist.record(bad_value, bad_count)  # type: ignore[arg-type]
    assert np.array_equal(dense(hist), ref_counts(ref))


def test_values_above_highest_are_clamped() -> None:
    hist = Histogram()
    hist.record(HIGHEST + 1)
    hist.record(10**15, 4)
    hist.record_many(np.array([HIGHEST, HIGHEST + 7]))
    assert hist.clamped == 6
    assert hist.count == 7
    assert hist.max == reference(np.array([HIGHEST])).get_max_value()
    assert hist == filled(np.array([HIGHEST] * 7))  # equality ignores ``clamped``


@pytest.mark.parametrize("highest", [2**53 + 5, 2**61])
def test_values_beyond_float_precision(highest: int) -> None:
    values = np.array(
        [
            2**k + d
            for k in range(50, highest.bit_length())
            for d in (-1, 0, 1)
            if 2**k + d <= highest
        ]
    )
    batched = filled(values, highest=highest)
    one_by_one = Histogram(highest=highest)
    for value in values.tolist():
        one_by_one.record(value)
    assert batched == one_by_one
    assert np.array_equal(dense(batched), ref_counts(reference(values, highest=highest)))


# --- merge and sparse form ----------------------------------------------------------------


def test_merge_of_halves_equals_whole() -> None:
    values = np.concatenate([sample(8, 50_000), [HIGHEST + 1, HIGHEST + 2]])
    whole = filled(values)
    first, second = filled(values[::2]), filled(values[1::2])
    first.merge(second)
    assert first == whole
    assert first.count == values.size
    assert first.clamped == whole.clamped == 2


def test_merge_after_wire_round_trips() -> None:
    values = sample(9, 40_000)
    whole = filled(values)
    shards = [filled(part).encode() for part in np.array_split(values, 3)]
    shards.append(reference(values[:0]).encode().decode())  # an idle worker
    merged = merge_all(Histogram.decode(text) for text in shards)
    assert merged == whole
    mixed = Histogram.decode(filled(values[:100]).encode())
    mixed.merge(Histogram.decode(reference(values[100:]).encode()))  # from HdrHistogram_py
    assert mixed == whole
    assert Histogram.decode(merged.encode()) == whole


def test_merge_all_leaves_inputs_alone() -> None:
    parts = [filled(np.array([n, n * 1000])) for n in (1, 2, 3)]
    copies = [part.copy() for part in parts]
    merged = merge_all(parts)
    assert parts == copies
    assert merged.count == 6
    assert merge_all([]) == Histogram()


def test_merge_rejects_other_layouts() -> None:
    hist = Histogram()
    for other in (Histogram(highest=10**9), Histogram(significant_digits=2), Histogram(lowest=2)):
        with pytest.raises(ValueError):
            hist.merge(other)
    with pytest.raises(TypeError):
        hist.merge(HdrHistogram(1, HIGHEST, 3))  # type: ignore[arg-type]


def test_sparse_round_trip_through_json() -> None:
    hist = filled(sample(10, 5_000))
    indices, counts = json.loads(json.dumps(hist.to_sparse()))
    rebuilt = Histogram()
    rebuilt.add_sparse(indices, counts)
    assert rebuilt == hist
    rebuilt.add_sparse([3, 3], [1, 2])  # repeated indices add up
    assert rebuilt.count == hist.count + 3
    assert all(type(n) is int for n in hist.to_sparse()[0] + hist.to_sparse()[1])


@pytest.mark.parametrize(
    "indices, counts, error",
    [
        ([1, 2], [1], ValueError),
        ([-1], [1], ValueError),
        ([23_552], [1], ValueError),
        ([1], [-1], ValueError),
        ([1.0], [1], TypeError),
    ],
)
def test_add_sparse_rejects_bad_input(indices: list, counts: list, error: type) -> None:
    hist = Histogram()
    with pytest.raises(error):
        hist.add_sparse(indices, counts)
    assert hist == Histogram()


# --- wire format --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "layout", [{}, {"lowest": 1000, "highest": 10**10, "significant_digits": 2}], ids=str
)
def test_encoding_is_read_by_reference(layout: dict[str, int]) -> None:
    highest = layout.get("highest", HIGHEST)
    values = np.concatenate([log_uniform(11, 3_000, highest), [0, highest]])
    hist = filled(values, **layout)
    ref = reference(values, layout.get("lowest", 1), highest, layout.get("significant_digits", 3))
    decoded = HdrHistogram.decode(hist.encode())
    assert np.array_equal(ref_counts(decoded), dense(hist))
    assert decoded.get_total_count() == hist.count
    assert decoded.get_max_value() == hist.max
    assert decoded.get_value_at_percentile(99.9) == hist.value_at_percentile(99.9)
    assert hist.encode() == ref.encode().decode()  # byte for byte the same encoding
    assert Histogram.decode(ref.encode()) == hist  # bytes from HdrHistogram_py
    assert Histogram.decode(ref.encode().decode()) == hist
    assert Histogram.decode(hist.encode()).layout == hist.layout


def test_huge_counts_use_nine_byte_words() -> None:
    hist = Histogram()
    hist.record(5, 2**60)
    hist.record(10**6, 2**56)
    hist.record(10**7, 1)
    text = hist.encode()
    assert Histogram.decode(text) == hist
    assert np.array_equal(ref_counts(HdrHistogram.decode(text)), dense(hist))
    # A count >= 2**62 sets the top bit of the 9th byte: HdrHistogram_py writes the same
    # bytes but its decoder drops that bit (Java's keeps it), so only our round trip is checked.
    hist.record(HIGHEST, 2**62 + 3)
    ref = HdrHistogram(1, HIGHEST, 3)
    for index, count in zip(*hist.to_sparse(), strict=True):
        ref.record_value(ref.get_value_from_index(index), count)
    assert hist.encode() == ref.encode().decode()
    assert Histogram.decode(hist.encode()) == hist


def _leb128(word: int) -> bytes:
    """Zig-zag LEB128 of one word (below 2**55), written the textbook way."""
    value = (word << 1) ^ (word >> 63)
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes(out + bytes([value]))


def _payload(words: list[int], cookie: int = 0x1C849313) -> str:
    """A V2 encoding built by hand."""
    varints = b"".join(_leb128(word) for word in words)
    header = struct.pack(">IIiIqqd", cookie, len(varints), 0, 3, 1, HIGHEST, 1.0)
    compressed = zlib.compress(header + varints)
    return base64.b64encode(struct.pack(">II", 0x1C849314, len(compressed)) + compressed).decode()


def test_decode_accepts_single_zeros_written_as_zero() -> None:
    text = _payload([3, 0, 5, -4, 2])  # Java writes a lone zero as 0, C and Python as -1
    expected = Histogram()
    expected.add_sparse([0, 2, 7], [3, 5, 2])
    assert Histogram.decode(text) == expected
    assert np.array_equal(ref_counts(HdrHistogram.decode(text)), dense(expected))


@pytest.mark.parametrize(
    "text",
    [
        "not base64!",
        base64.b64encode(b"\x1c\x84\x93").decode(),
        base64.b64encode(struct.pack(">II", 0x1C849302, 0)).decode(),  # V1 cookie
        base64.b64encode(struct.pack(">II", 0x1C849314, 5) + b"12345").decode(),  # not zlib
        _payload([1], cookie=0x1C849301),
        _payload([-30_000]),  # zero run past the counts array
        _payload([-23_551, 1, 1]),
        _payload([-(2**54)] * 1024 + [1]),  # zero runs whose sum wraps around 2**64
    ],
)
def test_decode_rejects_malformed_input(text: str) -> None:
    with pytest.raises(ValueError):
        Histogram.decode(text)


def test_decode_rejects_a_truncated_number() -> None:
    varints = b"\x85"  # continuation bit set, nothing follows
    header = struct.pack(">IIiIqqd", 0x1C849313, len(varints), 0, 3, 1, HIGHEST, 1.0)
    compressed = zlib.compress(header + varints)
    raw = struct.pack(">II", 0x1C849314, len(compressed)) + compressed
    with pytest.raises(ValueError):
        Histogram.decode(base64.b64encode(raw).decode())


# --- object protocol ----------------------------------------------------------------------


def test_copy_reset_equality_and_pickle() -> None:
    hist = filled(sample(12, 1_000))
    hist.record(HIGHEST * 2)
    twin = hist.copy()
    assert twin == hist and twin is not hist and twin.clamped == 1
    twin.record(5)
    assert twin != hist
    restored = pickle.loads(pickle.dumps(hist))
    assert restored == hist and restored.clamped == hist.clamped
    restored.record(5)
    assert restored == twin  # the restored histogram records into its own counts
    hist.reset()
    assert hist == Histogram() and hist.clamped == 0
    assert Histogram() != Histogram(highest=10**9)
    assert Histogram() != "Histogram"
    assert "count=0" in repr(hist)


@pytest.mark.parametrize(
    "layout",
    [
        {"lowest": 0},
        {"highest": 1},
        {"highest": 2**62},
        {"significant_digits": 0},
        {"significant_digits": 6},
    ],
)
def test_bad_layouts(layout: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        Histogram(**layout)


def test_module_is_pure_and_stateless() -> None:
    tree = ast.parse(inspect.getsource(histogram_module))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module)])
    }
    assert imported <= {"__future__", "base64", "binascii", "collections", "math", "numpy"} | {
        "operator",
        "struct",
        "typing",
        "zlib",
    }
    for name, value in vars(histogram_module).items():
        if not name.startswith("__"):
            assert not isinstance(value, list | dict | set | bytearray | np.ndarray), name


def test_public_api() -> None:
    assert {"Histogram", "merge_all"} <= set(wsbench.metrics.__all__)
    assert histogram_module.__all__ == ["Histogram", "merge_all"]
