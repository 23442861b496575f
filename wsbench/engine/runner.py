"""The runner: targets one after the other, each driven by N worker processes.

Data flows one way: workers write shards and events; the runner merges the shards
into the Result (exact histogram merge) and rewrites ``result.json`` after every
target, so an interrupted or crashed run still leaves everything it measured.

A sharded run (``scenario.shard = (I, N)``, ``wsbench run --shard I/N``) runs only the
global sessions ``i % N == I``, split over its workers as usual. Sessions keep their
global numbers, so their start times (``i / ramp``: together the N shards open at the
scenario's ramp), source addresses and events are those of the unsharded run; worker
``w`` of shard I is numbered ``w * N + I``, unique across the shards. ``wsbench merge``
(:mod:`wsbench.result.runs`) puts the N Results back together.

Each target of the Result is built in one call (:func:`wsbench.result.shards.target_from_shards`:
the one target merge of :mod:`wsbench.result`); the file is written by
:func:`wsbench.files.write_json_atomic`.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import multiprocessing as mp
import os
import queue
import secrets
import signal
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from wsbench import __version__
from wsbench.engine.contracts import ConnectSettings
from wsbench.engine.entry import worker_entry
from wsbench.engine.machine import crowded_sources, ephemeral_ports, machine_facts
from wsbench.engine.spec import WorkerSpec
from wsbench.errors import LocalError, ScenarioError
from wsbench.files import write_json_atomic
from wsbench.metrics.histogram import Histogram
from wsbench.result.calibration import Calibration
from wsbench.result.model import Result, ShardOf, TargetResult
from wsbench.result.shards import generator_from_shards, target_from_shards
from wsbench.result.summary import Summary
from wsbench.scenario import Scenario, Target, redact_url

if TYPE_CHECKING:  # the lab and its disruptions are imported by the runs that have them
    from wsbench.disrupt.actions import Disruptor

__all__ = [
    "RunOutcome",
    "RunWatcher",
    "run_scenario",
    "default_processes",
    "own_sessions",
    "new_run_id",
    "safe_name",
    "load_shard",
    "turns",
]

ProgressFn = Callable[[str], None]


class RunWatcher(Protocol):
    """Follows a whole run as it goes (e.g. :class:`wsbench.live.LiveMetrics`), told by the runner."""

    def target_started(self, target: str, shard_dir: Path) -> None: ...
    def event(self, target: str, kind: str, fields: dict[str, Any]) -> None: ...
    def target_finished(self, target: str, shards: list[dict[str, Any]]) -> None: ...


@dataclass
class RunOutcome:
    """What a run left behind: ``result`` is the Result as written (``typed``: the same, typed)."""

    run_dir: Path
    typed: Result
    interrupted: bool = False
    warnings: list[str] = field(default_factory=list)
    #: worker processes that died during the run (``[target] worker N: killed by SIGKILL``)
    workers_died: list[str] = field(default_factory=list)
    #: stopped by a second Ctrl-C: the workers aborted their sessions and wrote what they had
    hurried: bool = False

    @property
    def result(self) -> dict[str, Any]:
        """The Result as ``result.json`` holds it."""
        return self.typed.to_json()

    @property
    def result_path(self) -> Path:
        return self.run_dir / "result.json"


def own_sessions(scenario: Scenario) -> range:
    """The global session indices this process runs: all of them, or ``i % N == I`` for shard I/N."""
    if scenario.shard is None:
        return range(scenario.sessions)
    index, count = scenario.shard
    return range(index, scenario.sessions, count)


def default_processes(scenario: Scenario) -> int:
    """Workers: the scenario's setting, else one per core; never more than our sessions."""
    wanted = scenario.processes or (os.cpu_count() or 1)
    return max(1, min(wanted, len(own_sessions(scenario))))


def safe_name(name: str, limit: int = 40) -> str:
    """``name`` as a folder name CI artifact uploaders accept (no ``:``, ``/``, ``*`` ...)."""
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name)[:limit].strip(".") or "run"


