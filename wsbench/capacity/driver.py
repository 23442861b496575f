"""``wsbench capacity``: the search, run as real steps (one ``wsbench run`` each) per target.

For each target the search (:mod:`wsbench.capacity.search`) yields a load; the step runs
it through the engine (:func:`wsbench.engine.runner.run_scenario`, one Result per step
under ``steps/``), the SLO judges that Result (:func:`wsbench.capacity.steps.judge_step`)
and the verdict goes back to the search. A step whose load generator saturated ends the
target's search: the figure would be wsbench's, not the target's. Through the lab, the
generator and the proxies are pinned to separate cores where the machine has two or more,
and each step records the proxy's cost.
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from wsbench import __version__
from wsbench.capacity.result import CAPACITY_SCHEMA, UNITS, step_point, target_capacity
from wsbench.capacity.search import SearchOutcome, SearchPlan, capacity_search
from wsbench.capacity.shards import ShardExchange
from wsbench.capacity.steps import Over, judge_step, step_scenario
from wsbench.cost.machine import cpu_times, machine_busy
from wsbench.engine.runner import new_run_id, run_scenario
from wsbench.errors import LocalError, UsageError
from wsbench.files import write_json_atomic
from wsbench.gate.expr import parse_threshold
from wsbench.scenario import Scenario, Target

__all__ = ["CapacityOptions", "CapacityRun", "run_capacity"]

Say = Callable[[str], None]


@dataclass(frozen=True)
class CapacityOptions:
    """What to search over and how (see ``wsbench capacity --help``)."""

    over: Over
    plan: SearchPlan
    hold_s: float
    slos: tuple[str, ...]
    lab: tuple[str, ...] = ()
    lab_tls: bool = False
    pin: bool = True
    shard_dir: str | None = None


@dataclass
class CapacityRun:
    """Where the capacity Result is and what it says."""

    run_dir: Path
    capacity: dict[str, Any]
    interrupted: bool = False

    @property
    def capacity_path(self) -> Path:
        return self.run_dir / "capacity.json"


def run_capacity(base: Scenario, options: CapacityOptions, *, say: Say = lambda _: None) -> CapacityRun:
    """Search every target's capacity; write ``capacity.json`` (and one Result per step)."""
    slos = [parse_threshold(text) for text in options.slos]  # bad expressions fail first
    if not slos:
        raise UsageError("capacity: give at least one --slo, e.g. --slo 'rtt.p99 < 50ms'")
    run_dir = Path(base.out) / new_run_id(f"{base.name}-capacity")
    try:
        (run_dir / "steps").mkdir(parents=True)
    except OSError as exc:
        raise LocalError(f"cannot create the output folder {run_dir}: {exc.strerror}") from exc
    exchange = None
    if base.shard is not None:
        if options.shard_dir is None:
            raise UsageError("capacity --shard needs --shard-dir (a folder every shard can read and write)")
        exchange = ShardExchange(Path(options.shard_dir), *base.shard, say=say)
    capacity: dict[str, Any] = {
        "schema": CAPACITY_SCHEMA,
        "run_id": run_dir.name,
        "started_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "complete": False,
        "wsbench_version": __version__,
        "over": options.over,
        "unit": UNITS[options.over],
        "slo": [slo.source for slo in slos],
        "plan": {"start": options.plan.start, "factor": options.plan.factor, "maximum": options.plan.maximum,
                 "precision": options.plan.precision, "max_steps": options.plan.max_steps,
                 "bound": options.plan.bound()},
        "hold_s": options.hold_s,
        "scenario": base.redacted(),
        **({"shard": {"index": base.shard[0], "count": base.shard[1]}} if base.shard else {}),
        "pinning": {"pinned": False, "note": "not through the lab: nothing to pin apart"},
        "targets": {},
    }
    started = time.monotonic()
    interrupted = False
    with ExitStack() as stack:
        targets, lab, sections = _targets(base, options, stack, say)
        observer_for = None
        if lab is not None:
            from wsbench.cost.observe import ProxyCostObserver
            from wsbench.cost.pinning import Pinning

            pinning = None
            if options.pin:
                pinning = Pinning.apply_to_lab(lab, options.lab)
                stack.callback(pinning.undo)
                capacity["pinning"] = pinning.describe()
                if pinning.generator and not base.processes:
                    base = replace(base, processes=len(pinning.generator))
            cores = pinning.lab if pinning is not None and pinning.lab else None

            def observer_for(target: Target) -> ProxyCostObserver:
                return ProxyCostObserver(target.name, lab.proxy(target.name).pid, cores=cores)

        for target in targets:
            say(f"[{target.name}] capacity over {options.over}: start {options.plan.start:g}, "
                f"x{options.plan.factor:g}, max {options.plan.maximum:g}, at most {options.plan.bound()} steps")
            entry, interrupted = _search_target(base, target, options, slos, run_dir, sections, observer_for,
                                                exchange, say)
            capacity["targets"][target.name] = entry
            capacity["duration_s"] = round(time.monotonic() - started, 3)
            write_json_atomic(run_dir / "capacity.json", capacity)
            say(f"[{target.name}] {entry['summary']}")
            if interrupted:
                break
    capacity["complete"] = not interrupted and len(capacity["targets"]) == len(targets)
    capacity["duration_s"] = round(time.monotonic() - started, 3)
    write_json_atomic(run_dir / "capacity.json", capacity)
    return CapacityRun(run_dir, capacity, interrupted)


