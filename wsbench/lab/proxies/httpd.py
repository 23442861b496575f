"""Apache httpd 2.4 as a generic ingress (httpd's own defaults).

WebSockets: ``upgrade=websocket`` on each ``BalancerMember`` (httpd 2.4.47+, handled
by mod_proxy_http). Affinity: mod_proxy_balancer's ``stickysession`` with a route
cookie set by mod_headers.
"""

from __future__ import annotations

import signal

from wsbench.lab.model import AFFINITY_COOKIE, Backend, ProxyConfig
from wsbench.lab.proxies.base import ProxySpec, Reload, seconds

__all__ = ["SPEC", "render", "argv", "idle_timeout_s", "MODULES"]

SHIPPED_IDLE_S = 60.0
TUNED_IDLE_S = 3600.0
MODULE_DIR = "/usr/lib/apache2/modules"
MODULES = (
    ("mpm_event_module", "mod_mpm_event.so"),
    ("authz_core_module", "mod_authz_core.so"),
    ("headers_module", "mod_headers.so"),
    ("proxy_module", "mod_proxy.so"),
    ("proxy_http_module", "mod_proxy_http.so"),
    ("proxy_wstunnel_module", "mod_proxy_wstunnel.so"),
    ("proxy_balancer_module", "mod_proxy_balancer.so"),
    ("slotmem_shm_module", "mod_slotmem_shm.so"),
    ("lbmethod_byrequests_module", "mod_lbmethod_byrequests.so"),
    ("ssl_module", "mod_ssl.so"),
    ("setenvif_module", "mod_setenvif.so"),
    ("socache_shmcb_module", "mod_socache_shmcb.so"),
    ("rewrite_module", "mod_rewrite.so"),
)


def idle_timeout_s(profile: str) -> float | None:
    """``ProxyTimeout`` (defaults to ``Timeout`` 60 s): what closes an idle tunnel."""
    return SHIPPED_IDLE_S if profile == "shipped" else TUNED_IDLE_S


def _balancer(name: str, pods: tuple[Backend, ...], profile: str, sticky: bool = False) -> list[str]:
    lines = [f"<Proxy balancer://{name}>"]
    for pod in pods:
        route = f" route={pod.name}" if sticky else ""
        if profile == "shipped":
            retry = " retry=60"  # httpd: a failed member is skipped for 60 s
        else:
            retry = " retry=5"
        lines.append(f"    BalancerMember http://{pod.address} upgrade=websocket{route}{retry}")
    lines.append("    ProxySet lbmethod=byrequests  # httpd: lbmethod byrequests (round robin)")
    if sticky:
        lines.append(f"    ProxySet stickysession={AFFINITY_COOKIE}")
    lines.append("</Proxy>")
    return lines


def _vhost(config: ProxyConfig, port: int, tls: bool, alt: bool) -> list[str]:
    lines = [f"<VirtualHost {config.listen_host}:{port}>"]
    lines.append(f"    ServerName {config.alt_host if alt else 'wsbench.test'}")
    if tls:
        lines += [
            "    SSLEngine on",
            f"    SSLCertificateFile {config.cert_file}",
            f"    SSLCertificateKeyFile {config.key_file}",
            '    RequestHeader set X-Forwarded-Proto "https"',
        ]
    else:
        lines.append('    RequestHeader set X-Forwarded-Proto "http"')
    if alt:
        lines.append("    ProxyPass / balancer://alt/")
    else:
        if config.reference is not None:  # the reference echo
            path = config.reference_path
            lines.append(f"    ProxyPass {path} balancer://ref{path}")
        lines += [
            f"    ProxyPass {config.alt_path} balancer://alt{config.alt_path}",
            f"    ProxyPass {config.sticky_path} balancer://sticky{config.sticky_path}",
            "    RewriteEngine On  # header-based routing: mod_rewrite [P] to the alt balancer",
            f"    RewriteCond %{{HTTP:{config.alt_header}}} ={config.alt_header_value}",
            f"    RewriteCond %{{REQUEST_URI}} !^{config.sticky_path}",
            *([f"    RewriteCond %{{REQUEST_URI}} !^{config.reference_path}"] if config.reference is not None else []),
            "    RewriteRule ^/(.*)$ balancer://alt/$1 [P]",
            "    ProxyPass / balancer://main/",
        ]
    lines.append("</VirtualHost>")
    return lines


