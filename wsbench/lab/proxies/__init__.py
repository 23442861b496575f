"""The proxies the lab can run, by name (one small module each)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from wsbench.lab.proxies import caddy, envoy, haproxy, httpd, nginx, traefik, trafficserver
from wsbench.lab.proxies.base import ProxySpec

__all__ = ["PROXIES", "MUST_WORK", "ProxySpec", "get_spec"]

#: every proxy the lab knows, by name
PROXIES: Mapping[str, ProxySpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            nginx.SPEC,
            haproxy.SPEC,
            envoy.SPEC,
            traefik.SPEC,
            caddy.SPEC,
            trafficserver.SPEC,
            httpd.SPEC,
        )
    }
)
#: the proxies issue 3 requires
MUST_WORK: tuple[str, ...] = ("nginx", "haproxy", "envoy", "traefik", "caddy", "trafficserver", "httpd")


def get_spec(name: str) -> ProxySpec:
    """The spec of a proxy by name; KeyError lists the known names."""
    try:
        return PROXIES[name]
    except KeyError:
        raise KeyError(f"unknown proxy {name!r} (known: {', '.join(PROXIES)})") from None