def new_run_id(name: str) -> str:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{safe_name(name).replace('.', '-')}-{secrets.token_hex(2)}"


class _Interrupt:
    """Turns SIGINT/SIGTERM in the runner into a flag (and forwards them to workers). A second
    one is ``hurry``: the workers abort their sessions and write their shards at once."""

    def __init__(self) -> None:
        self.flag = False
        self.hurry = False
        self.workers: list[mp.process.BaseProcess] = []
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _Interrupt:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: object) -> None:
        self.hurry = self.flag
        self.flag = True
        for process in self.workers:
            if process.pid is not None and process.is_alive():
                try:
                    os.kill(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass


def run_scenario(
    scenario: Scenario,
    *,
    progress: ProgressFn | None = None,
    run_id: str | None = None,
    sections: dict[str, Any] | None = None,
    disruptor_for: Callable[[Target, Callable[..., None]], Disruptor | None] | None = None,
    observer_for: Callable[[Target], Any] | None = None,
    watcher: RunWatcher | None = None,
) -> RunOutcome:
    """Run ``scenario`` against its targets (or an embedded echo server) and write the Result.

    ``sections`` are added to the Result as they are (e.g. ``lab``: what the targets were).
    ``disruptor_for(target, event)`` gives the disruptions to inject while ``target`` runs.
    ``observer_for(target)`` gives something that watches it on the run's clock (e.g. the
    proxy's cost, :class:`wsbench.cost.observe.RunObserver`): its ``finish`` sections are
    added to the target's entry. ``watcher`` follows the whole run (live metrics).
    """
    for target in scenario.targets:  # a bad URL or CA bundle: one line now, not N dead workers
        ConnectSettings.of(scenario, target.url)
    run_dir = Path(scenario.out) / (run_id or new_run_id(scenario.name))
    try:
        run_dir.mkdir(parents=True, exist_ok=False)
        (run_dir / "shards").mkdir()
    except OSError as exc:
        raise LocalError(f"cannot create the output folder {run_dir}: {exc.strerror}") from exc
    say = progress or (lambda line: None)
    server = None
    targets = scenario.targets
    if not targets:
        from wsbench.server.process import ServeOptions, start_server

        server = start_server(ServeOptions(pod_name="wsbench-echo"), log_path=str(run_dir / "echo-server.log"))
        targets = (Target(name="local-echo", url=server.url),)
        scenario = replace(scenario, targets=targets)
        say(f"no target given: started an embedded echo server at {server.url}")
    windows = plan(scenario, targets)  # a target without a reference path fails here, before the run
    processes = default_processes(scenario)
    machine = machine_facts()
    calibration = _calibration(scenario, say)
    shard = {"index": scenario.shard[0], "count": scenario.shard[1]} if scenario.shard else None
    result = Result(
        run_id=run_dir.name,
        started_at=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        duration_s=scenario.duration,
        complete=False,
        wsbench_version=__version__,
        python=sys.version.split()[0],
        shard=ShardOf(**shard) if shard else None,
        scenario=scenario.redacted(),
        generator=replace(generator_from_shards([], processes, machine), calibration=calibration),
        extra=dict(sections or {}),
    )
    events_path = run_dir / "events.jsonl"
    _append_event(events_path, "run_started", run_id=run_dir.name, processes=processes,
                  targets=[t.name for t in targets], **({"shard": shard} if shard else {}))
    result_path = run_dir / "result.json"
    write_json_atomic(result_path, result.to_json())
    all_shards: list[list[dict[str, Any]]] = []
    died: list[str] = []
    measured: dict[str, TargetResult] = {}
    interrupted = hurried = False
    started = time.monotonic()
    try:
        with _Interrupt() as interrupt:
            shards_of: dict[str, list[dict[str, Any]]] = {}
            probes_of: dict[str, list[Summary]] = {}
            t0_of: dict[str, float | None] = {}
            reference_shards: dict[str, list[dict[str, Any]]] = {}
            for target, window, offset_s, owner in windows:
                if interrupt.flag:
                    break
                if owner is not None:  # the owner's load to its reference path (--reference-interleave)
                    say(f"[{owner.name}] the same load to the reference path {redact_url(target.url)}, "
                        f"window {offset_s:g}-{offset_s + window.duration:g} s")
                    shards, _, _, _ = _run_target(window, target, processes, run_dir, events_path, interrupt,
                                                  say, died=died)
                    reference_shards.setdefault(owner.name, []).extend(_shifted(s, offset_s) for s in shards)
                    calibration = _with_same_load(calibration, owner, target, reference_shards[owner.name], say)
                    result = replace(result, generator=replace(result.generator, calibration=calibration))
                    continue
                share = (f"{len(own_sessions(scenario))} of {scenario.sessions} sessions (shard "
                         f"{scenario.shard[0]}/{scenario.shard[1]})" if scenario.shard
                         else f"{scenario.sessions} sessions")
                when = f", window {offset_s:g}-{offset_s + window.duration:g} s" if window.interleave else ""
                say(f"[{target.name}] {share} on {processes} worker(s) -> {redact_url(target.url)}{when}")
                crowded = crowded_sources(len(own_sessions(scenario)), len(scenario.source_addresses) or 1,
                                          ephemeral_ports())
                if crowded:
                    say(f"[{target.name}] warning: {crowded}")
                disruptor = None
                if disruptor_for is not None:
                    def event(kind: str, /, _target: str = target.name, **fields: Any) -> None:
                        _append_event(events_path, kind, target=_target, **fields)
                        if watcher is not None:
                            watcher.event(_target, kind, fields)

                    disruptor = disruptor_for(target, event)
                observer = observer_for(target) if observer_for is not None and not scenario.interleave else None
                shards, records, t0_unix_s, probed = _run_target(window, target, processes, run_dir, events_path,
                                                                 interrupt, say, disruptor, observer, watcher, died)
                shards_of.setdefault(target.name, []).extend(_shifted(shard, offset_s) for shard in shards)
                t0_of.setdefault(target.name, t0_unix_s)
                if probed is not None:
                    probes_of.setdefault(target.name, []).append(probed)
                if calibration is not None and probes_of.get(target.name):
                    calibration = replace(calibration, during={**(calibration.during or {}),
                                                               target.name: _merged(probes_of[target.name])},
                                          during_via={**(calibration.during_via or {}),
                                                      target.name: _probe_via(target)})
                all_shards.append(shards)
                if watcher is not None:
                    watcher.target_finished(target.name, shards)
                target_result = target_from_shards(redact_url(target.url), shards_of[target.name], records=records,
                                                   t0_unix_s=t0_of[target.name], name=target.name)
                if observer is not None:  # what the observer measured beside the workers (proxy_cost)
                    target_result = TargetResult.from_json(
                        {**target_result.to_json(), **observer.finish(target_result.to_json())},
                        f"targets.{target.name}")
                measured[target.name] = target_result
                result = replace(result, targets=dict(measured),
                                 generator=replace(generator_from_shards(all_shards, processes, machine),
                                                   calibration=calibration),
                                 duration_s=round(time.monotonic() - started, 3))
                write_json_atomic(result_path, result.to_json())
            interrupted = interrupt.flag
            hurried = interrupt.hurry
    finally:
        if server is not None:
            server.stop()
    complete = (not interrupted) and all(t.complete is True for t in measured.values()) and len(measured) == len(targets)
    complete = complete and not died
    result = replace(result, complete=complete, duration_s=round(time.monotonic() - started, 3))
    write_json_atomic(result_path, result.to_json())
    _append_event(events_path, "run_stopped", complete=complete, interrupted=interrupted)
    warnings = list(result.generator.saturation_reasons or ()) if result.generator else []
    pushed = (result.generator.extra.get("pushed_back") if result.generator else None) or {}
    warnings += [f"target {name} stopped reading: {entry['sessions']} session(s) held back {entry['unsent']} "
                 "message(s) (counted as unsent, not sent)" for name, entry in pushed.items()]
    return RunOutcome(run_dir=run_dir, typed=result, interrupted=interrupted, warnings=warnings, workers_died=died,
                      hurried=hurried)


def plan(scenario: Scenario, targets: tuple[Target, ...]) -> list[tuple[Target, Scenario, float, Target | None]]:
    """:func:`turns`, and with ``reference_interleave`` each target taking turns with its own
    load to its reference path: ``(target, window, offset, owner)``, where ``owner`` is the
    target a reference window stands for (None for the targets' own windows)."""
    if not scenario.reference_interleave:
        return [(target, window, offset, None) for target, window, offset in turns(scenario, targets)]
    windows = replace(scenario, interleave=scenario.reference_interleave)
    out: list[tuple[Target, Scenario, float, Target | None]] = []
    for target in targets:
        reference = reference_target(target)
        out.extend((turn, window, offset, target if turn is reference else None)
                   for turn, window, offset in turns(windows, (target, reference)))
    return out


def reference_target(target: Target) -> Target:
    """The target's reference path as a target of its own (the lab's reference echo behind the
    target's proxy); ``target`` must have a ``calibration_url``."""
    if not target.calibration_url:
        raise ScenarioError("reference_interleave", f"target {target.name!r} has no reference path: "
                                                    "only lab targets (--lab) have one")
    return Target(name=f"{target.name}.reference", url=target.calibration_url)


def _with_same_load(calibration: Calibration | None, owner: Target, reference: Target,
                    shards: list[dict[str, Any]], say: ProgressFn) -> Calibration | None:
    """``calibration`` with ``owner``'s same-load reference from the reference windows so far.
    A reference path that failed sessions or lost messages is no reference: left out, said."""
    if calibration is None:
        return None
    measured = target_from_shards(redact_url(reference.url), shards, name=reference.name)
    failed = (measured.sessions.failed if measured.sessions else 0) or 0
    lost = (measured.messages.lost if measured.messages else 0) or 0
    figures = {name: summary for name, summary in (("rtt", measured.rtt), ("rtt_service", measured.rtt_service))
               if summary is not None and summary.count}
    keep = not (failed or lost) and "rtt" in figures

    def updated(section: Mapping[str, Any] | None, value: Any) -> dict[str, Any] | None:
        others = {name: entry for name, entry in (section or {}).items() if name != owner.name}
        return {**others, owner.name: value} if keep else (others or None)

    if not keep:
        say(f"[{owner.name}] the reference path failed {failed} session(s) and lost {lost} message(s)"
            f"{'' if figures else ', no round trips'}: no same-load reference for this target")
    return replace(calibration, same_load=updated(calibration.same_load, figures),
                   during=updated(calibration.during, figures.get("rtt_service") or figures.get("rtt")),
                   during_via=updated(calibration.during_via, _probe_via(owner)))


def turns(scenario: Scenario, targets: tuple[Target, ...]) -> list[tuple[Target, Scenario, float]]:
    """What runs when: ``(target, scenario of that turn, its offset on the target's own clock)``.

    Without ``interleave``, each target once for the whole duration, one after the other.
    With it, windows of ``interleave`` seconds (the last one shorter) until each target has run
    ``duration``, in A B B A A B ... order so that a drift during the run falls on both alike.
    """
    if not scenario.interleave:
        return [(target, scenario, 0.0) for target in targets]
    count = max(1, math.ceil(scenario.duration / scenario.interleave - 1e-9))
    plan = []
    for index in range(count):
        offset = index * scenario.interleave
        window = replace(scenario, duration=round(min(scenario.interleave, scenario.duration - offset), 6))
        order = targets if index % 2 == 0 else tuple(reversed(targets))
        plan.extend((target, window, offset) for target in order)
    return plan


def _shifted(shard: dict[str, Any], offset_s: float) -> dict[str, Any]:
    """A window's shard with its timeline moved to where the window sits on the target's clock."""
    if not offset_s:
        return shard
    step = round(offset_s)
    return {**shard, "timeline": [{**entry, "t": entry["t"] + step} for entry in shard.get("timeline", [])]}


def _merged(summaries: list[Summary]) -> Summary:
    """One summary of several probe windows (exact histogram merge)."""
    if len(summaries) == 1:
        return summaries[0]
    total = Histogram()
    for summary in summaries:
        histogram = summary.histogram()
        if histogram is not None:
            total.merge(histogram)
    return Summary.of(total)


def _calibration(scenario: Scenario, say: ProgressFn) -> Calibration | None:
    """The generator against the reference echo (``generator.calibration``); None when off or failed."""
    if not scenario.calibrate:
        return None
    from wsbench.engine.calibrate import calibrate

    try:
        measured = Calibration.from_json(calibrate())
    except LocalError as exc:  # the run goes on: a Result without calibration is judged raw
        say(f"calibration skipped: {exc}")
        return None
    rtt, rtt_closed = measured.rtt, measured.rtt_closed
    if rtt is not None and rtt_closed is not None:
        say(f"calibration: this machine adds {rtt.p50:.3g} ms p50 / {rtt.p99:.3g} ms p99 on its own "
            f"(rate mode; closed loop {rtt_closed.p50:.3g} / {rtt_closed.p99:.3g} ms), "
            f"{measured.cpu_us_per_round_trip:g} µs CPU per round trip, measured in {measured.took_s:g} s")
    return measured


def _append_event(path: Path, kind: str, /, **fields: Any) -> None:
    if "kind" in fields:
        raise ValueError(f"event field 'kind' would hide the event kind {kind!r}")
    record = {"t": None, "wall": round(time.time(), 6), "kind": kind, **fields}
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, separators=(",", ":")) + "\n")


