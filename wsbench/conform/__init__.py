"""RFC 6455 conformance: Autobahn|Testsuite's cases, judged the same way, in Python 3.

Layers (one direction):

* ``wsbench.protocol`` (pure): frame codec that builds any frame, strict parser.
* ``model`` / ``cases`` / ``judge`` / ``result`` (pure): cases as data, the verdict
  rules, the JSON / JUnit / table renderings.
* ``connection`` / ``runner`` (asyncio, raw sockets, own HTTP upgrade): run cases.

The library entry point, also for the lab (once per proxy URL)::

    from wsbench.conform import run_conformance
    result = run_conformance("ws://127.0.0.1:8080/", exclude=["9.*"])
    result.verdicts()   # {"1.1.1": "OK", ...}
"""

from __future__ import annotations

from wsbench.conform.result import CaseResult, ConformResult, render_table, to_junit_xml
from wsbench.conform.runner import RunOptions, run_conformance

__all__ = [
    "run_conformance",
    "RunOptions",
    "ConformResult",
    "CaseResult",
    "render_table",
    "to_junit_xml",
]
