"""The lab's pod network plan (``--netns``): names and addresses, pure.

Each lab takes one block of 10.0.0.0/8 (a /24, larger for more than 64 pods) that no
route of this machine touches. Pod ``i`` gets the ``i``-th /30 of it: ``.1`` on the host
end of a veth pair in the root namespace, ``.2`` on the pod end (called ``eth0``, as in a
Kubernetes pod) inside the pod's own network namespace. The whole block also gets an
``unreachable`` route, so an address of a cut pod never falls back to the default route.

    block = pick_block(routed_networks(route_lines), block_prefix(4))
    net = plan_net("tests", block, ["pod-0", "pod-1", "pod-2", "alt-0"], tag="wsbench-lab:1a2b")
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Iterable, Sequence
from ipaddress import IPv4Network

from wsbench.lab.model import LabNet, PodNet

__all__ = [
    "POOL",
    "FIRST_BLOCK",
    "IFNAME_MAX",
    "POD_IFNAME",
    "block_prefix",
    "routed_networks",
    "pick_block",
    "plan_net",
    "namespace_name",
    "host_ifname",
]

#: where lab blocks come from
POOL = IPv4Network("10.0.0.0/8")
#: the search for a free block starts here (away from 10.0.x and Kubernetes' usual 10.96/12, 10.244/16)
FIRST_BLOCK = IPv4Network("10.201.0.0/24")
#: Linux interface names are at most 15 characters (IFNAMSIZ - 1)
IFNAME_MAX = 15
#: the pod end's name inside its namespace
POD_IFNAME = "eth0"
#: a /30 per pod: network, host end, pod end, broadcast
_POD_PREFIX = 30
_ROUTE_TYPES = {"unicast", "local", "broadcast", "multicast", "unreachable", "blackhole", "prohibit", "throw", "nat", "anycast"}
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def block_prefix(pods: int) -> int:
    """The prefix length of a block with a /30 for each of ``pods`` pods (at most /24)."""
    if pods < 1:
        raise ValueError("a lab block needs at least one pod")
    return min(24, _POD_PREFIX - math.ceil(math.log2(pods)))


def routed_networks(route_lines: Iterable[str]) -> list[IPv4Network]:
    """The IPv4 destinations in ``ip -4 -o route show table all`` output (default routes left out)."""
    found = []
    for line in route_lines:
        words = line.split()
        if words and words[0] in _ROUTE_TYPES:
            words = words[1:]
        if not words or words[0] == "default":
            continue
        try:
            found.append(IPv4Network(words[0], strict=False))
        except ValueError:
            continue
    return found


def pick_block(taken: Sequence[IPv4Network], prefix: int, *, first: IPv4Network = FIRST_BLOCK) -> IPv4Network:
    """The first block of length ``prefix`` in :data:`POOL`, from ``first`` on (wrapping
    around), that overlaps none of ``taken``. Raises LookupError when the pool is full."""
    size = 2 ** (32 - prefix)
    count = POOL.num_addresses // size
    start = (int(first.network_address) - int(POOL.network_address)) // size
    relevant = [net for net in taken if net.overlaps(POOL) and net.prefixlen > 0]
    for step in range(count):
        index = (start + step) % count
        candidate = IPv4Network((int(POOL.network_address) + index * size, prefix))
        if not any(candidate.overlaps(net) for net in relevant):
            return candidate
    raise LookupError(f"no free /{prefix} left in {POOL}")


def _block_index(block: IPv4Network) -> int:
    """The block's number among the /24s of the pool (unique among live labs)."""
    return (int(block.network_address) - int(POOL.network_address)) >> 8


def namespace_name(lab: str, block: IPv4Network, pod: str) -> str:
    """``wsb-<lab>-<block number>-<pod>``: readable, and unique even for two labs of one name."""
    safe = _UNSAFE.sub("_", lab)[:40] or "lab"
    return f"wsb-{safe}-{_block_index(block)}-{pod}"


def host_ifname(block: IPv4Network, pod_index: int) -> str:
    """The host end of pod ``pod_index``'s veth: ``wsb<block number>v<pod index>``."""
    name = f"wsb{_block_index(block)}v{pod_index}"
    assert len(name) <= IFNAME_MAX, name
    return name


def plan_net(lab: str, block: IPv4Network, pods: Sequence[str], *, tag: str) -> LabNet:
    """Namespaces, veth names and addresses for ``pods`` inside ``block``."""
    if len(pods) * 4 > block.num_addresses:
        raise ValueError(f"{block} has no room for {len(pods)} pods")
    base = int(block.network_address)
    plans = []
    for index, pod in enumerate(pods):
        subnet = base + 4 * index
        plans.append(
            PodNet(
                pod=pod,
                netns=namespace_name(lab, block, pod),
                host_if=host_ifname(block, index),
                pod_if=POD_IFNAME,
                host_addr=str(ipaddress.IPv4Address(subnet + 1)),
                pod_addr=str(ipaddress.IPv4Address(subnet + 2)),
                prefix=_POD_PREFIX,
            )
        )
    return LabNet(block=str(block), tag=tag, pods=tuple(plans))
