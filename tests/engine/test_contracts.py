"""The engine's contracts (wsbench/engine/contracts.py): no import circle, an injected clock
that really is the only clock, transports that declare what they are."""

from __future__ import annotations

import ast
import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import uvloop
from websockets.asyncio.server import ServerConnection, serve

import wsbench.engine.session
from tests.utils import UNIT
from wsbench.engine.contracts import FastPathSession, Transport
from wsbench.engine.lean import LeanTransport
from wsbench.engine.session import Session
from wsbench.engine.transports import PicowsTransport, WebsocketsTransport
from wsbench.engine.worker import WorkerContext, WorkerSpec
from wsbench.scenario import parse_scenario

ENGINE = Path(wsbench.engine.session.__file__).resolve().parent
MS = 1_000_000


# --- the import graph ----------------------------------------------------------------------


def engine_imports(path: Path) -> set[str]:
    """The wsbench.engine modules ``path`` imports: every import statement, at any depth
    (``if TYPE_CHECKING:`` blocks and function bodies included), absolute or relative."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . is wsbench.engine, from .. is wsbench
                package = "wsbench.engine" if node.level == 1 else "wsbench"
                base = package + (f".{base}" if base else "")
            modules = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[:2] == ["wsbench", "engine"] and len(parts) > 2:
                names.add(parts[2])
    return names


def engine_graph() -> dict[str, set[str]]:
    modules = {path.stem: path for path in ENGINE.glob("*.py") if path.stem != "__init__"}
    return {name: engine_imports(path) & modules.keys() - {name} for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as [a, b, ..., a], or None (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_cycle_finder_finds_a_type_checking_cycle_and_a_relative_one(tmp_path):
    (tmp_path / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                   "    from wsbench.engine.b import B\n")
    (tmp_path / "b.py").write_text("from . import c\n")
    (tmp_path / "c.py").write_text("def f():\n    import wsbench.engine.a\n")
    graph = {p.stem: engine_imports(p) for p in tmp_path.glob("*.py")}
    assert graph == {"a": {"b"}, "b": {"c"}, "c": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_engine_has_no_import_circle():
    graph = engine_graph()
    assert {"session", "transports", "lean", "worker", "contracts", "dial"} <= graph.keys()
    assert graph["contracts"] <= {"dial"}  # the contracts lean on nothing else in the engine
    cycle = find_cycle(graph)
    assert cycle is None, "import circle in wsbench/engine: " + " -> ".join(cycle or [])


# --- the clock -------------------------------------------------------------------------------

CLOCKED = ["session.py", "worker.py", "transports.py", "lean.py", "dial.py"]


@pytest.mark.parametrize("name", CLOCKED)
def test_engine_code_reads_time_only_through_the_injected_clock(name):
    """No call of a monotonic clock of its own: ``time.monotonic_ns`` appears only as the
    default clock (and in identity checks), never called."""
    tree = ast.parse((ENGINE / name).read_text())
    calls = [
        f"line {node.lineno}: time.{node.func.attr}()" for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name) and node.func.value.id == "time"
        and node.func.attr in ("monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns")
    ]
    assert not calls, f"{name} reads the clock directly: {calls}"


class FakeClock:
    """Monotonic ns that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1_000 * MS

    def __call__(self) -> int:
        return self.now


@pytest.mark.parametrize("transport", ["picows", "lean", "websockets"])
def test_a_session_on_a_fake_clock_records_the_fake_clocks_difference(tmp_path, transport):
    """A real Session, worker context and transport against a real echo server, on a fake
    clock: the server holds the echo until the test has moved the clock by 7.25 ms, so the
    RTT is exactly 7,250 µs, and the upgrade, timed while the clock stood still, took 0."""
    clock = FakeClock()
    held = 7_250_000

    async def main() -> tuple[WorkerContext, dict[str, Any]]:
        got, release = asyncio.Event(), asyncio.Event()

        async def echo(ws: ServerConnection) -> None:
            async for message in ws:
                got.set()
                await release.wait()
                await ws.send(message)

        async with serve(echo, "127.0.0.1", 0) as server:
            url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
            scenario = parse_scenario({
                "targets": [f"t={url}"], "sessions": 1, "ramp": 0, "mode": "closed", "messages": 1,
                "reconnect": False, "transport": transport, "out": str(tmp_path)})
            spec = WorkerSpec(index=0, workers=1, target="t", url=url, scenario=scenario, sessions=(0,),
                              shard_path=str(tmp_path / "worker-0.json"),
                              events_path=str(tmp_path / "events.jsonl"))
            ctx = WorkerContext(spec, asyncio.get_running_loop(), clock(), clock=clock)
            session = Session(ctx, 0)
            run = asyncio.get_running_loop().create_task(session.run(0))
            async with asyncio.timeout(10 * UNIT):
                await got.wait()  # the message went out, stamped at the fake "now"
                clock.now += held
                release.set()
                await run
            events = [json.loads(line) for line in ctx._events]
            opened = next(e for e in events if e["kind"] == "session_opened")
            return ctx, opened

    ctx, opened = uvloop.run(main())
    assert ctx.transport.name == transport
    assert ctx.transport.hot_path == "python"  # the compiled listener has its own clock: not used
    assert ctx.recorder.rtt_pending == [held // 1000]
    assert ctx.recorder.received == ctx.recorder.sent == 1
    assert set(opened["upgrade_ms"].values()) == {0.0}, opened  # dial and upgrade: fake clock
    assert opened["t"] == 0.0  # events too


# --- what the contracts say --------------------------------------------------------------------


def test_a_session_is_the_fast_path_session_the_compiled_listener_needs():
    class Host:
        scenario = parse_scenario({"targets": ["ws://127.0.0.1:9/"], "mode": "closed"})
        recorder = object()
        make_message = None

    session = Session(Host(), 0)  # type: ignore[arg-type]
    assert isinstance(session, FastPathSession)  # which includes the SessionHooks


@pytest.mark.parametrize(("cls", "name"), [(PicowsTransport, "picows"), (LeanTransport, "lean"),
                                           (WebsocketsTransport, "websockets")])
def test_each_transport_declares_its_name_and_hot_path(cls, name):
    assert issubclass(cls, Transport) and cls.name == name
    assert cls.hot_path in ("compiled", "python")
