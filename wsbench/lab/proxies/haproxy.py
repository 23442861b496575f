"""HAProxy as HAProxy Ingress (jcmoraisjr/haproxy-ingress) configures it.

In http mode WebSockets need nothing; after the 101 only ``timeout tunnel`` applies.
"""

from __future__ import annotations

import signal

from wsbench.lab.model import AFFINITY_COOKIE, Backend, ProxyConfig
from wsbench.lab.proxies.base import ProxySpec, Reload, seconds

__all__ = ["SPEC", "render", "argv", "idle_timeout_s"]

SHIPPED_TUNNEL_S = 3600.0
TUNED_TUNNEL_S = 3600.0


def idle_timeout_s(profile: str) -> float | None:
    """``timeout tunnel``: what closes an idle WebSocket session."""
    return SHIPPED_TUNNEL_S if profile == "shipped" else TUNED_TUNNEL_S


def _backend(name: str, pods: tuple[Backend, ...], profile: str, sticky: bool = False) -> list[str]:
    lines = [
        f"backend {name}",
        "    balance roundrobin  # HAProxy Ingress: balance-algorithm roundrobin",
    ]
    if sticky:
        lines.append(
            f"    cookie {AFFINITY_COOKIE} insert indirect nocache  # HAProxy Ingress: affinity cookie, session-cookie-name {AFFINITY_COOKIE}"
        )
    for pod in pods:
        cookie = f" cookie {pod.name}" if sticky else ""
        if profile == "shipped":
            check = " check inter 2s"  # HAProxy Ingress: backend-check-interval 2s
        else:
            check = " check inter 1s fall 1 rise 2"
        lines.append(f"    server {pod.name} {pod.address}{check}{cookie}")
    return lines


def render(config: ProxyConfig) -> dict[str, str]:
    """``haproxy.cfg`` for this lab."""
    shipped = config.profile == "shipped"
    tunnel = config.idle_timeout_s if config.idle_timeout_s is not None else idle_timeout_s(config.profile)
    host = config.listen_host
    lines = [
        f"# wsbench lab: HAProxy, profile {config.profile} (generation {config.generation})",
        "global",
        "    master-worker  # HAProxy Ingress: runs master-worker, reload = new workers",
        f"    pidfile {config.work_dir}/haproxy.pid",
        "    log stderr format short local0 notice",
        "    maxconn 8000",
        "    nbthread 2",
    ]
    if shipped:
        lines.append("    hard-stop-after 10m  # HAProxy Ingress: timeout-stop 10m (old workers after a reload)")
    else:
        lines.append("    hard-stop-after 1h  # tuned: old workers keep sessions 1 h after a reload")
    lines += [
        "defaults",
        "    mode http",
        "    log global",
        "    option redispatch  # HAProxy Ingress: redispatch on (retry on another server)",
        "    retries 3",
        "    option forwardfor  # HAProxy Ingress: forwardfor add",
        "    option http-server-close" if not shipped else "    option http-keep-alive  # HAProxy Ingress: http-server-close false",
        "    timeout connect 5s  # HAProxy Ingress: timeout-connect 5s",
        "    timeout client 50s  # HAProxy Ingress: timeout-client 50s",
        "    timeout client-fin 50s  # HAProxy Ingress: timeout-client-fin 50s",
        "    timeout server 50s  # HAProxy Ingress: timeout-server 50s",
        "    timeout server-fin 50s  # HAProxy Ingress: timeout-server-fin 50s",
        "    timeout http-request 5s  # HAProxy Ingress: timeout-http-request 5s",
        "    timeout http-keep-alive 1m  # HAProxy Ingress: timeout-keep-alive 1m",
        "    timeout queue 5s  # HAProxy Ingress: timeout-queue 5s",
        f"    timeout tunnel {seconds(tunnel)}s  # HAProxy Ingress: timeout-tunnel 1h",
        "frontend ingress",
        f"    bind {host}:{config.port}",
    ]
    if config.tls:
        lines.append(f"    bind {host}:{config.tls_port} ssl crt {config.pem_file}")
    lines += [
        "    http-request set-header X-Forwarded-Proto https if { ssl_fc }",
        "    http-request set-header X-Forwarded-Proto http if !{ ssl_fc }",
        *([f"    acl ref_path path_beg {config.reference_path}", "    use_backend ref if ref_path  # the reference echo"]
          if config.reference is not None else []),
        f"    acl alt_host hdr(host),field(1,:) -i {config.alt_host}",
        f"    acl alt_path path_beg {config.alt_path}",
        f"    acl sticky_path path_beg {config.sticky_path}",
        f"    acl canary req.hdr({config.alt_header}) -m str {config.alt_header_value}",
        "    use_backend alt if alt_host or alt_path",
        "    use_backend sticky if sticky_path",
        "    use_backend alt if canary  # header-based routing (an ACL)",
        "    default_backend main",
    ]
    lines += _backend("main", config.main, config.profile)
    lines += _backend("sticky", config.main, config.profile, sticky=True)
    lines += _backend("alt", config.alt, config.profile)
    if config.reference is not None:
        lines += _backend("ref", (config.reference,), config.profile)
    return {"haproxy.cfg": "\n".join(lines) + "\n"}


def argv(config: ProxyConfig, binary: str) -> list[str]:
    """Master-worker in the foreground (SIGUSR2 to the master reloads)."""
    return [binary, "-W", "-f", f"{config.work_dir}/haproxy.cfg"]


SPEC = ProxySpec(
    name="haproxy",
    title="HAProxy",
    controller="HAProxy Ingress",
    binaries=("haproxy",),
    render=render,
    argv=argv,
    version_args=("-v",),
    reload=Reload("signal", signal=signal.SIGUSR2),
    idle_timeout_s=idle_timeout_s,
    idle_override=True,
    affinity="cookie",
    cannot=(),
    package=("apt", "haproxy"),
)
