"""Self-calibration: what this machine and the generator add on their own (``generator.calibration``).

Before the load starts, the generator measures itself against a reference echo on loopback
(:mod:`wsbench.engine.refecho`, a separate process of fixed standard-library code):

* ``open`` — sequential opens (TCP connect + upgrade until the 101), their latency;
* ``rtt`` — round trips of one 32-byte message on one connection, paced like a rate-mode
  session (one message, wait for the echo, a short pause), their latency percentiles;
* ``cpu_us_per_round_trip`` — the client's CPU (user + system) per round trip, taken over a
  back-to-back burst on the same connection.

The client is picows on the event loop the workers use (uvloop when installed), so the RTT
is what the generator's own client costs on this machine: the noise floor below which a
difference between two runs cannot be told from the generator itself. The echo is not
``wsbench serve``: a calibration measures the machine, never the code under test.

Cheap by design (about 0.3-0.5 s): a pure-Python process start and ~1,000 round trips.
"""

from __future__ import annotations

import asyncio
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wsbench.errors import LocalError
from wsbench.metrics.histogram import Histogram

__all__ = ["CalibrationPlan", "calibrate", "RunProbe", "METHOD"]

_MESSAGE = b"0" * 32
METHOD = "picows client, reference echo (wsbench/engine/refecho.py) on 127.0.0.1"


@dataclass(frozen=True)
class CalibrationPlan:
    """How much to measure (defaults: ~0.4 s on an idle machine)."""

    opens: int = 20
    #: round trips scheduled every ``interval_us`` (not a whole number of milliseconds, so
    #: their phases against the event loop's millisecond timers spread)
    paced: int = 300
    interval_us: int = 1370
    #: back-to-back round trips (closed-loop floor; CPU per round trip)
    burst: int = 500
    #: the whole calibration gives up (and the run goes on without it) after this long
    budget_s: float = 5.0


class _Probe:
    """A picows listener that hands each echo's arrival time to the waiting coroutine."""

    def __init__(self, loop: asyncio.AbstractEventLoop, clock: Callable[[], int]) -> None:
        self.loop = loop
        self.clock = clock
        self.waiter: asyncio.Future[int] | None = None
        self.connected_ns = 0

    def factory(self) -> Any:
        from picows import WSListener

        probe = self

        class Listener(WSListener):  # type: ignore[misc]
            def on_ws_connected(self, transport: Any) -> None:
                probe.connected_ns = probe.clock()

            def on_ws_frame(self, transport: Any, frame: Any) -> None:
                now = probe.clock()
                waiter = probe.waiter
                if waiter is not None and not waiter.done():
                    waiter.set_result(now)

        return Listener()

    async def round_trip(self, transport: Any, msg_type: Any) -> tuple[int, int]:
        """(sent_ns, echoed_ns) of one message."""
        self.waiter = self.loop.create_future()
        sent = self.clock()
        transport.send(msg_type, _MESSAGE)
        echoed = await self.waiter
        return sent, echoed


def _cpu_ns() -> int:
    usage = resource.getrusage(resource.RUSAGE_THREAD)
    return round((usage.ru_utime + usage.ru_stime) * 1e9)