def _targets(base: Scenario, options: CapacityOptions, stack: ExitStack,
             say: Say) -> tuple[tuple[Target, ...], Any, dict[str, Any]]:
    """The targets (the lab's proxies when asked, brought up for the search if needed)."""
    if not options.lab:
        return base.targets, None, {}
    if base.targets:
        raise UsageError("capacity: give either --lab or targets (--url/--target), not both")
    from wsbench.lab.for_run import lab_targets

    found = stack.enter_context(lab_targets(options.lab, tls=options.lab_tls, say=say))
    targets = found.targets()
    return targets, found.lab, {"lab": found.fingerprint, "_ca_file": found.ca_file}


def _search_target(
    base: Scenario,
    target: Target,
    options: CapacityOptions,
    slos: list[Any],
    run_dir: Path,
    sections: dict[str, Any],
    observer_for: Any,
    exchange: ShardExchange | None,
    say: Say,
) -> tuple[dict[str, Any], bool]:
    """One target's search: (its capacity entry, whether the run was interrupted)."""
    ca_file = sections.get("_ca_file")
    extra_sections = {k: v for k, v in sections.items() if not k.startswith("_")}
    scenario = replace(base, targets=(target,), out=str(run_dir / "steps"),
                       ca_file=ca_file if options.lab_tls and ca_file and not base.insecure else base.ca_file)
    search = capacity_search(options.plan)
    curve: list[dict[str, Any]] = []
    outcome: SearchOutcome | None = None
    stopped = None
    load = next(search)
    while True:
        step = len(curve)
        step_id = f"{target.name}-step{step:02d}-{load:g}"
        say(f"[{target.name}] step {step + 1}: {load:g} {UNITS[options.over]}")
        step_scn = step_scenario(scenario, options.over, load, hold_s=options.hold_s)
        if exchange is not None:
            exchange.rendezvous(f"{target.name}-{step:02d}")
        before = cpu_times()
        ran = run_scenario(step_scn, progress=say, run_id=step_id,
                           sections={**extra_sections, "capacity_step": {"over": options.over, "load": load,
                                                                          "step": step}},
                           observer_for=observer_for)
        busy = machine_busy(before, cpu_times())
        result = ran.result
        if exchange is not None:
            result = exchange.merged(f"{target.name}-{step:02d}", result, timeout_s=step_scn.duration + 120)
        verdict = judge_step(result, slos)
        cost = (result["targets"].get(target.name) or {}).get("proxy_cost")
        curve.append(step_point(load, verdict, run_id=ran.run_dir.name,
                                result_path=str(ran.result_path.relative_to(run_dir)),
                                machine_cpu_percent=busy,
                                proxy_cost={k: cost.get(k) for k in ("cpu_us_per_message", "cpu_us_per_upgrade",
                                                                     "kib_per_session", "cpu_s")} if cost else None))
        shown = ", ".join(f"{r.slo}: {r.shown}" for r in verdict.readings)
        say(f"[{target.name}] step {step + 1}: {load:g} -> {'pass' if verdict.passed else 'FAIL'} ({shown})"
            + (" [generator saturated]" if verdict.saturated else ""))
        if ran.interrupted:
            stopped = "interrupted"
            search.close()
            break
        if verdict.saturated:
            stopped = "generator-limit"
            search.close()
            break
        try:
            load = search.send(verdict.passed and verdict.complete)
        except StopIteration as stop:
            outcome = stop.value
            break
    entry = target_capacity(over=options.over, plan=options.plan, curve=curve, outcome=outcome, stopped=stopped)
    return entry, stopped == "interrupted"
