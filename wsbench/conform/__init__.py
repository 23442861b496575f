"""RFC 6455 conformance: Autobahn|Testsuite's cases, judged the same way, in Python 3.

Layers (one direction):

* ``wsbench.protocol`` (pure): frame codec that builds any frame, strict parser,
  permessage-deflate negotiation and codec.
* ``model`` / ``cases`` / ``judge`` / ``ingress_rules`` / ``result`` / ``matrix`` (pure):
  cases and ingress checks as data, the verdict rules, the JSON / JUnit / table
  renderings, the targets × cases matrix.
* ``connection`` / ``runner`` / ``ingress`` (asyncio, raw sockets, own HTTP upgrade):
  run cases and ingress probes.
* ``lab`` (processes, through :mod:`wsbench.lab`): the suite through each lab proxy.

The library entry point, also for the lab (once per proxy URL)::

    from wsbench.conform import IngressOptions, run_conformance
    result = run_conformance("ws://127.0.0.1:8080/", exclude=["9.*"], deflate_scale=0.01,
                             ingress=IngressOptions(idle_bound=90))
    result.verdicts()   # {"1.1.1": "OK", ..., "ingress.idle-timeout": "INFORMATIONAL"}
"""

from __future__ import annotations

from wsbench.conform.ingress import IngressOptions
from wsbench.conform.result import CaseResult, ConformResult, render_table, to_junit_xml
from wsbench.conform.runner import RunOptions, run_conformance

__all__ = [
    "run_conformance",
    "RunOptions",
    "IngressOptions",
    "ConformResult",
    "CaseResult",
    "render_table",
    "to_junit_xml",
]
