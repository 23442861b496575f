"""Measurements: HDR histograms, per-process recorders and the merge of their shards.

Pure code: nothing here reads a clock, does I/O or imports asyncio.
"""

from __future__ import annotations

from wsbench.metrics.histogram import Histogram, merge_all

__all__ = ["Histogram", "merge_all"]
