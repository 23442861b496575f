"""The ranked verdict across controllers: who did best on what a platform engineer weighs. Pure.

Targets (controllers) are ordered on measures taken in this order of weight, lower is better:

1. for each disruption they all went through (same kind, pod and second): sessions dropped,
   messages lost, upgrades that failed during it (5xx, refused, ...), recovery p99;
2. upgrades that failed outside any disruption (a user-visible error weighs more than speed);
3. upgrade p99, then RTT p99;
4. sessions dropped outside any disruption (an idle timeout shows here).

On each measure a target is *worse* only when it differs from the best target both
**practically** and **statistically**:

* practically: not under the floor (:class:`Floor`, default: a difference under 5 % or
  under 0.1 ms is the same, whatever the statistics say);
* statistically: latencies by a bootstrap of the ratio's interval (95 %) — a **block
  bootstrap over time** (:mod:`wsbench.result.blocks`) for RTT, since samples close in
  time are not independent; upgrade and recovery times are one per connection, resampled
  singly; a tail needs samples: p99 is judged from 1000 samples, p90 from 100, else the
  median (the p99 of 30 recovery times is their maximum); counts by a Poisson bound
  (|a − b| > 2·√(a + b)).

The order is lexicographic over the measures (the first measure on which targets differ
decides). Targets that never worked (:func:`wsbench.result.diagnosis.diagnose`) come last
with their diagnosis; a target whose lab broke is not judged at all. Every line says why in
figures ("traefik: 9 × HTTP 502 during pod-restart@5s (nginx: none); recovery p99 782 ms vs
126 ms").
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from wsbench.errors import UsageError
from wsbench.result import fmt
from wsbench.result.blocks import block_histograms, block_samples
from wsbench.result.diagnosis import diagnose, failure_text
from wsbench.result.distribution import Distribution, HdrDecodeError, distribution_of
from wsbench.result.infrastructure import lab_failed
from wsbench.result.model import Disruption, Result, TargetResult
from wsbench.result.shards import SATURATION_LAG_MS
from wsbench.result.stats import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    bootstrap_statistics,
    compare,
)
from wsbench.result.summary import Summary

__all__ = [
    "Floor", "Finding", "Placing", "Ranking", "rank_targets", "disruption_name", "generator_lag", "machine_noise",
    "rank_result"]


def rank_result(result: Result, *, floor: Floor | None = None, resamples: int = DEFAULT_RESAMPLES) -> Ranking:
    """The ranked verdict of one Result's targets (its generator's lag per target included)."""
    lags = {str(n): lag for n in result.targets if (lag := generator_lag(result, str(n))) is not None}
    return rank_targets([(str(n), t) for n, t in result.targets.items()], floor=floor, resamples=resamples,
                        generator_lag_ms=lags)

Standing = Literal["best", "same", "worse"]
_FLOOR = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*(?:[,/ ]\s*(\d+(?:\.\d+)?)\s*ms)?\s*$")


@dataclass(frozen=True)
class Floor:
    """The practical floor: differences under ``percent`` % or under ``ms`` are the same."""

    percent: float = 5.0
    ms: float = 0.1

    @classmethod
    def parse(cls, text: str) -> Floor:
        """``"5%"``, ``"5%,0.1ms"``; UsageError otherwise."""
        match = _FLOOR.match(text)
        if match is None:
            raise UsageError(f"bad practical floor {text!r}: write it as 5% or 5%,0.1ms")
        return cls(float(match.group(1)), float(match.group(2)) if match.group(2) else cls.ms)

    def under(self, a: float, b: float, *, latency: bool) -> bool:
        """Whether ``a`` and ``b`` differ by less than the floor."""
        low, high = sorted((abs(a), abs(b)))
        if latency and high - low < self.ms:
            return True
        return high == low or (low > 0 and (high - low) / low * 100.0 < self.percent) or (
            not latency and (high - low) / high * 100.0 < self.percent)

    def __str__(self) -> str:
        return f"{self.percent:g} % or {self.ms:g} ms"


@dataclass(frozen=True)
class Finding:
    """One measure of one target: its value, how it stands against the best, and why."""

    measure: str
    value: float
    standing: Standing
    text: str  # e.g. "9 × HTTP 502 during pod-restart@5s (nginx: none)"


@dataclass(frozen=True)
class Placing:
    """One target's place: its rank (1 is best; equal ranks are the same), and why."""

    label: str
    rank: int
    findings: tuple[Finding, ...] = ()
    note: str = ""  # "never worked: ...", "not judged: the lab failed"

    @property
    def worse(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.standing == "worse")

    @property
    def line(self) -> str:
        """``traefik: 9 × HTTP 502 during pod-restart@5s (nginx: none); recovery p99 …``."""
        if self.note:
            return f"{self.label}: {self.note}"
        if self.worse:
            return f"{self.label}: " + "; ".join(f.text for f in self.worse[:4])
        ahead = [f.text for f in self.findings if f.standing == "best"]
        if ahead:
            return f"{self.label}: best — " + "; ".join(ahead[:3])
        return f"{self.label}: the same as the best on every measure"


