"""nginx as ingress-nginx configures it.

ingress-nginx balances in Lua (round robin by default) and does cookie affinity in
Lua too; Debian's nginx has neither, so balancing is nginx's own round robin and
affinity is ``hash $remote_addr consistent`` (what ``upstream-hash-by`` gives).
"""

from __future__ import annotations

import signal

from wsbench.lab.model import Backend, ProxyConfig
from wsbench.lab.proxies.base import ProxySpec, Reload, seconds

__all__ = ["SPEC", "render", "argv", "idle_timeout_s"]

SHIPPED_IDLE_S = 60.0
TUNED_IDLE_S = 3600.0


def idle_timeout_s(profile: str) -> float | None:
    """proxy-read-timeout: what closes an idle WebSocket session."""
    return SHIPPED_IDLE_S if profile == "shipped" else TUNED_IDLE_S


def _upstream(name: str, pods: tuple[Backend, ...], profile: str, sticky: bool = False) -> list[str]:
    lines = [f"    upstream {name} {{"]
    if sticky:
        lines.append("        hash $remote_addr consistent;  # ingress-nginx: upstream-hash-by (no Lua cookie affinity here)")
    for pod in pods:
        if profile == "shipped":
            lines.append(f"        server {pod.address} max_fails=0;  # ingress-nginx: Lua balancer, no passive checks")
        else:
            lines.append(f"        server {pod.address} max_fails=1 fail_timeout=10s;  # tuned: passive health check")
    lines.append("        keepalive 320;  # ingress-nginx: upstream-keepalive-connections 320")
    lines.append("    }")
    return lines


def _locations(config: ProxyConfig, default_pool: str) -> list[str]:
    reference = ([f"        location {config.reference_path} {{ proxy_pass http://ref; }}  # the reference echo"]
                 if config.reference is not None else [])
    return [
        *reference,
        f"        location {config.alt_path} {{ proxy_pass http://alt; }}",
        f"        location {config.sticky_path} {{ proxy_pass http://sticky; }}",
        f"        location / {{ proxy_pass http://${default_pool}_pool; }}  # canary-by-header: the map above",
    ]


