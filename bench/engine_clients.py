"""Child side of ``bench_engine.py``: one client variant, one test, one JSON line out.

    python bench/engine_clients.py '{"client": "picows", "test": "rtt", ...}'

Clients:

* ``wsbench`` — wsbench's real worker code path: :func:`wsbench.engine.worker.worker_main`
  (uvloop, Session, stamps, Recorder with every measurement on, the per-100 ms lag probe,
  the per-second tick, shard and events writes) with the scenario's default ``transport:
  auto`` — ``picows`` with the compiled listener in closed loop (``rtt``), ``lean`` in the
  idle-heavy rate-mode ``idle`` test. The only addition is a probe: a ``WorkerContext``
  subclass that starts the monitor coroutine below in the worker's loop and reads the
  worker's own Recorder; it changes nothing on the hot path.
* ``wsbench-picows``, ``wsbench-lean``, ``wsbench-websockets`` — the same with that transport
  forced; ``wsbench-python`` — picows with the pure-Python listener
  (``WSBENCH_PURE_PYTHON=1``: the fallback when the C extension is not built).
* ``wsbench-shell`` (diagnostic, ``rtt`` only) — the real worker with ``Session.on_message``
  cut down to what a bare client does: splits the engine's cost into shell and per-message
  logic (in ``idle`` it is plain ``wsbench``).
* ``picows`` — a bare picows client on uvloop: ``ws_connect`` with its defaults.
* ``websockets`` — a bare websockets (asyncio API) client on uvloop: ``send`` then ``recv``.

Tests:

* ``rtt`` — ``sessions`` sessions closed loop, ``messages`` round trips each, 32-byte text.
  CPU (user+sys of this process) is taken between the moments 10 % and 90 % of all round
  trips are done (polled every 10 ms), so start-up, opening and closing are left out.
* ``idle`` — ``sessions`` sessions opened at ``ramp`` per second, one 32-byte echo each, then
  idle (no pings unless ``ping`` is set). RSS before the first session and after all are open and 1 s settled; CPU
  from before the first session until all are open (CPU per session opened).

Every test is bounded (``deadline_s``): the child exits with a partial result.
Run as a script: ``python bench/engine_clients.py CONFIG_JSON``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from typing import Any

__all__ = ["main"]

_PAGE = os.sysconf("SC_PAGE_SIZE")
_POLL_S = 0.01
_SETTLE_S = 1.0
MESSAGE = b"0123456789abcdef0123456789abcdef"  # 32 bytes, ASCII (valid text)


def rss_bytes() -> int:
    with open("/proc/self/statm", "rb") as handle:
        return int(handle.read().split()[1]) * _PAGE


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


_PROFILE: Any = None  # cfg "profile": a path; cProfile of the whole child, dumped at the end


_SAMPLES: Any = None  # cfg "sample": a path; Python stacks of the main thread every ~2 ms


def _sample_stacks(path: str, main_id: int) -> None:
    """A poor man's py-spy: count the main thread's innermost frames (diagnostic only)."""
    import collections
    import threading

    counts: collections.Counter[str] = collections.Counter()

    def run() -> None:
        while True:
            time.sleep(0.002)
            frame = sys._current_frames().get(main_id)
            stack = []
            while frame is not None and len(stack) < 6:
                code = frame.f_code
                stack.append(f"{os.path.basename(code.co_filename)}:{code.co_name}")
                frame = frame.f_back
            counts[" < ".join(stack)] += 1

    threading.Thread(target=run, daemon=True).start()
    global _SAMPLES
    _SAMPLES = (counts, path)


_TEMP_DIRS: list[str] = []  # removed by finish(): os._exit skips every other cleanup


def finish(code: int = 0) -> None:
    """Exit at once (the kernel closes every socket), after dumping the profile if any."""
    for path in _TEMP_DIRS:
        shutil.rmtree(path, ignore_errors=True)
    if _PROFILE is not None:
        _PROFILE[0].disable()
        _PROFILE[0].dump_stats(_PROFILE[1])
    if _SAMPLES is not None:
        counts, path = _SAMPLES
        with open(path, "w", encoding="utf-8") as handle:
            for stack, count in counts.most_common(60):
                handle.write(f"{count:7d}  {stack}\n")
    sys.stdout.flush()
    os._exit(code)


def emit(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def _object_census() -> dict[str, tuple[int, int]]:
    """type name -> (count, bytes by sys.getsizeof) of every GC-tracked object."""
    census: dict[str, list[int]] = {}
    for obj in gc.get_objects():
        entry = census.setdefault(type(obj).__qualname__, [0, 0])
        entry[0] += 1
        entry[1] += sys.getsizeof(obj)
    return {name: (count, size) for name, (count, size) in census.items()}


class GcClock:
    """Time spent in the cyclic garbage collector (``gc.callbacks``), and how many runs."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.runs = [0, 0, 0]
        self._start = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._start
            self.runs[info["generation"]] += 1


