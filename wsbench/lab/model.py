"""The lab's data: what a config generator gets, and what a running lab reports.

Pure data (frozen dataclasses), no I/O. A config generator is a function of a
:class:`ProxyConfig` only, so the same options always give the same config text.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "PROFILES",
    "ALT_HOST",
    "ALT_PATH",
    "REFERENCE_PATH",
    "STICKY_PATH",
    "AFFINITY_COOKIE",
    "ALT_HEADER",
    "ALT_HEADER_VALUE",
    "Backend",
    "ProxyConfig",
    "ProxyInfo",
    "PodInfo",
    "ReferenceInfo",
    "PodNet",
    "LabNet",
    "LabState",
]

#: ``shipped``: the controller's defaults; ``tuned``: the recommended WebSocket settings.
PROFILES = ("shipped", "tuned")
#: Requests with this Host go to the ``alt`` pod set (host-based rule).
ALT_HOST = "alt.wsbench.test"
#: Requests under this path go to the ``alt`` pod set (path-based rule).
ALT_PATH = "/alt"
#: Requests under this path go to the lab's reference echo (fixed standard-library code, one
#: member, never slowed by ``--pod-delay-ms``): the run's calibration probe goes through the
#: proxy under test to it, so its machine factor includes the proxy path but not the pods.
REFERENCE_PATH = "/wsbench-reference"
#: Requests under this path go to the main pods with session affinity on.
STICKY_PATH = "/sticky"
#: Cookie name for cookie affinity (the name ingress-nginx and HAProxy Ingress use).
AFFINITY_COOKIE = "INGRESSCOOKIE"
#: Header-based routing (ingress-nginx ``canary-by-header``, Istio's header match, Traefik's
#: ``Header()``, an HAProxy ACL): a request on the main rule carrying ``X-Canary: always``
#: goes to the ``alt`` pod set.
ALT_HEADER = "X-Canary"
ALT_HEADER_VALUE = "always"


@dataclass(frozen=True)
class Backend:
    """One pod as a proxy sees it."""

    name: str
    host: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class ProxyConfig:
    """Everything a proxy's config generator needs (all paths absolute)."""

    work_dir: str
    port: int
    main: tuple[Backend, ...]
    alt: tuple[Backend, ...]
    profile: str = "shipped"
    listen_host: str = "127.0.0.1"
    tls_port: int | None = None
    cert_file: str | None = None
    key_file: str | None = None
    #: certificate chain + key in one file (HAProxy, Traffic Server want that)
    pem_file: str | None = None
    #: a second free port for proxies with an admin/control listener (Envoy, Caddy, Traffic Server)
    admin_port: int = 0
    #: replaces the profile's idle (tunnel) timeout; tests use short values
    idle_timeout_s: float | None = None
    #: run workers as this user when the lab runs as root (Apache httpd refuses root)
    user: str | None = None
    group: str | None = None
    #: bumped on every reload, so watched files change
    generation: int = 0
    alt_host: str = ALT_HOST
    alt_path: str = ALT_PATH
    #: the reference echo behind ``reference_path`` (None: no such rule)
    reference: Backend | None = None
    reference_path: str = REFERENCE_PATH
    sticky_path: str = STICKY_PATH
    alt_header: str = ALT_HEADER
    alt_header_value: str = ALT_HEADER_VALUE

    @property
    def tls(self) -> bool:
        return self.tls_port is not None


@dataclass(frozen=True)
class ProxyInfo:
    """A running proxy, as ``lab status --json`` shows it."""

    name: str
    url: str
    wss_url: str | None
    pid: int
    profile: str
    version: str
    binary: str
    work_dir: str
    log_file: str
    port: int
    tls_port: int | None = None
    admin_port: int = 0
    start_time: int = 0
    #: older processes still draining after a hot restart (Envoy): (pid, start_time)
    draining: tuple[tuple[int, int], ...] = ()
    generation: int = 0
    idle_timeout_s: float | None = None


