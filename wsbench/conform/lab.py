"""``wsbench conform --lab``: the suite through each lab proxy and against one pod alone.

The pod alone is the baseline: a case whose outcome differs through a proxy is a
case the proxy changes. Targets run one after another (they share two cores with
the pods and proxies, and several cases time the server). The Autobahn cases and
most ingress checks go over ws://; the certificate checks over the proxy's wss://
URL (the pods speak plain ws://, so theirs are UNIMPLEMENTED); the affinity check
uses the lab's sticky path, where every proxy is configured for affinity.

    with lab_conform_targets(("nginx", "haproxy")) as (targets, lab):
        outcome = run_lab_conformance(targets, ca_file=lab.ca_file, ...)
    outcome.matrix   # wsbench/conform-matrix@1
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from wsbench.conform.ingress import IngressOptions
from wsbench.conform.lab_failure import mark_lab_failure
from wsbench.conform.matrix import build_matrix
from wsbench.conform.result import CaseResult, ConformResult, to_junit_xml
from wsbench.conform.runner import RunOptions, run_conformance
from wsbench.errors import InputFileError, LabError
from wsbench.lab import ALT_HEADER, ALT_HEADER_VALUE, STICKY_PATH, Lab
from wsbench.lab.for_run import LabTargets, lab_targets

__all__ = ["BASELINE", "LabTarget", "LabConformance", "lab_conform_targets", "targets_of",
           "run_lab_conformance", "write_lab_outputs", "MATRIX_FILE", "HTML_FILE"]

#: the label of the baseline target: one pod, no proxy
BASELINE = "pod"
MATRIX_FILE = "matrix.json"
HTML_FILE = "conform.html"


@dataclass(frozen=True)
class LabTarget:
    """One column of the matrix: ``url`` for the suite, ``tls_url`` for the certificate checks."""

    name: str
    url: str
    tls_url: str | None = None


@dataclass(frozen=True)
class LabConformance:
    results: dict[str, ConformResult]
    matrix: dict[str, Any]
    lab: dict[str, Any]


def targets_of(lab: Lab, names: Sequence[str]) -> list[LabTarget]:
    """The baseline pod, then each proxy (ws:// for the suite, wss:// when the lab has TLS)."""
    status = lab.status()
    pods = [p for p in status.get("pods", []) or [] if str(p.get("name", "")).startswith("pod-")]  # type: ignore[union-attr]
    if not pods:
        raise LabError(f"lab {lab.name!r} has no pod to use as the baseline")
    plain, secure = lab.targets(tls=False), lab.targets(tls=True)
    missing = [n for n in names if n not in plain]
    if missing:
        raise LabError(f"lab {lab.name!r} does not run {', '.join(missing)}")
    return [LabTarget(BASELINE, str(pods[0]["url"]))] + [
        LabTarget(name, plain[name], secure.get(name)) for name in names]


@contextlib.contextmanager
def lab_conform_targets(names: Sequence[str], *, say: Callable[[str], None] = lambda _: None,
                        lab_name: str | None = None) -> Iterator[tuple[list[LabTarget], LabTargets]]:
    """The targets through the lab named ``lab_name`` (see ``lab_targets``), or the running
    lab, or one started for the run (with TLS)."""
    with lab_targets(tuple(names), tls=True, lab_name=lab_name, say=say) as found:
        yield targets_of(found.lab, names), found


def run_lab_conformance(
    targets: Sequence[LabTarget],
    *,
    cases: Sequence[str] = (),
    exclude: Sequence[str] = (),
    scale: float = 1.0,
    deflate_scale: float = 1.0,
    options: RunOptions | None = None,
    ingress: IngressOptions | None = None,
    ca_file: str | None = None,
    lab: dict[str, Any] | None = None,
    supervisor: Any = None,
    say: Callable[[str], None] = lambda _: None,
) -> LabConformance:
    """Run the selection against every target, the baseline first; build the matrix.

    ``ingress`` is the template for every target: its TLS URL, CA file and affinity
    path are replaced per target (the lab's sticky path, where affinity is expected).
    ``supervisor`` (a running :class:`wsbench.lab.supervisor.Supervisor`) says what of the
    lab broke while each target ran: such a target's later cases are INVALID
    (:func:`wsbench.conform.lab_failure.mark_lab_failure`).
    """
    base = ingress or IngressOptions()
    results: dict[str, ConformResult] = {}
    for target in targets:
        say(f"{target.name}: {target.url}")
        checks = replace(base, tls_url=target.tls_url, ca_file=ca_file or base.ca_file,
                         affinity_path=STICKY_PATH, expect_affinity=True,
                         route_header=None if target.name == BASELINE else f"{ALT_HEADER}: {ALT_HEADER_VALUE}")
        finished: dict[str, int] = {}  # case id -> when it ended (monotonic)
        start_ns = time.monotonic_ns()
        result = run_conformance(target.url, cases=cases, exclude=exclude, scale=scale,
                                 deflate_scale=deflate_scale, options=options, ingress=checks,
                                 on_result=_stamp_into(finished))
        if supervisor is not None:
            infrastructure = supervisor.infrastructure(target.name, start_ns, time.monotonic_ns())
            result = mark_lab_failure(result, infrastructure, start_ns=start_ns, finished_ns=finished)
        results[target.name] = replace(result, target=target.name)
    data = {name: result.to_json() for name, result in results.items()}
    return LabConformance(results, build_matrix(data, baseline=targets[0].name), lab or {})


def _stamp_into(finished: dict[str, int]) -> Callable[[CaseResult], None]:
    def stamp(case: CaseResult) -> None:
        finished[case.id] = time.monotonic_ns()

    return stamp


def write_lab_outputs(outcome: LabConformance, out: Path, *, junit: Path | None = None,
                      html: Callable[[LabConformance, Path], Path] | None = None) -> list[Path]:
    """``DIR/<target>.json`` each, ``DIR/matrix.json``, ``DIR/conform.html`` (written by
    ``html``, which the caller brings: the report layer sits above this one); the files written."""
    written = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, result in outcome.results.items():
            path = out / f"{name}.json"
            path.write_text(result.dumps() + "\n", encoding="utf-8")
            written.append(path)
        matrix = {**outcome.matrix, "lab": outcome.lab}
        (out / MATRIX_FILE).write_text(json.dumps(matrix, indent=2, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
        written.append(out / MATRIX_FILE)
        if html is not None:
            written.append(html(outcome, out / HTML_FILE))
        if junit is not None:
            junit.write_text(to_junit_xml(*outcome.results.values()), encoding="utf-8")
            written.append(junit)
    except OSError as exc:
        raise InputFileError(f"cannot write results: {exc}") from exc
    return written
