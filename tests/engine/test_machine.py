"""The machine facts the runner reads: ephemeral ports, and the warning for crowded source addresses."""

from __future__ import annotations

from wsbench.engine.machine import crowded_sources, ephemeral_ports


def test_ephemeral_ports_counts_the_range(tmp_path):
    port_range = tmp_path / "ip_local_port_range"
    port_range.write_text("32768\t60999\n")
    assert ephemeral_ports(port_range) == 28_232
    assert ephemeral_ports(tmp_path / "missing") == 0
    port_range.write_text("nonsense\n")
    assert ephemeral_ports(port_range) == 0


def test_a_source_address_is_crowded_past_half_its_ports():
    assert crowded_sources(14_116, 1, 28_232) is None  # exactly half: every connect finds a port at once
    warning = crowded_sources(14_117, 1, 28_232)
    assert warning is not None and "14,117 sessions per local address" in warning and "14,116" in warning
    assert crowded_sources(100_000, 8, 28_232) is None  # 12,500 each
    assert crowded_sources(100_000, 5, 28_232) is not None  # 20,000 each: the stall measured in bench/
    assert crowded_sources(100_000, 1, 0) is None  # range unknown: no warning
