"""A whole run: the scenario's targets or the lab's proxies, with its disruptions.

The one entry point the CLI calls (``wsbench run``); the runner itself only knows
targets, and the disruptor only a plan and a lab.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wsbench.disrupt.plan import LAB_KINDS, Disruption, parse_disruptions
from wsbench.engine.runner import RunOutcome, RunWatcher, run_scenario
from wsbench.errors import ScenarioError, UsageError
from wsbench.scenario import Scenario, Target

if TYPE_CHECKING:  # the disruptor (and the lab it acts on) is imported only by a run that has disruptions
    from wsbench.disrupt.actions import Disruptor

__all__ = ["run", "disruption_plan", "shard_traffic", "TrafficFeed"]


def disruption_plan(scenario: Scenario, extra: tuple[str, ...] = ()) -> tuple[Disruption, ...]:
    """The scenario's ``disruptions`` plus ``extra`` (CLI), validated against the scenario."""
    plan = parse_disruptions([*(scenario.extra.get("disruptions") or []), *extra])
    for key, value in (("interleave", scenario.interleave), ("reference_interleave", scenario.reference_interleave)):
        if plan and value:
            raise ScenarioError(key, "disruptions need one continuous run per target: "
                                     f"drop --{key.replace('_', '-')} or the disruptions")
    for disruption in plan:
        if disruption.at_s >= scenario.duration:
            raise ScenarioError("disruptions", f"{disruption.describe()} is at or after the end of "
                                               f"the run ({scenario.duration:g} s)")
        if disruption.kind in LAB_KINDS and not scenario.extra.get("lab"):
            raise ScenarioError("disruptions", f"{disruption.kind} acts on the lab's pods and proxies: "
                                               "add --lab (or use exec@TIME:COMMAND, e.g. kubectl)")
    return plan


def run(
    scenario: Scenario,
    *,
    disruptions: tuple[str, ...] = (),
    lab_tls: bool = False,
    lab_name: str | None = None,
    pin: bool = True,
    cost_from: Any = None,
    say: Callable[[str], None] = lambda _: None,
    watcher: RunWatcher | None = None,
) -> RunOutcome:
    """Run ``scenario`` (through the lab when it names one), injecting its disruptions;
    ``watcher`` follows it (live metrics). Through the lab, ``pin`` puts the generator's
    workers and the lab's processes on separate cores (where the machine has two or more);
    ``cost_from`` (a :class:`wsbench.cost.prometheus.PrometheusSource`) reads each target's
    ``proxy_cost`` from Prometheus instead of the lab's ``/proc``."""
    plan = disruption_plan(scenario, disruptions)
    if plan:  # the Result's scenario says what was injected, wherever it came from
        scenario = replace(scenario, extra={**scenario.extra, "disruptions": [d.describe() for d in plan]})
    lab_names = scenario.extra.get("lab")
    if scenario.reference_interleave and not lab_names:
        raise ScenarioError("reference_interleave", "the reference path is a lab proxy's /wsbench-reference: "
                                                    "add --lab (or drop --reference-interleave)")
    if not lab_names:
        factory = _factory(plan, lab=None) if plan else None
        observer_for = _prometheus_cost(cost_from) if cost_from is not None else None
        return run_scenario(scenario, progress=say, disruptor_for=factory, watcher=watcher,
                            observer_for=observer_for)
    from wsbench.lab.for_run import lab_targets, parse_lab_names

    names = parse_lab_names(lab_names)
    if scenario.targets:
        raise UsageError("lab: give either --lab or targets (--url/--target), not both")
    netns = any(d.kind == "network-cut" for d in plan)
    from wsbench.cost.pinning import Pinning
    from wsbench.lab.supervisor import Supervisor, tell_events

    with lab_targets(names, tls=lab_tls, netns=netns, lab_name=lab_name, say=say) as lab, \
            Supervisor(lab.lab, on_event=tell_events(say)) as supervisor:
        pinning = Pinning.apply_to_lab(lab.lab, names) if pin else Pinning(note="not pinned (--no-pin)")
        try:
            if pinning.generator:
                say(f"pinned: {pinning.describe()['note']}")
                if not scenario.processes:
                    scenario = replace(scenario, processes=len(pinning.generator))
            scenario = replace(
                scenario,
                targets=lab.targets(),
                ca_file=lab.ca_file if lab_tls and not scenario.insecure else scenario.ca_file,
            )
            cost = _prometheus_cost(cost_from) if cost_from is not None else _proxy_cost(lab.lab, pinning.lab or None)
            return run_scenario(scenario, progress=say,
                                sections={"lab": lab.fingerprint, "pinning": pinning.describe()},
                                disruptor_for=_factory(plan, lab=lab.lab, supervisor=supervisor),
                                observer_for=_observers(cost, supervisor),
                                watcher=TrafficFeed(supervisor, watcher))
        finally:
            pinning.undo()