@dataclass(frozen=True)
class Ranking:
    """The ranked verdict: placings best first, the measures used and how."""

    placings: tuple[Placing, ...]
    measures: tuple[str, ...]
    floor: Floor
    notes: tuple[str, ...] = ()

    @property
    def same(self) -> bool:
        """Every judged target the same as the best on every measure."""
        judged = [p for p in self.placings if not p.note]
        return len(judged) >= 2 and all(p.rank == 1 for p in judged)

    @property
    def headline(self) -> str:
        judged = [p for p in self.placings if not p.note]
        if len(self.placings) < 2:
            return "nothing to rank (one target)"
        if self.same:
            return f"same: {', '.join(p.label for p in judged)} — no difference above {self.floor} or the noise"
        first = [p.label for p in judged if p.rank == 1]
        last = self.placings[-1]
        return f"{' = '.join(first)} first; {last.label} last ({last.line.split(': ', 1)[1]})"

    def lines(self) -> list[str]:
        """The verdict as text, one line per target, best first."""
        out = [f"verdict: {self.headline}"]
        for placing in self.placings:
            out.append(f"  {placing.rank if not placing.note else '–'}. {placing.line}")
        out.append(f"  (lower is better; differences under {self.floor}, or within the noise, count as the same)")
        out += [f"  note: {note}" for note in self.notes]
        return out


# --- measures -----------------------------------------------------------------------------


def disruption_name(item: Disruption) -> str:
    """``pod-restart@5s:pod-1``."""
    at = f"@{round(item.at_s, 1):g}s" if item.at_s is not None else ""
    return f"{item.kind or 'disruption'}{at}" + (f":{item.pod}" if item.pod else "")


def _disruption_key(item: Disruption) -> tuple[str, str, int]:
    return (item.kind or "", item.pod or "", int(round(item.at_s or 0.0)))


def _failures(item: Disruption) -> dict[str, int]:
    found = item.extra.get("upgrade_failures")
    return {str(k): int(v) for k, v in found.items() if isinstance(v, int | float) and v} if isinstance(found, dict) else {}


@dataclass(frozen=True)
class _Latency:
    summary: Summary | None
    blocks: tuple[str, ...] = ()

    def distribution(self) -> Distribution | None:
        try:
            dist = distribution_of(self.summary)
        except HdrDecodeError:
            return None
        return dist if dist is not None and dist.total else None


@dataclass(frozen=True)
class _Measure:
    name: str  # "failed upgrades during pod-restart@5s"
    kind: Literal["count", "latency"]
    counts: dict[str, float]
    latencies: dict[str, _Latency]
    detail: dict[str, str]  # a count's breakdown per target ("9 × HTTP 502")
    noun: str  # "failed upgrades", "recovery p99"
    where: str = ""  # "during pod-restart@5s:pod-1"
    blocks: bool = False  # latencies: a block bootstrap over time (else one sample per session)

    def named(self, noun: str) -> _Measure:
        """The same measure under another noun (``recovery p50`` when too few for p99)."""
        return replace(self, noun=noun, name=self.name.replace(self.noun, noun))

    def say(self, label: str, value: float) -> str:
        """``9 × HTTP 502 during pod-restart@5s``, ``no failed upgrades during …``, ``RTT p99 1.2 ms``."""
        where = f" {self.where}" if self.where else ""
        if self.kind == "latency":
            return f"{self.noun} {fmt.ms(value)}{where}"
        if not value:
            return f"no {self.noun}{where}"
        return f"{self.detail.get(label) or fmt.count(value) + ' ' + self.noun}{where}"


