"""The lab's pod networks (``--netns``): namespaces, veth pairs and routes, made with ``ip``.

Needs root (``require_root`` is checked first). The plan (names, addresses) is pure
(:mod:`wsbench.lab.netplan`); this module only runs ``ip``. Everything it creates is
named in the lab's state before it exists, so ``lab down`` from any process, or a failed
``up``, removes it; host-side veths carry the lab's tag as their alias and are deleted
only when the tag matches.

    with block_lock():
        net = plan(lab_name, ["pod-0", "pod-1"])
        save(...)                 # record it first
        create(net)
    cut(net.pods[0]); restore(net.pods[0])
    destroy(net)
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from ipaddress import IPv4Interface, IPv4Network
from pathlib import Path

from wsbench.errors import LabError, UsageError
from wsbench.lab.model import LabNet, PodNet
from wsbench.lab.netplan import block_prefix, pick_block, plan_net, routed_networks

__all__ = [
    "require_root",
    "block_lock",
    "plan",
    "create",
    "cut",
    "restore",
    "is_cut",
    "namespaces",
    "namespace_pids",
    "destroy",
    "TAG_PREFIX",
]

#: host-side veths carry ``TAG_PREFIX + <random>`` as their alias
TAG_PREFIX = "wsbench-lab:"
#: one lab at a time picks and claims a block
LOCK_FILE = Path("/run/wsbench-lab-net.lock")
_IP_TIMEOUT_S = 30.0
_IFF_UP = 0x1


def require_root() -> None:
    """Raise a one-line UsageError unless this process can create network namespaces."""
    if os.geteuid() != 0:
        raise UsageError(
            "lab: --netns needs root (it creates network namespaces and veth pairs); "
            "run as root or leave out --netns"
        )
    if shutil.which("ip") is None:
        raise UsageError("lab: --netns needs the ip command (apt-get install iproute2)")


def _ip(args: Sequence[str], *, batch: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``ip ARGS`` (``batch``: commands on stdin, one a line)."""
    argv = ["ip", *args]
    if batch is not None:
        argv += ["-batch", "-"]
    try:
        done = subprocess.run(
            argv, input=batch, capture_output=True, text=True, timeout=_IP_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LabError(f"lab: {' '.join(argv)}: {exc}") from exc
    if check and done.returncode != 0:
        what = " ".join(argv) + (f" <<{batch.strip()!r}" if batch else "")
        raise LabError(f"lab: {what} failed: {(done.stderr or done.stdout).strip()}")
    return done


@contextlib.contextmanager
def block_lock() -> Iterator[None]:
    """Held while a lab picks its block and creates its networks (labs starting at once)."""
    with open(LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def plan(lab: str, pods: Sequence[str]) -> LabNet:
    """A free block (no route of this machine touches it) and every pod's network in it.
    Call under :func:`block_lock` and create it before releasing the lock."""
    routes = _ip(["-4", "-o", "route", "show", "table", "all"]).stdout.splitlines()
    try:
        block = pick_block(routed_networks(routes), block_prefix(len(pods)))
    except LookupError as exc:
        raise LabError(f"lab: {exc}") from exc
    return plan_net(lab, block, pods, tag=TAG_PREFIX + uuid.uuid4().hex[:12])


def create(net: LabNet) -> None:
    """The block's unreachable route, then per pod: namespace, veth pair, addresses, links up."""
    lines = [f"route add unreachable {net.block}"]
    for pod in net.pods:
        lines += [
            f"netns add {pod.netns}",
            f"link add {pod.host_if} type veth peer name {pod.pod_if} netns {pod.netns}",
            f"link set dev {pod.host_if} alias {net.tag}",
            f"addr add {pod.host_addr}/{pod.prefix} dev {pod.host_if}",
            f"link set dev {pod.host_if} up",
        ]
    _ip([], batch="\n".join(lines) + "\n")
    for pod in net.pods:
        inside = [
            "link set dev lo up",
            f"addr add {pod.pod_addr}/{pod.prefix} dev {pod.pod_if}",
            f"link set dev {pod.pod_if} up",
        ]
        _ip(["-n", pod.netns], batch="\n".join(inside) + "\n")


def cut(pod: PodNet) -> None:
    """Take the host end of the pod's veth down: its address is unroutable from the host
    (a connect fails at once with "no route to host"; packets of open sessions go nowhere)."""
    _ip(["link", "set", "dev", pod.host_if, "down"])


def restore(pod: PodNet) -> None:
    """Bring the host end up again (the address and route come back)."""
    _ip(["link", "set", "dev", pod.host_if, "up"])


def is_cut(pod: PodNet) -> bool:
    """Whether the host end of the pod's veth is down."""
    try:
        flags = int(Path(f"/sys/class/net/{pod.host_if}/flags").read_text(), 16)
    except (OSError, ValueError) as exc:
        raise LabError(f"lab: veth {pod.host_if} of {pod.pod} is gone") from exc
    return not flags & _IFF_UP


def namespaces() -> set[str]:
    """Every named network namespace (``ip netns list``)."""
    done = _ip(["netns", "list"], check=False)
    return {line.split()[0] for line in done.stdout.splitlines() if line.strip()}


def namespace_pids(name: str) -> list[int]:
    """Processes inside the namespace ``name`` (none when it does not exist)."""
    done = _ip(["netns", "pids", name], check=False)
    return [int(word) for word in done.stdout.split() if word.isdigit()]


def _alias(ifname: str) -> str | None:
    try:
        return Path(f"/sys/class/net/{ifname}/ifalias").read_text().strip()
    except OSError:
        return None


def _kill_inside(names: Sequence[str], timeout: float = 5.0) -> None:
    """SIGKILL whatever still runs inside these (the lab's own) namespaces, wait until gone."""
    deadline = time.monotonic() + timeout
    while True:
        pids = [pid for name in names for pid in namespace_pids(name)]
        if not pids or time.monotonic() > deadline:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        time.sleep(0.02)


def _block_in_use(block: IPv4Network) -> bool:
    """Whether some interface of the root namespace still has an address in ``block``."""
    done = _ip(["-4", "-o", "addr", "show"], check=False)
    for line in done.stdout.splitlines():
        words = line.split()
        if "inet" in words:
            if IPv4Interface(words[words.index("inet") + 1]).ip in block:
                return True
    return False


def destroy(net: LabNet) -> list[str]:
    """Remove every namespace, veth pair and the route of ``net``; idempotent.

    Processes still inside the namespaces are killed first. Returns what is still there
    afterwards (empty when all is gone)."""
    existing = namespaces()
    ours = [pod.netns for pod in net.pods if pod.netns in existing]
    _kill_inside(ours)
    with block_lock():  # no other lab claims the block while its route goes
        lines = [f"link del {pod.host_if}" for pod in net.pods if _alias(pod.host_if) == net.tag]
        lines += [f"netns del {name}" for name in ours]
        if lines:
            _ip(["-force"], batch="\n".join(lines) + "\n", check=False)
        block = IPv4Network(net.block)
        if not _block_in_use(block):  # else another lab holds it now (this state was stale)
            _ip(["route", "del", "unreachable", str(block)], check=False)
    left = [f"namespace {name}" for name in namespaces() & {pod.netns for pod in net.pods}]
    left += [f"veth {pod.host_if}" for pod in net.pods if _alias(pod.host_if) == net.tag]
    return left