def shard_traffic(shard_dir: Path) -> int:
    """Upgrades + echoes the target's workers have counted so far (their shards, rewritten
    every second): grows while the path through the proxy works."""
    total = 0
    for path in shard_dir.glob("worker-*.json"):
        try:
            shard = json.loads(path.read_text())
        except (OSError, ValueError):  # being replaced: the next read has it
            continue
        total += int(shard["sessions"]["opened"]) + int(shard["messages"]["received"])
    return total


class TrafficFeed:
    """A run watcher that tells the lab supervisor how much of the run got through each
    proxy (its liveness evidence: busy, not hung), then passes everything on to ``inner``."""

    def __init__(self, supervisor: Any, inner: RunWatcher | None = None) -> None:
        self.supervisor = supervisor
        self.inner = inner

    def target_started(self, target: str, shard_dir: Path) -> None:
        self.supervisor.follow_traffic(f"proxy {target}", lambda: shard_traffic(shard_dir))
        if self.inner is not None:
            self.inner.target_started(target, shard_dir)

    def event(self, target: str, kind: str, fields: dict[str, Any]) -> None:
        if self.inner is not None:
            self.inner.event(target, kind, fields)

    def target_finished(self, target: str, shards: list[dict[str, Any]]) -> None:
        self.supervisor.follow_traffic(f"proxy {target}", None)
        if self.inner is not None:
            self.inner.target_finished(target, shards)


class _Both:
    """Several runner observers as one (each one's ``finish`` adds its own keys)."""

    def __init__(self, *observers: Any) -> None:
        self.observers = observers

    def begin(self) -> None:
        for observer in self.observers:
            observer.begin()

    def start(self, start_ns: int) -> None:
        for observer in self.observers:
            observer.start(start_ns)

    def finish(self, target: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for observer in self.observers:
            out.update(observer.finish(target))
        return out


def _observers(cost: Callable[[Target], Any], supervisor: Any) -> Callable[[Target], Any]:
    """Each lab target's proxy cost, the machine's load and ``infrastructure`` (what the
    supervisor saw)."""
    from wsbench.cost.machine import MachineLoadObserver
    from wsbench.lab.supervisor import TargetWatch

    return lambda target: _Both(cost(target), MachineLoadObserver(), TargetWatch(supervisor, target.name))


def _proxy_cost(lab: Any, cores: list[int] | None) -> Callable[[Target], Any]:
    """Each lab target's proxy cost (``proxy_cost`` in its Result entry), from /proc."""
    from wsbench.cost.observe import ProxyCostObserver

    def make(target: Target) -> ProxyCostObserver:
        return ProxyCostObserver(target.name, lab.proxy(target.name).pid, cores=cores)

    return make


def _prometheus_cost(source: Any) -> Callable[[Target], Any]:
    """Each target's ``proxy_cost`` from Prometheus (a real cluster's controller pods)."""
    from wsbench.cost.prometheus import PrometheusCostObserver

    return lambda target: PrometheusCostObserver(target.name, source)


def _factory(plan: tuple[Disruption, ...], *, lab: Any, supervisor: Any = None
             ) -> Callable[[Target, Callable[..., None]], Disruptor]:
    from wsbench.disrupt.actions import Disruptor

    def make(target: Target, event: Callable[..., None]) -> Disruptor:
        return Disruptor(plan, lab=lab, proxy=target.name, event=event, supervisor=supervisor)

    return make