def _run_target(
    scenario: Scenario,
    target: Target,
    processes: int,
    run_dir: Path,
    events_path: Path,
    interrupt: _Interrupt,
    say: ProgressFn,
    disruptor: Disruptor | None = None,
    observer: Any = None,
    watcher: RunWatcher | None = None,
    died: list[str] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], float | None, Summary | None]:
    """Run one target; its worker shards, disruption records, the wall clock of t = 0 and
    what the calibration probe saw meanwhile (:class:`wsbench.engine.calibrate.RunProbe`).
    A worker that died is named in ``died``; the sessions it held open count as dropped
    (cause ``worker_died``) and its shard as incomplete."""
    context = mp.get_context("spawn")
    progress: Any = context.Queue()
    start_ns_value: Any = context.Value("q", 0)
    go: Any = context.Event()
    shard_dir = run_dir / "shards" / safe_name(target.name, 80)  # 127.0.0.1-8080: no colon
    for suffix in range(2, 1000):  # two targets whose names differ only in unsafe characters
        if not shard_dir.exists():
            break
        shard_dir = shard_dir.with_name(f"{safe_name(target.name, 80)}-{suffix}")
    shard_dir.mkdir(parents=True, exist_ok=False)
    if watcher is not None:
        watcher.target_started(target.name, shard_dir)
    mine = own_sessions(scenario)
    shard_index, shard_count = scenario.shard or (0, 1)
    indices = [w * shard_count + shard_index for w in range(processes)]  # unique across shards
    specs = [
        WorkerSpec(
            index=index,
            workers=processes,
            target=target.name,
            url=target.url,
            scenario=scenario,
            sessions=tuple(mine[w::processes]),
            shard_path=str(shard_dir / f"worker-{index}.json"),
            events_path=str(events_path),
        )
        for w, index in enumerate(indices)
    ]
    workers = [
        context.Process(target=worker_entry, args=(spec, start_ns_value, go, progress),
                        name=f"wsbench-worker-{spec.index}", daemon=True)
        for spec in specs
    ]
    interrupt.workers = workers
    if observer is not None:
        observer.begin()
    for process in workers:
        process.start()
    t0_unix_s = None
    probe = _start_probe(scenario, target, say)
    probed: Summary | None = None
    try:
        _wait_ready(workers, progress, interrupt)
        start_ns = time.monotonic_ns() + 50_000_000
        t0_unix_s = round((time.time_ns() + start_ns - time.monotonic_ns()) / 1e9, 6)
        start_ns_value.value = start_ns
        go.set()
        if disruptor is not None:
            disruptor.start(start_ns)
        if observer is not None:
            observer.start(start_ns)
        _follow(workers, progress, scenario, target, interrupt, say, sessions=len(mine))
    finally:
        if probe is not None:
            summary = probe.stop()
            probed = Summary.from_json(summary) if summary is not None else None
            if probe.failure is not None:
                say(f"[{target.name}] calibration probe via {_probe_via(target)} failed: {probe.failure}")
        records = disruptor.stop() if disruptor is not None else []
        _reap(workers, hurry=interrupt.hurry)
        interrupt.workers = []
    shards = []
    for spec, process in zip(specs, workers, strict=True):
        path = Path(spec.shard_path)
        shard = load_shard(path) if path.exists() else None
        if process.exitcode not in (0, None) and not (interrupt.hurry and process.exitcode == -signal.SIGKILL):
            how = _exit_text(process.exitcode)
            held = _worker_died(shard) if shard is not None else 0
            if died is not None:
                died.append(f"[{target.name}] worker {spec.index} {how}")
            say(f"[{target.name}] worker {spec.index} {how}: {held} open session(s) counted as dropped "
                f"(worker_died){'' if shard is not None else '; it left no results'}")
            _append_event(events_path, "worker_crashed", target=target.name, worker=spec.index,
                          exitcode=process.exitcode, sessions=len(spec.sessions), dropped=held)
        elif shard is None:
            say(f"[{target.name}] worker {spec.index} left no results (exit code {process.exitcode})")
        if shard is None:
            continue
        if process.exitcode not in (0, None):
            shard["complete"] = False
        shards.append(shard)
    return shards, records, t0_unix_s, probed


