"""Reports read only Result files: HTML report, cross-controller comparison, shared statistics.

Public API (imported lazily, so ``wsbench gate`` never loads matplotlib):

* :func:`render_report` — one Result to a self-contained HTML page;
* :func:`render_compare` — several Results/targets side by side with bootstrap intervals;
* :func:`load_result` / :func:`load_conformance` — read and check input files.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["render_report", "render_compare", "load_result", "load_conformance"]

_EXPORTS = {
    "render_report": "wsbench.report.render",
    "render_compare": "wsbench.report.compare",
    "load_result": "wsbench.report.load",
    "load_conformance": "wsbench.report.load",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'wsbench.report' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
