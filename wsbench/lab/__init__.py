"""The lab: real ingress proxies, configured as their Kubernetes controllers ship them,
in front of ``wsbench serve`` pods, all on loopback (or, with ``netns``, each pod in its
own network namespace on a veth pair, so it can be cut off the network).

    from wsbench.lab import Lab, LabOptions
    with Lab.up(LabOptions(proxies=("nginx", "envoy"))) as lab:
        lab.targets()   # {"nginx": "ws://127.0.0.1:PORT/", "envoy": ...}
"""

from __future__ import annotations

from wsbench.lab.lab import Lab, LabOptions, missing_proxies, proxy_config
from wsbench.lab.model import (
    AFFINITY_COOKIE,
    ALT_HEADER,
    ALT_HEADER_VALUE,
    ALT_HOST,
    ALT_PATH,
    PROFILES,
    REFERENCE_PATH,
    STICKY_PATH,
    Backend,
    LabNet,
    LabState,
    PodInfo,
    PodNet,
    ProxyConfig,
    ProxyInfo,
    ReferenceInfo,
)
from wsbench.lab.proxies import MUST_WORK, PROXIES, ProxySpec, get_spec

__all__ = [
    "Lab",
    "LabOptions",
    "LabState",
    "LabNet",
    "ProxyInfo",
    "PodInfo",
    "PodNet",
    "ReferenceInfo",
    "ProxyConfig",
    "Backend",
    "ProxySpec",
    "PROXIES",
    "MUST_WORK",
    "PROFILES",
    "ALT_HOST",
    "ALT_HEADER",
    "ALT_HEADER_VALUE",
    "ALT_PATH",
    "REFERENCE_PATH",
    "STICKY_PATH",
    "AFFINITY_COOKIE",
    "get_spec",
    "missing_proxies",
    "proxy_config",
]