def _probe_via(target: Target) -> str:
    """Where the target's calibration probe went (``generator.calibration.during_via``)."""
    return redact_url(target.calibration_url) if target.calibration_url else "loopback"


def _start_probe(scenario: Scenario, target: Target, say: ProgressFn) -> Any:
    """The calibration probe for one target's measurement, started (None when off or failed):
    to the target's ``calibration_url`` (a lab proxy's reference path), else on loopback; none
    with ``reference_interleave`` (the reference windows are the calibration)."""
    if not scenario.calibrate or scenario.reference_interleave:
        return None
    from wsbench.engine.calibrate import RunProbe

    probe = RunProbe(max_s=scenario.duration + scenario.connect_timeout + scenario.reply_timeout + 120,
                     url=target.calibration_url, ca_file=scenario.ca_file)
    try:
        probe.start()
    except LocalError as exc:
        say(f"calibration probe skipped: {exc}")
        return None
    return probe


def _exit_text(exitcode: int | None) -> str:
    """``died (killed by SIGKILL)`` / ``exited with code 1``."""
    if exitcode is not None and exitcode < 0:
        try:
            return f"died (killed by {signal.Signals(-exitcode).name})"
        except ValueError:
            return f"died (signal {-exitcode})"
    return f"exited with code {exitcode}"