def render(config: ProxyConfig) -> dict[str, str]:
    """``nginx.conf`` for this lab."""
    shipped = config.profile == "shipped"
    wd = config.work_dir
    idle = config.idle_timeout_s if config.idle_timeout_s is not None else idle_timeout_s(config.profile)
    host = config.listen_host
    lines = [
        f"# wsbench lab: nginx, profile {config.profile} (generation {config.generation})",
        "daemon off;",
        "worker_processes 2;  # ingress-nginx: worker-processes = number of CPUs",
        f"pid {wd}/nginx.pid;",
        "error_log stderr notice;",
        "worker_rlimit_nofile 16384;  # ingress-nginx: max-worker-open-files (derived)",
    ]
    if shipped:
        lines.append("worker_shutdown_timeout 240s;  # ingress-nginx: worker-shutdown-timeout 240s")
    else:
        lines.append("worker_shutdown_timeout 3600s;  # tuned: old workers keep sessions 1 h after a reload")
    lines += [
        "events {",
        "    worker_connections 16384;  # ingress-nginx: max-worker-connections 16384",
        "    multi_accept on;  # ingress-nginx: enable-multi-accept true",
        "}",
        "http {",
        "    access_log off;",
        f"    client_body_temp_path {wd}/tmp/body;",
        f"    proxy_temp_path {wd}/tmp/proxy;",
        f"    fastcgi_temp_path {wd}/tmp/fastcgi;",
        f"    uwsgi_temp_path {wd}/tmp/uwsgi;",
        f"    scgi_temp_path {wd}/tmp/scgi;",
        "    map $http_upgrade $connection_upgrade {  # ingress-nginx: same map",
        "        default upgrade;",
        "        '' close;",
        "    }",
        "    proxy_http_version 1.1;  # ingress-nginx: proxy-http-version 1.1",
        "    proxy_set_header Upgrade $http_upgrade;",
        "    proxy_set_header Connection $connection_upgrade;",
        "    proxy_set_header Host $host;",
        "    proxy_set_header X-Request-ID $request_id;",
        "    proxy_set_header X-Real-IP $remote_addr;",
        "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "    proxy_set_header X-Forwarded-Host $host;",
        "    proxy_set_header X-Forwarded-Port $server_port;",
        "    proxy_set_header X-Forwarded-Proto $scheme;",
        "    proxy_connect_timeout 5s;  # ingress-nginx: proxy-connect-timeout 5",
        f"    proxy_read_timeout {seconds(idle)}s;  # ingress-nginx: proxy-read-timeout 60",
        f"    proxy_send_timeout {seconds(idle)}s;  # ingress-nginx: proxy-send-timeout 60",
        "    proxy_buffering off;  # ingress-nginx: proxy-buffering off",
        "    proxy_next_upstream error timeout;  # ingress-nginx: proxy-next-upstream 'error timeout'",
        "    proxy_next_upstream_tries 3;  # ingress-nginx: proxy-next-upstream-tries 3",
        "    proxy_next_upstream_timeout 0;  # ingress-nginx: proxy-next-upstream-timeout 0",
        "    keepalive_timeout 75s;  # ingress-nginx: keep-alive 75",
    ]
    lines += _upstream("main", config.main, config.profile)
    lines += _upstream("sticky", config.main, config.profile, sticky=True)
    lines += _upstream("alt", config.alt, config.profile)
    if config.reference is not None:
        lines += _upstream("ref", (config.reference,), config.profile)
    header = "$http_" + config.alt_header.lower().replace("-", "_")
    lines += [f"    map {header} $main_pool {{  # ingress-nginx: canary-by-header {config.alt_header}",
              f"        {config.alt_header_value} alt;", "        default main;", "    }"]
    lines += ["    server {", f"        listen {host}:{config.port} default_server;"]
    if config.tls:
        lines += _tls_lines(config)
    lines += ["        server_name _;"]
    lines += _locations(config, "main")
    lines += ["    }", "    server {", f"        listen {host}:{config.port};"]
    if config.tls:
        lines += _tls_lines(config, default=False)
    lines += [f"        server_name {config.alt_host};", "        location / { proxy_pass http://alt; }", "    }", "}"]
    return {"nginx.conf": "\n".join(lines) + "\n"}


def _tls_lines(config: ProxyConfig, default: bool = True) -> list[str]:
    flag = " default_server" if default else ""
    return [
        f"        listen {config.listen_host}:{config.tls_port} ssl{flag};",
        f"        ssl_certificate {config.cert_file};",
        f"        ssl_certificate_key {config.key_file};",
        "        ssl_protocols TLSv1.2 TLSv1.3;  # ingress-nginx: ssl-protocols TLSv1.2 TLSv1.3",
    ]


def argv(config: ProxyConfig, binary: str) -> list[str]:
    """Run in the foreground with every path under the work dir."""
    return [binary, "-p", config.work_dir + "/", "-c", f"{config.work_dir}/nginx.conf", "-e", "stderr"]


SPEC = ProxySpec(
    name="nginx",
    title="nginx",
    controller="ingress-nginx",
    binaries=("nginx",),
    render=render,
    argv=argv,
    version_args=("-v",),
    reload=Reload("signal", signal=signal.SIGHUP),
    idle_timeout_s=idle_timeout_s,
    idle_override=True,
    affinity="source",
    cannot=(
        "cookie affinity (ingress-nginx does it in Lua; source-address hash instead)",
        "active health checks (open-source nginx: passive only)",
        "endpoint changes without reload (ingress-nginx's Lua balancer)",
    ),
    package=("apt", "nginx"),
    dirs=("tmp",),
)
