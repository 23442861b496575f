"""``generator.calibration``: what the machine and the generator add on their own. Pure.

The engine measures it before the load (:mod:`wsbench.engine.calibrate`); this module is
the typed section and the model the gate and the report share:

* the **noise floor** of a statistic — the calibration's own figure for it (rate mode: the
  paced round trips; closed loop: the back-to-back ones). A difference between two runs
  smaller than the larger of the two floors is not attributed to the target;
* the **machine factor** — how much slower this machine (with what else ran on it) turned
  out than another one, from the two calibrations. See :func:`machine_factor` and
  ``baselines/README.md`` ("The calibrated model") for what it covers and what it does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from wsbench.result.codec import Field, Section, read_int, read_number, read_object, read_str
from wsbench.result.summary import Summary

__all__ = [
    "Calibration",
    "CALIBRATION_BOUND",
    "MachineFactor",
    "machine_factor",
    "noise_floor_ms",
    "reference_ms",
    "probe_path",
    "has_same_load",
    "describe_floor",
    "fmt_change",
]


def _summary(value: Any, where: str) -> Summary:
    return Summary.from_json(value, where)


_FIELDS = (
    Field("method", read_str),
    Field("paced", read_int),
    Field("burst", read_int),
    Field("opens", read_int),
    Field("rtt", _summary, lambda s: s.to_json()),
    Field("rtt_closed", _summary, lambda s: s.to_json()),
    Field("open", _summary, lambda s: s.to_json()),
    Field("cpu_us_per_round_trip", read_number),
    Field("took_s", read_number),
    Field("during", lambda value, where: {name: Summary.from_json(summary, f"{where}.{name}")
                                          for name, summary in read_object(value, where).items()},
          lambda during: {name: summary.to_json() for name, summary in during.items()}),
    Field("during_via", lambda value, where: {name: read_str(url, f"{where}.{name}")
                                              for name, url in read_object(value, where).items()},
          lambda via: dict(via)),
    Field("same_load", lambda value, where: {
        name: {metric: Summary.from_json(summary, f"{where}.{name}.{metric}")
               for metric, summary in read_object(figures, f"{where}.{name}").items()}
        for name, figures in read_object(value, where).items()},
          lambda same: {name: {metric: summary.to_json() for metric, summary in figures.items()}
                        for name, figures in same.items()}),
)


@dataclass(frozen=True)
class Calibration(Section):
    """The generator against a reference echo on loopback, measured before the load.

    ``rtt``: paced round trips, latency from the scheduled send time as in rate mode (this
    includes the event loop's timer lateness, which a rate-mode run pays on every message);
    ``rtt_closed``: back-to-back round trips (the closed-loop floor); ``open``: TCP connect +
    upgrade; ``cpu_us_per_round_trip``: the client's CPU per back-to-back round trip.
    """

    FIELDS: ClassVar[tuple[Field, ...]] = _FIELDS

    method: str | None = None
    paced: int | None = None
    burst: int | None = None
    opens: int | None = None
    rtt: Summary | None = None
    rtt_closed: Summary | None = None
    open: Summary | None = None
    cpu_us_per_round_trip: float | None = None
    took_s: float | None = None
    #: per target: the same paced round trips while that target was measured
    during: Mapping[str, Summary] | None = None
    #: per target: where those round trips went (the proxy's reference path, or ``loopback``)
    during_via: Mapping[str, str] | None = None
    #: per target (``run --reference-interleave``): the target's own load, in windows taking
    #: turns with it, through the same proxy to the lab's reference echo; its ``rtt`` and
    #: ``rtt_service`` summaries. The gate's same-load model scales by these.
    same_load: Mapping[str, Mapping[str, Summary]] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)



# --- the model the gate and the report share -------------------------------------------------

#: Calibrations whose machine factor is within this of 1 (and the same machine) are judged raw.
CALIBRATION_BOUND = 0.10


def _statistic(summary: Summary | None, statistic: str) -> float | None:
    if summary is None:
        return None
    value = getattr(summary, statistic, None) if statistic in ("mean", "p50", "p90", "p99", "p999") else None
    return float(value) if isinstance(value, int | float) else None


def noise_floor_ms(calibration: Calibration | None, statistic: str, *, closed: bool = False) -> float | None:
    """What the generator adds on its own to ``statistic`` (ms): the calibration's same figure."""
    if calibration is None:
        return None
    return _statistic(calibration.rtt_closed if closed else calibration.rtt, statistic)


def reference_ms(calibration: Calibration | None, target: str, *, kind: str = "rtt",
                 statistic: str = "p50", metric: str = "rtt") -> tuple[float | None, str]:
    """The machine's reference figure while ``target`` ran (ms), and where it comes from.

    ``kind`` ``open`` (upgrade latencies): the same statistic of the open cost before the
    load. ``rtt``: with a same-load reference (``same_load``), the same statistic of the same
    ``metric`` there; else of the probe's paced round trips while the target ran
    (``during``); without one, of the calibration before the load. The same statistic: a busy
    machine stretches the tail of a fixed workload far more than its middle (measured: the
    probe's mean doubled where the run's median rose a third), so a median is taken to
    another machine by what happened to the probe's median, a p99 by the probe's p99.
    """
    if calibration is None:
        return None, ""
    if kind == "open":
        value = _statistic(calibration.open, statistic)
        return (value, "open cost before the load") if value else (None, "")
    same = (calibration.same_load or {}).get(target)
    if same:
        value = _statistic(same.get(metric) or same.get("rtt"), statistic)
        return (value, "reference path under the same load") if value else (None, "")
    during = (calibration.during or {}).get(target)
    value = _statistic(during, statistic)
    if value:
        return value, "probe during the run"
    value = _statistic(calibration.rtt, statistic)
    return (value, "calibration before the load") if value else (None, "")


def has_same_load(calibration: Calibration | None, target: str) -> bool:
    """Whether ``target``'s machine reference is its own load to the reference path (``run
    --reference-interleave``), rather than a light probe."""
    return bool(calibration is not None and (calibration.same_load or {}).get(target))


def probe_path(calibration: Calibration | None, target: str) -> str:
    """Which workload the machine's reference for ``target`` measured: ``proxy`` (the probe
    went through the target's own proxy to the lab's reference echo) or ``loopback``."""
    via = ((calibration.during_via or {}) if calibration is not None else {}).get(target)
    return "proxy" if via and via != "loopback" else "loopback"


@dataclass(frozen=True)
class MachineFactor:
    """How much slower the run's machine was than the baseline's, and what is taken off.

    Two models. With a light probe, additive (``shift``): what the machine added to the
    probe's fixed workload while the target ran (the same statistic), beyond what it added
    while the baseline was measured, is taken off the run's figure. With a same-load
    reference on both sides (``scale``): the run's figure is divided by ``factor``, how much
    slower the reference path ran under the target's own load, interleaved with it, than in
    the baseline: a machine that runs the same work slower runs all of it slower. ``judged``
    says whether the gate judges the calibrated figure, ``why`` says why. ``factor`` (run /
    baseline reference) also decides whether the machines differ beyond the bound.
    """

    factor: float
    shift_ms: float
    judged: bool
    why: str
    run_ms: float
    base_ms: float
    scale: bool = False

    def apply(self, value_ms: float) -> float:
        """``value_ms`` of the run as the baseline's machine would have measured it."""
        if self.scale:
            return value_ms / self.factor
        return max(value_ms - self.shift_ms, 0.0)

    def describe(self) -> str:
        if self.scale:
            return (f"machine factor ×{self.factor:.2f} (the reference path under the same load "
                    f"{self.base_ms:.3g} → {self.run_ms:.3g} ms), scaled ÷{self.factor:.2f}")
        sign = "−" if self.shift_ms >= 0 else "+"
        return (f"machine factor ×{self.factor:.2f} ({self.base_ms:.3g} → {self.run_ms:.3g} ms), "
                f"shift {sign}{abs(self.shift_ms):.3g} ms")


def machine_factor(
    run: Calibration | None,
    base: Calibration | None,
    *,
    run_target: str,
    base_target: str,
    machines_differ: str = "",
    bound: float = CALIBRATION_BOUND,
    kind: str = "rtt",
    statistic: str = "p50",
    metric: str = "rtt",
) -> MachineFactor | None:
    """The machine's share between two calibrations (None when either Result has none);
    ``kind``: ``rtt`` for message latencies, ``open`` for upgrade latencies.

    Not judged (raw, and the reason says so) when the two references measured different
    workloads: a probe through the target's proxy, a probe on loopback, or the target's own
    load to the reference path. A loopback and a remote target are calibrated alike.
    ``metric``: which latency (``rtt`` or ``rtt_service``) a same-load reference is read for.
    Same-load references on both sides are always judged scaled: the reference ran the same
    load at the same moments, so even a small factor is the machine's and not noise.
    """
    run_ms, run_source = reference_ms(run, run_target, kind=kind, statistic=statistic, metric=metric)
    base_ms, base_source = reference_ms(base, base_target, kind=kind, statistic=statistic, metric=metric)
    if not run_ms or not base_ms:
        return None
    factor = run_ms / base_ms
    beyond = abs(factor - 1.0) > bound
    paths = (_workload(run, run_target), _workload(base, base_target)) if kind == "rtt" else ("", "")
    comparable = paths[0] == paths[1]
    if not comparable:
        why = (f"the references measured different workloads (run: {_PATH_WORDS[paths[0]]}, "
               f"baseline: {_PATH_WORDS[paths[1]]}; record the baseline again)")
    elif machines_differ:
        why = f"another machine ({machines_differ})"
    elif beyond:
        why = f"calibrations differ by {fmt_change(factor)} (beyond ±{bound:.0%})"
    elif paths[0] == "same-load":
        why = (f"same machine, references within ±{bound:.0%} ({fmt_change(factor)}); scaled all the same: "
               "the same load at the same moments")
    else:
        why = f"same machine, calibrations within ±{bound:.0%} ({fmt_change(factor)})"
    if comparable and run_source != base_source:
        why += f"; run from the {run_source}, baseline from the {base_source}"
    scale = paths[0] == "same-load"
    judged = comparable and (bool(machines_differ) or beyond or scale)
    if scale and statistic not in ("p50", "mean"):
        middle = machine_factor(run, base, run_target=run_target, base_target=base_target, statistic="p50",
                                metric=metric)
        if middle is not None and middle.factor > factor:
            why += (f"; the {statistic} factor ×{factor:.2f} held at the median's ×{middle.factor:.2f} (on a "
                    "quieter machine the reference echo's own tail falls faster than the pods')")
            factor = middle.factor
    return MachineFactor(factor, run_ms - base_ms, judged, why, run_ms, base_ms, scale=scale)


def _workload(calibration: Calibration | None, target: str) -> str:
    return "same-load" if has_same_load(calibration, target) else probe_path(calibration, target)


_PATH_WORDS = {"proxy": "a probe through the target's proxy", "loopback": "a probe on loopback",
               "same-load": "the target's own load to the reference path"}


def fmt_change(ratio: float) -> str:
    """1.23 -> ``+23%`` (kept here so the model's texts need nothing from the gate)."""
    change = (ratio - 1.0) * 100.0
    return f"{'+' if change >= 0 else '−'}{abs(change):.0f}%"


def describe_floor(calibration: Calibration | None) -> str:
    """``this machine adds 0.05 ms p50 / 0.4 ms p99 on its own`` ("" without a calibration)."""
    if calibration is None or calibration.rtt is None:
        return ""
    rtt = calibration.rtt
    text = f"this machine adds {rtt.p50:.3g} ms p50 / {rtt.p99:.3g} ms p99 on its own (rate mode"
    if calibration.rtt_closed is not None:
        text += f"; closed loop {calibration.rtt_closed.p50:.3g} / {calibration.rtt_closed.p99:.3g} ms"
    return text + ")"