def _worker_died(shard: dict[str, Any]) -> int:
    """Account a dead worker's last shard: the sessions it held open dropped (``worker_died``)."""
    sessions = shard.setdefault("sessions", {})
    held = int(sessions.get("open_now", 0))
    sessions["dropped"] = int(sessions.get("dropped", 0)) + held
    sessions["open_now"] = 0
    causes = shard.setdefault("drop_causes", {})
    causes["worker_died"] = causes.get("worker_died", 0) + held
    shard["complete"] = False
    return held


def load_shard(path: Path) -> dict[str, Any]:
    """A worker's shard with its timeline read back from the file it appended to."""
    shard: dict[str, Any] = json.loads(path.read_text())
    name = shard.get("timeline_file")
    if name:
        timeline = []
        timeline_path = path.parent / name
        if timeline_path.exists():
            for line in timeline_path.read_text().splitlines():
                try:
                    timeline.append(json.loads(line))
                except ValueError:  # a line cut short by a crash: the seconds before it count
                    break
        shard["timeline"] = timeline
    return shard


def _wait_ready(workers: list[mp.process.BaseProcess], progress: Any, interrupt: _Interrupt) -> None:
    ready: set[int] = set()
    deadline = time.monotonic() + 120
    while len(ready) < len(workers):
        if interrupt.flag:
            return
        if time.monotonic() > deadline:
            raise LocalError("worker processes did not start within 120 s")
        dead = [p for p in workers if p.exitcode is not None]
        if dead:
            raise LocalError(f"worker process {dead[0].name} exited at start (code {dead[0].exitcode})")
        try:
            message = progress.get(timeout=0.2)
        except queue.Empty:
            continue
        if message.get("ready"):
            ready.add(message["worker"])