async def _paced(probe: _Probe, transport: Any, *, interval_ns: int, count: int | None,
                 stop: threading.Event | None = None) -> Histogram:
    """Round trips scheduled every ``interval_ns``, latency from the scheduled time (rate mode)."""
    from picows import WSMsgType

    loop, clock = probe.loop, probe.clock
    paced = Histogram()
    next_ns = clock() + interval_ns
    done = 0
    while (count is None or done < count) and not (stop is not None and stop.is_set()):
        for _attempt in range(100_000):  # timers fire early (ms resolution): wait again, as a session does
            remaining = next_ns - clock()
            if remaining <= 0:
                break
            if remaining < 1_000_000:
                # under the loop timers' 1 ms resolution they fire at once, again and again
                # (a spin: ~0.5 ms of CPU per round trip, measured): this loop runs nothing
                # else (its own thread, or the calibration before the load), so sleep it out
                time.sleep(remaining / 1e9)
                break
            wake = loop.create_future()
            loop.call_later(remaining / 1e9, wake.set_result, None)
            await wake
        _sent, echoed = await probe.round_trip(transport, WSMsgType.TEXT)
        paced.record((echoed - next_ns) // 1000)
        next_ns = max(next_ns + interval_ns, clock())
        done += 1
    return paced


async def _connect(probe: _Probe, url: str, *, ca_file: str | None = None) -> Any:
    from picows import ws_connect

    from wsbench.engine.dial import make_ssl_context
    from wsbench.protocol.url import parse_ws_url

    # on the loop's own transport, as the engine's picows transport (picows' default,
    # aiofastnet, measured ~0.3 ms of CPU per probe round trip against ~0.1 here)
    endpoint = parse_ws_url(url)
    context = make_ssl_context(ca_file=ca_file, insecure=False) if endpoint.secure else None
    sock = socket.socket(socket.AF_INET6 if ":" in endpoint.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, (endpoint.host, endpoint.port))
        transport, _listener = await ws_connect(probe.factory, url, socket_factory=lambda _url: sock,
                                                ssl_context=context, enable_auto_ping=False, max_redirects=0)
    except BaseException:
        sock.close()
        raise
    return transport


async def _measure(url: str, plan: CalibrationPlan, clock: Callable[[], int]) -> dict[str, Any]:
    from picows import WSMsgType

    probe = _Probe(asyncio.get_running_loop(), clock)
    opens = Histogram()
    for _ in range(plan.opens):
        start = clock()
        transport = await _connect(probe, url)
        opens.record((probe.connected_ns - start) // 1000)
        transport.send_close()
        transport.disconnect()
        await transport.wait_disconnected()
    transport = await _connect(probe, url)
    try:
        for _ in range(20):  # warm-up: first round trips pay for caches and allocations
            await probe.round_trip(transport, WSMsgType.TEXT)
        paced = await _paced(probe, transport, interval_ns=plan.interval_us * 1000, count=plan.paced)
        closed = Histogram()
        cpu_start = _cpu_ns()
        for _ in range(plan.burst):  # back to back: the closed-loop floor, and CPU per round trip
            sent, echoed = await probe.round_trip(transport, WSMsgType.TEXT)
            closed.record((echoed - sent) // 1000)
        cpu = _cpu_ns() - cpu_start
    finally:
        transport.send_close()
        transport.disconnect()
    return {
        "rtt": paced.summary_ms(),
        "rtt_closed": closed.summary_ms(),
        "open": opens.summary_ms(),
        "cpu_us_per_round_trip": round(cpu / plan.burst / 1000, 2),
    }


def _run_loop(coro: Any) -> Any:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency; plain asyncio then
        return asyncio.run(coro)
    return uvloop.run(coro)


class _ReferenceEcho:
    """The reference echo process (``refecho.py``); its URL while inside ``with``."""

    def __init__(self, max_s: float) -> None:
        self.max_s = max_s
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> _ReferenceEcho:
        script = Path(__file__).with_name("refecho.py")
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-S", str(script), "--max-s", f"{self.max_s:g}"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            raise LocalError(f"calibration: cannot start the reference echo: {exc.strerror}") from exc
        assert self._process.stdout is not None
        line = self._process.stdout.readline().strip()
        if not line.isdigit():
            self.__exit__()
            raise LocalError("calibration: the reference echo did not start")
        self.url = f"ws://127.0.0.1:{int(line)}/"
        return self

    def __exit__(self, *exc: object) -> None:
        process = self._process
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()  # the echo exits on EOF
        try:
            process.wait(2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(2)
        if process.stdout is not None:
            process.stdout.close()
        self._process = None


def calibrate(plan: CalibrationPlan | None = None, *, clock: Callable[[], int] = time.monotonic_ns) -> dict[str, Any]:
    """Measure the generator against the reference echo; the ``generator.calibration`` section.

    Raises :class:`~wsbench.errors.LocalError` when the reference echo cannot start or the
    measurement does not finish within the plan's budget.
    """
    plan = plan or CalibrationPlan()
    started = clock()
    with _ReferenceEcho(plan.budget_s + 5) as echo:

        async def bounded() -> dict[str, Any]:
            async with asyncio.timeout(plan.budget_s):
                return await _measure(echo.url, plan, clock)

        try:
            figures = _run_loop(bounded())
        except TimeoutError as exc:
            raise LocalError(f"calibration: did not finish within {plan.budget_s:g} s") from exc
        except OSError as exc:
            raise LocalError(f"calibration: {exc}") from exc
    return {
        "method": METHOD,
        "paced": plan.paced,
        "burst": plan.burst,
        "opens": plan.opens,
        **figures,
        "took_s": round((clock() - started) / 1e9, 3),
    }


class RunProbe:
    """The same paced round trips, in a thread, while a target is measured (``calibration.during``).

    ``url``: where to send them (a lab target: the reference echo behind the proxy under test,
    ``<proxy>/wsbench-reference``, so the probe pays the same proxy path as the target and
    follows its latency; ``ca_file`` for a wss:// one). None: its own reference echo on
    loopback.

    The calibration before the load says what the machine was like then; on a machine shared
    with other work that changes within minutes, so the gate's machine factor is taken from
    what this probe saw *while* the target ran. It costs one round trip every
    ``interval_us``: ~0.2 ms of CPU each, measured with ``bench/peers`` (the probe thread in
    the runner and the pure-Python reference echo together), so ~2 % of a core every 9.37 ms
    (every 2.37 ms it was 7-9 %: ~0.2 ms of CPU per session of a 10k-session run).
    """

    def __init__(self, *, interval_us: int = 9370, max_s: float, clock: Callable[[], int] = time.monotonic_ns,
                 url: str | None = None, ca_file: str | None = None) -> None:
        self.interval_ns = interval_us * 1000
        self.max_s = max_s
        self.clock = clock
        self.url = url
        self.ca_file = ca_file
        self._stop = threading.Event()
        self._echo = _ReferenceEcho(max_s) if url is None else None
        self._thread: threading.Thread | None = None
        self._outcome: Histogram | BaseException | None = None

    def start(self) -> None:
        """Start the echo (without ``url``) and the thread (LocalError when the echo cannot start)."""
        if self._echo is not None:
            self._echo.__enter__()
        self._thread = threading.Thread(target=self._main, name="wsbench-calibration-probe", daemon=True)
        self._thread.start()

    def _main(self) -> None:
        async def probe() -> Histogram:
            async with asyncio.timeout(self.max_s):
                state = _Probe(asyncio.get_running_loop(), self.clock)
                url = self.url if self._echo is None else self._echo.url
                transport = await _connect(state, url, ca_file=self.ca_file)
                try:
                    return await _paced(state, transport, interval_ns=self.interval_ns, count=None, stop=self._stop)
                finally:
                    transport.send_close()
                    transport.disconnect()

        try:
            self._outcome = _run_loop(probe())
        except BaseException as exc:  # noqa: BLE001 - handed to stop(), which says what failed
            self._outcome = exc

    @property
    def failure(self) -> str | None:
        """What went wrong in the probe thread (after :meth:`stop`), or None."""
        outcome = self._outcome
        return f"{type(outcome).__name__}: {outcome}" if isinstance(outcome, BaseException) else None

    def stop(self) -> dict[str, Any] | None:
        """Stop; the summary of what the probe saw (None when it failed or saw nothing)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._echo is not None:
            self._echo.__exit__()
        outcome = self._outcome
        if isinstance(outcome, Histogram) and outcome.count:
            return outcome.summary_ms()
        return None