def _measures(entries: Sequence[tuple[str, TargetResult]]) -> list[_Measure]:
    out: list[_Measure] = []
    by_key: dict[tuple[str, str, int], dict[str, Disruption]] = {}
    for label, target in entries:
        for item in target.disruption_list:
            by_key.setdefault(_disruption_key(item), {})[label] = item
    shared = [key for key, found in by_key.items() if len(found) == len(entries)]
    inside_failures = {label: 0 for label, _ in entries}
    inside_drops = {label: 0 for label, _ in entries}
    for key in sorted(shared, key=lambda k: (k[2], k[0], k[1])):
        found = by_key[key]
        name = disruption_name(next(iter(found.values())))
        dropped = {label: float(item.sessions_dropped or 0) for label, item in found.items()}
        lost = {label: float(item.messages_lost or 0) for label, item in found.items()}
        failures = {label: _failures(item) for label, item in found.items()}
        for label in found:
            inside_failures[label] += sum(failures[label].values())
            inside_drops[label] += int(dropped[label])
        out.append(_Measure(f"sessions dropped in {name}", "count", dropped, {}, {}, "sessions dropped", f"in {name}"))
        out.append(_Measure(f"messages lost in {name}", "count", lost, {}, {}, "messages lost", f"in {name}"))
        detail = {label: ", ".join(failure_text(k, v) for k, v in sorted(f.items(), key=lambda i: -i[1]))
                  for label, f in failures.items()}
        out.append(_Measure(f"failed upgrades during {name}", "count",
                            {label: float(sum(f.values())) for label, f in failures.items()}, {}, detail,
                            "failed upgrades", f"during {name}"))
        out.append(_Measure(f"recovery p99 after {name}", "latency", {},
                            {label: _Latency(item.recovery) for label, item in found.items()}, {},
                            "recovery p99", f"after {name}"))
    outside = {label: float(max(0, sum(int(v) for v in dict(t.upgrade_failures or {}).values()) - inside_failures[label]))
               for label, t in entries}
    detail = {}
    for label, target in entries:
        if not target.disruption_list:
            detail[label] = ", ".join(failure_text(k, int(v)) for k, v in sorted(
                (target.upgrade_failures or {}).items(), key=lambda i: -i[1]) if v)
    out.append(_Measure("failed upgrades", "count", outside, {}, detail, "failed upgrades",
                        "outside disruptions" if shared else ""))
    # upgrades are separate connections: one sample each; RTT samples are tied in time: blocks
    out.append(_Measure("upgrade p99", "latency", {}, {
        label: _Latency(t.summary(("upgrade", "total"))) for label, t in entries}, {}, "upgrade p99"))
    out.append(_Measure("RTT p99", "latency", {}, {
        label: _Latency(t.rtt, tuple(block_histograms(t.extra, ("rtt",)))) for label, t in entries}, {},
        "RTT p99", blocks=True))
    drops = {label: float(max(0, t.session_counts.dropped - inside_drops[label])) for label, t in entries}
    out.append(_Measure("sessions dropped", "count", drops, {}, {}, "sessions dropped",
                        "outside disruptions" if shared else "(idle timeouts, resets)"))
    return out


# --- judging one measure ------------------------------------------------------------------------


def _poisson_same(a: float, b: float) -> bool:
    return abs(a - b) <= 2.0 * math.sqrt(a + b)


def _statistic_for(samples: int) -> str:
    """The highest percentile a bootstrap can judge with ``samples`` values (about ten beyond
    it): p99 from 1000 samples, p90 from 100, else the median — the tail of 30 recovery times
    is their maximum, whose bootstrap interval means nothing."""
    return "p99" if samples >= 1000 else "p90" if samples >= 100 else "p50"


def _samples(measure: _Measure, label: str, dist: Distribution, resamples: int,
             method: list[str], statistic: str = "p99") -> np.ndarray | None:
    """The resampled statistic (µs): by blocks of time when the measure asks for it and the
    target has them (None: too short to tell), else one sample per session."""
    seed = zlib.crc32(label.encode())
    latency = measure.latencies[label]
    if measure.blocks and latency.blocks:
        method.append("block")
        return block_samples(latency.blocks, statistic, resamples=resamples, seed=seed)
    method.append("single")
    return bootstrap_statistics(dist, [statistic], resamples=resamples, seed=seed)[statistic]