@dataclass(frozen=True)
class PodInfo:
    """A running ``wsbench serve`` pod."""

    name: str
    url: str
    pid: int
    host: str
    port: int
    pool: str
    log_file: str
    start_time: int = 0
    netns: str | None = None


@dataclass(frozen=True)
class ReferenceInfo:
    """The lab's reference echo (``wsbench/engine/refecho.py --serve``): a detached member."""

    url: str
    pid: int
    host: str
    port: int
    log_file: str
    start_time: int = 0

    @property
    def backend(self) -> Backend:
        return Backend("reference", self.host, self.port)


@dataclass(frozen=True)
class PodNet:
    """A pod's own network (``--netns``): a namespace and a veth pair into it."""

    pod: str
    #: the network namespace (``ip netns`` name) the pod runs in
    netns: str
    #: the veth end in the root namespace (cut_pod takes it down)
    host_if: str
    #: the veth end inside the namespace
    pod_if: str
    host_addr: str
    #: the pod's own address: it listens here, the proxies connect here
    pod_addr: str
    prefix: int = 30


@dataclass(frozen=True)
class LabNet:
    """The lab's pod networks: its block of 10.0.0.0/8 and one :class:`PodNet` per pod."""

    #: the lab's block (an ``unreachable`` route keeps it off the default route)
    block: str
    #: the alias set on every host-side veth, so ``lab down`` deletes only its own
    tag: str
    pods: tuple[PodNet, ...] = ()

    def of(self, pod: str) -> PodNet | None:
        """The network of ``pod``, or None."""
        return next((net for net in self.pods if net.pod == pod), None)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LabNet:
        return cls(block=data["block"], tag=data["tag"], pods=tuple(PodNet(**p) for p in data.get("pods", ())))


@dataclass(frozen=True)
class LabState:
    """Everything needed to find and stop a lab from another process."""

    name: str
    state_dir: str
    proxies: dict[str, ProxyInfo] = field(default_factory=dict)
    pods: tuple[PodInfo, ...] = ()
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    pem_file: str | None = None
    #: pod networks when the lab runs with ``--netns`` (None: pods on loopback)
    net: LabNet | None = None
    profile: str = "shipped"
    created_at: str = ""
    #: every pod's ``--delay-ms`` (a deliberately slowed lab; restarted pods keep it)
    pod_delay_ms: float = 0.0
    #: the reference echo behind every proxy's ``REFERENCE_PATH`` (None: an older lab)
    reference: ReferenceInfo | None = None

    def to_json(self) -> dict[str, Any]:
        """The full state (what the state file holds)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LabState:
        proxies = {
            name: ProxyInfo(**{**info, "draining": tuple(tuple(d) for d in info.get("draining", ()))})
            for name, info in data.get("proxies", {}).items()
        }
        pods = tuple(PodInfo(**pod) for pod in data.get("pods", ()))
        net = LabNet.from_json(data["net"]) if data.get("net") else None
        reference = ReferenceInfo(**data["reference"]) if data.get("reference") else None
        rest = {k: v for k, v in data.items() if k not in ("proxies", "pods", "net", "netns", "reference")}
        return cls(proxies=proxies, pods=pods, net=net, reference=reference, **rest)

    def status(self) -> dict[str, Any]:
        """The public view: what ``wsbench lab status --json`` prints."""
        return {
            "name": self.name,
            "proxies": {
                name: {
                    "url": p.url,
                    "wss_url": p.wss_url,
                    "pid": p.pid,
                    "profile": p.profile,
                    "version": p.version,
                }
                for name, p in self.proxies.items()
            },
            "pods": [
                {"name": p.name, "url": p.url, "pid": p.pid, **({"netns": p.netns} if p.netns else {})}
                for p in self.pods
            ],
            **({"reference": {"url": self.reference.url, "pid": self.reference.pid}} if self.reference else {}),
            "ca_file": self.ca_file,
        }