class Probe:
    """Watches counters from inside the client's event loop and reports once."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.gc = GcClock()
        self.objects0 = _object_census() if cfg.get("objects") else None
        self.cpu0 = cpu_s()
        self.sys0 = resource.getrusage(resource.RUSAGE_SELF).ru_stime
        self.rss0 = rss_bytes()
        self.t0 = time.monotonic()

    async def rtt(self, received: Any) -> None:
        """``received()`` -> round trips done so far; report CPU per round trip in 10-90 %."""
        total = self.cfg["sessions"] * self.cfg["messages"]
        low, high = total // 10, total * 9 // 10
        deadline = self.t0 + self.cfg["deadline_s"]
        mark: tuple[int, float, float] | None = None
        while time.monotonic() < deadline:
            await asyncio.sleep(_POLL_S)
            done = received()
            if mark is None and done >= low:
                mark = (done, cpu_s(), time.monotonic())
            elif mark is not None and done >= high:
                n, cpu = done - mark[0], cpu_s() - mark[1]
                emit({"round_trips": n, "cpu_s": cpu, "wall_s": time.monotonic() - mark[2],
                      "us_per_rt": 1e6 * cpu / max(1, n)})
                return
        emit({"error": f"timeout: {received()} of {total} round trips"})
        finish(3)

    async def idle(self, opened: Any, failed: Any) -> None:
        """``opened()``/``failed()`` -> counts; report RSS and opening CPU, then exit."""
        n = self.cfg["sessions"]
        deadline = self.t0 + self.cfg["deadline_s"]
        while time.monotonic() < deadline and opened() + failed() < n:
            await asyncio.sleep(_POLL_S)
        cpu_open, wall_open = cpu_s() - self.cpu0, time.monotonic() - self.t0
        sys_open = resource.getrusage(resource.RUSAGE_SELF).ru_stime - self.sys0
        gc_open, gc_runs = self.gc.seconds, list(self.gc.runs)
        await asyncio.sleep(_SETTLE_S)
        hold: dict[str, float] = {}
        if self.cfg.get("hold_s"):  # the cost of holding the sessions open (pings, timers)
            cpu, gc_s, start = cpu_s(), self.gc.seconds, time.monotonic()
            await asyncio.sleep(self.cfg["hold_s"])
            elapsed = time.monotonic() - start
            hold = {"hold_s": elapsed, "cpu_hold_s": cpu_s() - cpu, "gc_hold_s": self.gc.seconds - gc_s}
        if self.objects0 is not None:  # diagnostic: GC-tracked objects per session, by type
            after, n = _object_census(), max(1, opened())
            emit({"objects_per_session": {
                name: [round((count - self.objects0.get(name, (0, 0))[0]) / n, 2),
                       round((size - self.objects0.get(name, (0, 0))[1]) / n)]
                for name, (count, size) in sorted(after.items(), key=lambda kv: -kv[1][1])
                if count - self.objects0.get(name, (0, 0))[0] >= n // 2}})
        emit({
            "opened": opened(), "failed": failed(), "rss_base": self.rss0, "rss_open": rss_bytes(),
            "cpu_open_s": cpu_open, "sys_open_s": sys_open, "wall_open_s": wall_open, "gc_open_s": gc_open,
            "gc_runs": gc_runs, **hold,
        })
        finish()


# --- wsbench's engine -------------------------------------------------------------------------


#: the transport each wsbench client forces (others: the scenario default, auto)
TRANSPORTS = {"wsbench-picows": "picows", "wsbench-python": "picows", "wsbench-lean": "lean",
              "wsbench-websockets": "websockets"}


def run_wsbench(cfg: dict[str, Any]) -> None:
    from wsbench.engine import worker
    from wsbench.scenario import Scenario, Target

    class _Value:
        value = 0

    class _Go:
        def wait(self, timeout: float | None = None) -> bool:
            _Value.value = time.monotonic_ns() + 1_000_000
            return True

    class _Queue:
        def put(self, item: Any) -> None:
            pass

    class BenchContext(worker.WorkerContext):
        """The worker's context plus a probe coroutine in the same loop (read-only)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            probe = Probe(cfg)
            rec = self.recorder
            if cfg["test"] == "rtt":
                self.loop.create_task(probe.rtt(lambda: rec.received))
            else:
                self.loop.create_task(probe.idle(lambda: rec.opened, lambda: rec.failed))

    worker.WorkerContext = BenchContext  # type: ignore[misc]
    if cfg["client"] == "wsbench-python":
        os.environ["WSBENCH_PURE_PYTHON"] = "1"  # read by PicowsTransport: the Python listener
    if cfg["client"] == "wsbench-shell" and cfg["test"] == "rtt":
        # Diagnostic: the engine with the per-message session logic cut to what a bare
        # client does (count, send a fixed message): what the shell around it costs.
        from wsbench.engine.session import Session

        level = cfg.get("shell_level", 0)

        class ShellSession(Session):
            def on_message(self, data: bytes, now_ns: int) -> None:
                self.recorder.received += 1
                if level >= 3:
                    self.recorder.rtt_pending.append(now_ns // 1000)
                if level >= 2:
                    self.outstanding.pop(data[:16], None)
                if self.messages_left > 1:
                    self.messages_left -= 1
                    if level >= 1:
                        m = self.make_message(self.next_seq, now_ns)
                        self.next_seq += 1
                        if level >= 2:
                            self.outstanding[m[:16]] = (self.next_seq, now_ns)
                        self._send(m)
                    else:
                        self._send(MESSAGE)  # type: ignore[misc]
                else:
                    self.outstanding.clear()
                    self.finish()

        worker.Session = ShellSession  # type: ignore[misc]
    rtt = cfg["test"] == "rtt"
    scenario = Scenario(
        targets=(Target(name="bench", url=cfg["url"]),),
        sessions=cfg["sessions"],
        ramp=0.0 if rtt else float(cfg["ramp"]),
        duration=float(cfg["deadline_s"]),
        messages=cfg["messages"] if rtt else None,
        mode="closed" if rtt else "rate",
        rate=1e-6,  # idle: one message at open, the next in 11 days
        message_size=32,
        ping_interval=cfg.get("ping"),
        source_addresses=(cfg["source"],) if cfg.get("source") else (),
        processes=1,
        connect_timeout=30.0,
        transport=TRANSPORTS.get(cfg["client"], "auto"),
    )
    tmp = tempfile.mkdtemp(prefix="wsbench-bench-")
    _TEMP_DIRS.append(tmp)
    spec = worker.WorkerSpec(  # the worker writes its shard and events in tmp
        index=0, workers=1, target="bench", url=cfg["url"], scenario=scenario,
        sessions=tuple(range(cfg["sessions"])), shard_path=os.path.join(tmp, "worker-0.json"),
        events_path=os.path.join(tmp, "events.jsonl"),
    )
    worker.worker_main(spec, _Value, _Go(), _Queue())
    with open(spec.shard_path, encoding="utf-8") as handle:
        shard = json.load(handle)
    emit({"check": shard["messages"], "sessions": shard["sessions"]})


# --- bare clients -----------------------------------------------------------------------------


class _Counts:
    opened = 0
    failed = 0
    received = 0
    pongs = 0


def _local(cfg: dict[str, Any]) -> tuple[str, int] | None:
    """The source address to bind (None: the kernel chooses, as in bench/peers)."""
    return (cfg["source"], 0) if cfg.get("source") else None


async def _ramp(cfg: dict[str, Any], open_one: Any) -> None:
    """Start ``open_one()`` tasks at ``ramp`` per second (all at once if ramp is 0)."""
    loop = asyncio.get_running_loop()
    n, ramp = cfg["sessions"], float(cfg.get("ramp", 0) or 0)
    tasks: set[asyncio.Task[Any]] = set()
    start = time.monotonic()
    started = 0
    while started < n:
        due = n if ramp <= 0 else min(n, int((time.monotonic() - start) * ramp) + 1)
        while started < due:
            task = loop.create_task(open_one())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            started += 1
        if started < n:
            await asyncio.sleep(0.001)
    while tasks:
        await asyncio.wait(set(tasks))


async def _opened_for_rtt(cfg: dict[str, Any], open_one: Any, counts: _Counts) -> Probe | None:
    """Open the sessions; ``idle``: measure them here (None); ``rtt``: the probe once all opened."""
    probe = Probe(cfg)
    if cfg["test"] != "rtt":
        asyncio.get_running_loop().create_task(_ramp(cfg, open_one))
        await probe.idle(lambda: counts.opened, lambda: counts.failed)
        return None
    await _ramp(cfg, open_one)
    if counts.failed:
        emit({"error": f"{counts.failed} of {cfg['sessions']} sessions failed to open"})
        return None
    return probe


async def bare_picows(cfg: dict[str, Any]) -> None:
    from picows import WSListener, WSMsgType, ws_connect

    text = WSMsgType.TEXT
    pong = WSMsgType.PONG
    batched = cfg.get("ping_mode") == "batched"  # one loop-wide keepalive timer, not a task each
    counts = _Counts()
    rtt = cfg["test"] == "rtt"
    messages = cfg.get("messages") or 0
    transports: list[Any] = []

    class Client(WSListener):  # type: ignore[misc]
        def __init__(self) -> None:
            self.left = messages

        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            if frame.msg_type is text:
                counts.received += 1
                self.left -= 1
                if self.left > 0:
                    transport.send(text, MESSAGE)
            elif frame.msg_type is pong:
                counts.pongs += 1

    async def open_one() -> None:
        try:
            transport, _ = await ws_connect(Client, cfg["url"], local_addr=_local(cfg),
                                            websocket_handshake_timeout=30,
                                            enable_auto_ping=bool(cfg.get("ping")) and not batched,
                                            auto_ping_idle_timeout=cfg.get("ping") or 10,
                                            auto_ping_reply_timeout=cfg.get("ping") or 10,
                                            **cfg.get("picows_kwargs", {}))
        except Exception:
            counts.failed += 1
            return
        counts.opened += 1
        transports.append(transport)
        if not rtt:
            transport.send(text, MESSAGE)

    def keepalive(slot: int = 0, slots: int = 10) -> None:
        """Every interval/slots seconds, ping one slot's share of the sessions (no tasks)."""
        for transport in transports[slot::slots]:
            transport.send_ping()
        loop.call_later(cfg["ping"] / slots, keepalive, (slot + 1) % slots, slots)

    loop = asyncio.get_running_loop()
    if batched and cfg.get("ping"):
        loop.call_later(cfg["ping"] / 10, keepalive)
    probe = await _opened_for_rtt(cfg, open_one, counts)
    if probe is not None:
        for transport in transports:
            transport.send(text, MESSAGE)
        await probe.rtt(lambda: counts.received)


async def bare_websockets(cfg: dict[str, Any]) -> None:
    from websockets.asyncio.client import connect

    counts = _Counts()
    rtt = cfg["test"] == "rtt"
    message = MESSAGE.decode()
    connections: list[Any] = []

    async def open_one() -> None:
        try:
            ws = await connect(cfg["url"], local_addr=_local(cfg), ping_interval=None,
                               open_timeout=30)
        except Exception:
            counts.failed += 1
            return
        counts.opened += 1
        connections.append(ws)
        if not rtt:
            await ws.send(message)
            await ws.recv()

    async def closed_loop(ws: Any) -> None:
        for _ in range(cfg["messages"]):
            await ws.send(message)
            await ws.recv()
            counts.received += 1

    probe = await _opened_for_rtt(cfg, open_one, counts)
    if probe is None:
        return
    loops = [asyncio.get_running_loop().create_task(closed_loop(ws)) for ws in connections]
    await probe.rtt(lambda: counts.received)
    for task in loops:
        task.cancel()


def main() -> None:
    global _PROFILE
    cfg = json.loads(sys.argv[1])
    if cfg.get("sample"):
        import threading

        _sample_stacks(cfg["sample"], threading.get_ident())
    if cfg.get("profile"):
        import cProfile

        _PROFILE = (cProfile.Profile(), cfg["profile"])
        _PROFILE[0].enable()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if cfg.get("gc_threshold"):  # experiment: e.g. [100000, 50, 100]; [0] disables the GC
        gc.set_threshold(*cfg["gc_threshold"])
        if cfg["gc_threshold"] == [0]:
            gc.disable()
    client = cfg["client"]
    if client.startswith("wsbench"):
        run_wsbench(cfg)
        finish()
    import uvloop

    bare = {"picows": bare_picows, "websockets": bare_websockets}[client]
    uvloop.run(bare(cfg))
    finish()  # skip closing handshakes: the measurement is done


if __name__ == "__main__":
    main()