def render(config: ProxyConfig) -> dict[str, str]:
    """``httpd.conf`` for this lab."""
    wd = config.work_dir
    idle = config.idle_timeout_s if config.idle_timeout_s is not None else idle_timeout_s(config.profile)
    lines = [f"# wsbench lab: Apache httpd, profile {config.profile} (generation {config.generation})"]
    lines += [f"LoadModule {name} {MODULE_DIR}/{file}" for name, file in MODULES]
    lines += [
        f"ServerRoot {wd}",
        f"PidFile {wd}/httpd.pid",
        f"DefaultRuntimeDir {wd}/run",
        f"Mutex file:{wd}/run default",
        "ErrorLog /dev/stderr",
        "LogLevel warn",
        "ServerName wsbench.test",
    ]
    if config.user:
        lines += [f"User {config.user}", f"Group {config.group or config.user}"]
    lines += [f"Listen {config.listen_host}:{config.port}"]
    if config.tls:
        lines += [f"Listen {config.listen_host}:{config.tls_port}", f"SSLSessionCache shmcb:{wd}/run/ssl_scache(512000)"]
    lines += [
        f"Timeout {seconds(idle)}  # httpd: Timeout 60 (a tunnel idles out after max(Timeout, ProxyTimeout))",
        f"ProxyTimeout {seconds(idle)}  # httpd: ProxyTimeout = Timeout 60",
        "ProxyPreserveHost On  # ingress: keep the client's Host",
        "ProxyAddHeaders On  # httpd: X-Forwarded-For/-Host/-Server",
        "KeepAliveTimeout 5  # httpd: KeepAliveTimeout 5",
        "ServerLimit 4",
        "ThreadLimit 256",
        "ThreadsPerChild 256",
        "MaxRequestWorkers 1024",
        "GracefulShutdownTimeout 0  # httpd: graceful stop waits forever"
        if config.profile == "shipped"
        else "GracefulShutdownTimeout 3600  # tuned",
        f'Header always add Set-Cookie "{AFFINITY_COOKIE}=.%{{BALANCER_WORKER_ROUTE}}e; path=/" env=BALANCER_ROUTE_CHANGED',
    ]
    lines += _balancer("main", config.main, config.profile)
    lines += _balancer("sticky", config.main, config.profile, sticky=True)
    lines += _balancer("alt", config.alt, config.profile)
    if config.reference is not None:
        lines += _balancer("ref", (config.reference,), config.profile)
    ports = [(config.port, False)] + ([(config.tls_port, True)] if config.tls_port is not None else [])
    for port, tls in ports:
        lines += _vhost(config, port, tls, alt=False)
        lines += _vhost(config, port, tls, alt=True)
    return {"httpd.conf": "\n".join(_comments_above(lines)) + "\n"}


def _comments_above(lines: list[str]) -> list[str]:
    """httpd has no trailing comments: move each ``  # ...`` above its line."""
    out = []
    for line in lines:
        body, sep, comment = line.partition("  # ")
        if sep:
            indent = body[: len(body) - len(body.lstrip())]
            out.append(f"{indent}# {comment}")
        out.append(body)
    return out


def argv(config: ProxyConfig, binary: str) -> list[str]:
    return [binary, "-d", config.work_dir, "-f", f"{config.work_dir}/httpd.conf", "-DFOREGROUND"]


SPEC = ProxySpec(
    name="httpd",
    title="Apache httpd",
    controller="none (generic proxy; httpd defaults)",
    binaries=("apache2", "httpd"),
    render=render,
    argv=argv,
    version_args=("-v",),
    reload=Reload("signal", signal=signal.SIGUSR1),
    idle_timeout_s=idle_timeout_s,
    idle_override=True,
    affinity="cookie",
    cannot=("active health checks in the shipped profile (mod_proxy_hcheck is off by default)",),
    package=("apt", "apache2"),
    dirs=("run",),
)