def _follow(
    workers: list[mp.process.BaseProcess],
    progress: Any,
    scenario: Scenario,
    target: Target,
    interrupt: _Interrupt,
    say: ProgressFn,
    *,
    sessions: int,
) -> None:
    """Print progress once a second until every worker has exited (bounded). A worker that
    dies is seen within a second (its exit code is polled every 0.25 s) and named."""
    latest: dict[int, dict[str, Any]] = {}
    bound = time.monotonic() + scenario.duration + scenario.reply_timeout + scenario.connect_timeout + 60
    last_line = 0.0
    dead: set[int] = set()
    while any(p.is_alive() for p in workers):
        if time.monotonic() > bound:
            say(f"[{target.name}] workers did not stop in time; killing them")
            break
        if interrupt.hurry:
            break  # a second Ctrl-C: the workers write their shards now; _reap bounds the wait
        for number, process in enumerate(workers):
            if number not in dead and process.exitcode not in (None, 0):
                dead.add(number)
                latest.pop(number, None)
                say(f"[{target.name}] worker {number} {_exit_text(process.exitcode)} "
                    f"(its open sessions count as dropped: worker_died)")
        try:
            message = progress.get(timeout=0.25)
        except queue.Empty:
            continue
        if "t" in message and message["worker"] not in dead:
            latest[message["worker"]] = message
        now = time.monotonic()
        if latest and len(latest) + len(dead) >= len(workers) and now - last_line >= 1.0:
            last_line = now
            say(_progress_line(target.name, scenario, latest, sessions, died=len(dead)))


def _progress_line(name: str, scenario: Scenario, latest: dict[int, dict[str, Any]], sessions: int,
                   *, died: int = 0) -> str:
    t = max(m["t"] for m in latest.values())
    total = lambda key: sum(m[key] for m in latest.values())  # noqa: E731
    return (
        f"[{name}] {min(t, scenario.duration):5.1f}/{scenario.duration:g}s  "
        f"open {total('open')}/{sessions}  sent {total('sent')}  "
        f"received {total('received')}  failed {total('failed')}  dropped {total('dropped')}  "
        f"cpu {max(m['cpu'] for m in latest.values()):.0f}%"
        + (f"  WORKERS DIED {died}" if died else "")
    )


def _reap(workers: list[mp.process.BaseProcess], *, hurry: bool = False) -> None:
    """Wait for workers; kill (by PID, ours) any that will not stop (after 1 s when hurried)."""
    deadline = time.monotonic() + (1.0 if hurry else 10.0)
    for process in workers:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in workers:
        if process.is_alive():
            process.kill()
            process.join(5)