def _judge_latency(measure: _Measure, floor: Floor, resamples: int, confidence: float,
                   notes: list[str], lagging: Mapping[str, float],
                   noise_ms: Mapping[str, float] | None = None) -> tuple[_Measure, dict[str, tuple[float, Standing, str]]]:
    found = {label: d for label, lat in measure.latencies.items() if (d := lat.distribution()) is not None}
    dists = {label: d for label, d in found.items() if label not in lagging}
    unjudged: dict[str, tuple[float, Standing, str]] = {
        label: (found[label].value_at_percentile(99.0) / 1000.0, "same",
                f"not judged: the load generator lagged {lagging[label]:.0f} ms p99 while measuring it")
        for label in found if label in lagging}
    if not dists:
        return measure, unjudged
    statistic = _statistic_for(min(dist.total for dist in dists.values()))
    percentile = {"p99": 99.0, "p90": 90.0, "p50": 50.0}[statistic]
    values = {label: dist.value_at_percentile(percentile) / 1000.0 for label, dist in dists.items()}
    best = min(values, key=lambda label: values[label])
    method: list[str] = []
    samples = {label: _samples(measure, label, dists[label], resamples, method, statistic) for label in dists}
    if statistic != "p99":
        measure = measure.named(f"{measure.noun.replace('p99', statistic)}")
    if measure.blocks and "single" in method:
        notes.append(f"{measure.name}: no time blocks in some Result (older, or merged): one-sample-at-a-time "
                     "bootstrap there, whose intervals are too narrow")
    standings: dict[str, tuple[float, Standing, str]] = {}
    for label, value in values.items():
        if label == best:
            standings[label] = (value, "best", "")
            continue
        if floor.under(value, values[best], latency=True):
            standings[label] = (value, "same", f"under the floor ({fmt.ms(value)} vs {fmt.ms(values[best])})")
            continue
        noise = max((n for n in ((noise_ms or {}).get(label), (noise_ms or {}).get(best)) if n is not None),
                    default=None)
        if statistic == "p99" and noise is not None and value - values[best] < noise:
            standings[label] = (value, "same", f"under the machine's own p99 while they ran ({fmt.ms(value)} vs "
                                               f"{fmt.ms(values[best])}; the probe saw {fmt.ms(noise)})")
            continue
        mine, theirs = samples[label], samples[best]
        if mine is None or theirs is None:
            standings[label] = (value, "same", "too short to tell: its seconds are too correlated for a block bootstrap")
            continue
        estimate = compare(dists[label], dists[best], statistic, confidence=confidence, a_samples=mine,
                           b_samples=theirs)
        if not estimate.significant:
            ratio = estimate.ratio
            standings[label] = (value, "same", f"within noise ({fmt.ratio(ratio.point)} [{ratio.low:.2f}–{ratio.high:.2f}])")
        else:
            standings[label] = (value, "worse", f"{fmt.ratio(estimate.ratio.point)} [{estimate.ratio.low:.2f}–"
                                                f"{estimate.ratio.high:.2f}]")
    return measure, {**standings, **unjudged}


def _judge_count(measure: _Measure, floor: Floor) -> dict[str, tuple[float, Standing, str]]:
    values = measure.counts
    if not values:
        return {}
    best = min(values, key=lambda label: values[label])
    out: dict[str, tuple[float, Standing, str]] = {}
    for label, value in values.items():
        if label == best:
            out[label] = (value, "best", "")
        elif floor.under(value, values[best], latency=False) or _poisson_same(value, values[best]):
            out[label] = (value, "same", "within noise")
        else:
            out[label] = (value, "worse", "")
    return out


def _shown(measure: _Measure, label: str, value: float) -> str:
    if measure.kind == "latency":
        return fmt.ms(value)
    return measure.detail.get(label) or fmt.count(value)


def _texts(measure: _Measure, standings: dict[str, tuple[float, Standing, str]]) -> dict[str, str]:
    """Why each target stands where it does on ``measure``, in figures."""
    others_ok = [label for label, (_v, standing, _w) in standings.items() if standing != "worse"]
    out: dict[str, str] = {}
    for label, (value, standing, why) in standings.items():
        own = measure.say(label, value)
        if standing == "worse":
            reference = sorted(standings[o][0] for o in others_ok)
            if measure.kind == "latency":
                span = fmt.ms(reference[0]) if len(reference) == 1 or fmt.ms(reference[0]) == fmt.ms(reference[-1]) \
                    else f"{fmt.ms(reference[0])}–{fmt.ms(reference[-1])}"
                own += f" vs {span} ({why})" if why else f" vs {span}"
            else:
                best_text = ", ".join(f"{o}: {_shown(measure, o, standings[o][0]) if standings[o][0] else 'none'}"
                                      for o in others_ok[:2])
                own += f" ({best_text})"
        out[label] = own
    return out


