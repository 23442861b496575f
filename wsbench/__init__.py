"""wsbench: load- and conformance-test WebSocket endpoints behind Kubernetes Ingress controllers.

The public API, for scripts and notebooks (the CLI is built on the same calls)::

    import wsbench

    outcome = wsbench.run("scenarios/closed-loop.yaml", url="ws://127.0.0.1:8080/echo", duration=5)
    result = wsbench.load_result(outcome.result_path)       # the typed Result
    verdict = wsbench.evaluate_gate(result, thresholds=["rtt.p99 < 50ms"])
    wsbench.render_report(result, "report.html", verdict=verdict)

The functions are not called ``gate`` and ``report``: those names are the subpackages
(importing one would replace a function of that name on this module).

Everything is imported on first use, so ``import wsbench`` loads no event loop, socket or
plotting library (``tests/test_architecture.py`` checks it). ``tests/test_public_api.py``
guards this list: a name is added here only on purpose.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # for type checkers and IDEs; at run time the names load lazily
    from wsbench.engine.runner import RunOutcome
    from wsbench.errors import (
        InputFileError,
        LabError,
        LocalError,
        PeerError,
        ScenarioError,
        UsageError,
        WsbenchError,
    )
    from wsbench.result import GateVerdict, Result, Summary, TargetResult
    from wsbench.scenario import Scenario, load_scenario

__all__ = [
    "__version__",
    # the four things a user does
    "run",
    "load_result",
    "evaluate_gate",
    "render_report",
    # what they take and give
    "load_scenario",
    "Scenario",
    "RunOutcome",
    "Result",
    "TargetResult",
    "Summary",
    "GateVerdict",
    # the exception tree (wsbench.errors)
    "WsbenchError",
    "UsageError",
    "ScenarioError",
    "InputFileError",
    "LocalError",
    "LabError",
    "PeerError",
]

#: lazily imported names -> the module that defines them
_LAZY = {
    "load_scenario": "wsbench.scenario",
    "Scenario": "wsbench.scenario",
    "RunOutcome": "wsbench.engine.runner",
    "Result": "wsbench.result",
    "TargetResult": "wsbench.result",
    "Summary": "wsbench.result",
    "GateVerdict": "wsbench.result",
    **{
        name: "wsbench.errors"
        for name in ("WsbenchError", "UsageError", "ScenarioError", "InputFileError", "LocalError",
                     "LabError", "PeerError")
    },
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wsbench' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)


def run(scenario: str | Path | Scenario | None = None, *, disruptions: tuple[str, ...] = (),
        progress: Any = None, **overrides: Any) -> RunOutcome:
    """Run a scenario and write its Result; return what the run left behind.

    ``scenario`` is a YAML path, a bundled scenario's name (``"closed-loop"``), a
    :class:`Scenario`, or None for the defaults (then, with no ``url``/``targets``, wsbench
    starts its own echo server). ``overrides`` are scenario keys (``sessions=100``,
    ``url="ws://…"`` for one target, ``lab="nginx"``); ``disruptions`` are specs as for
    ``--disrupt`` (``"pod-restart@8s:pod-1"``); ``progress(line)`` receives the progress lines.
    Raises :class:`UsageError` for bad input; an interrupted run still returns its partial
    Result (``outcome.interrupted``).
    """
    from wsbench.engine.orchestrate import run as run_orchestrated
    from wsbench.errors import UsageError
    from wsbench.scenario import Scenario, load_scenario

    if "url" in overrides:  # as `wsbench run --url URL`
        overrides["targets"] = [*(overrides.get("targets") or []), overrides.pop("url")]
    if isinstance(scenario, Scenario):
        if overrides:
            raise UsageError("run: give overrides with a scenario file or name, not with a Scenario "
                             "(use dataclasses.replace on it)")
    else:
        scenario = load_scenario(None if scenario is None else str(scenario), overrides)
    return run_orchestrated(scenario, disruptions=tuple(disruptions),
                            say=progress if progress is not None else (lambda _line: None))


def load_result(path: str | Path) -> Result:
    """Read a ``result.json`` as the typed :class:`Result` (one-line :class:`InputFileError`
    naming the file and key when it is not a valid Result)."""
    from wsbench.report.load import read_result

    return read_result(path)


def evaluate_gate(result: Result | str | Path, **options: Any) -> GateVerdict:
    """Judge a Result (or its path) as ``wsbench gate`` does; keywords as
    :func:`wsbench.gate.evaluate_gate` (``thresholds``, ``baseline``, ``max_regressions``, …).
    ``verdict.passed`` says whether it passed."""
    from wsbench.gate import evaluate_gate as evaluate

    if isinstance(result, str | Path):
        result = load_result(result)
    baseline = options.get("baseline")
    if isinstance(baseline, str | Path):
        options["baseline"] = load_result(baseline)
    return evaluate(result, **options)


def render_report(result: Result | str | Path, out: str | Path, *, verdict: GateVerdict | None = None) -> Path:
    """Write the self-contained HTML report of a Result (or its path) to ``out``; return its path."""
    from wsbench.report.render import render_report as render

    if isinstance(result, str | Path):
        result = load_result(result)
    return render(result, out, verdict=verdict)