def rank_targets(
    entries: Sequence[tuple[str, TargetResult]],
    *,
    floor: Floor | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    generator_lag_ms: Mapping[str, float] | None = None,
    machine_noise_ms: Mapping[str, float] | None = None,
) -> Ranking:
    """Rank ``(label, target)`` pairs (labels unique); see the module's docstring.

    ``machine_noise_ms``: per target, the RTT p99 the machine gave a fixed reference workload
    while that target ran (:func:`machine_noise`, the calibration probe). Two targets whose
    RTT p99 differ by less than the larger of theirs are "same": the machine's own tail, not
    the targets' (two runs of one controller at different times differ by that much).

    ``generator_lag_ms``: the loop-lag p99 of the workers that measured each target
    (:func:`generator_lag`); a target measured by a generator lagging more than
    SATURATION_LAG_MS has its latencies left unjudged (they are the generator's), not its counts.
    """
    floor = floor or Floor()
    lagging = {label: lag for label, lag in (generator_lag_ms or {}).items() if lag > SATURATION_LAG_MS}
    broken = [(label, "not judged: the lab failed while it ran (not the controller's doing)")
              for label, target in entries if lab_failed(target)]
    dead = [(label, f"never worked: {line}") for label, target in entries
            if not lab_failed(target) and (line := diagnose(target)) is not None]
    excluded = {label for label, _ in broken + dead}
    judged = [(label, target) for label, target in entries if label not in excluded]
    notes: list[str] = []
    measures = _measures(judged) if len(judged) >= 2 else []
    findings: dict[str, list[Finding]] = {label: [] for label, _ in judged}
    keys: dict[str, list[float]] = {label: [] for label, _ in judged}
    used: list[str] = []
    for measure in measures:
        if measure.kind == "latency":
            measure, standings = _judge_latency(measure, floor, resamples, confidence, notes, lagging,
                                                machine_noise_ms if measure.noun == "RTT p99" else None)
        else:
            standings = _judge_count(measure, floor)
        if len(standings) < len(judged):
            continue  # not every target has it: it cannot order them
        used.append(measure.name)
        differs = any(standing == "worse" for _v, standing, _w in standings.values())
        texts = _texts(measure, standings)
        for label, (value, standing, _why) in standings.items():
            keys[label].append(value if standing == "worse" else 0.0)
            if differs or standing == "worse":
                findings[label].append(Finding(measure.name, value, standing, texts[label]))
    order = sorted(judged, key=lambda entry: keys[entry[0]])
    placings: list[Placing] = []
    rank = 0
    previous: list[float] | None = None
    for position, (label, _target) in enumerate(order, start=1):
        if keys[label] != previous:
            rank, previous = position, keys[label]
        placings.append(Placing(label, rank, tuple(findings[label])))
    last = len(placings)
    placings += [Placing(label, last + 1, (), note) for label, note in dead]
    placings += [Placing(label, last + 1 + len(dead), (), note) for label, note in broken]
    notes += [f"{label}: latencies not judged — the load generator's event loop lagged {lag:.0f} ms p99 while "
              "measuring it (they are the generator's figures)" for label, lag in lagging.items()]
    return Ranking(tuple(placings), tuple(used), floor, tuple(dict.fromkeys(notes)))


def machine_noise(result: Result, target: str) -> float | None:
    """The calibration probe's RTT p99 (ms) while ``target`` ran: the machine's own tail then."""
    calibration = result.generator.calibration if result.generator is not None else None
    during = (calibration.during or {}).get(target) if calibration is not None else None
    value = getattr(during, "p99", None) if during is not None else None
    return float(value) if isinstance(value, int | float) else None


def generator_lag(result: Result, target: str) -> float | None:
    """The highest loop-lag p99 (ms) of the workers that measured ``target`` in ``result``."""
    workers = result.generator.workers if result.generator is not None else None
    lags = [float(w["loop_lag_ms_p99"]) for w in workers or ()
            if w.get("target") == target and isinstance(w.get("loop_lag_ms_p99"), int | float)]
    return max(lags) if lags else None
