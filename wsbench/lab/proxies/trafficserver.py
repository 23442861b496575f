"""Apache Traffic Server as the ATS ingress controller runs it (ATS defaults).

WebSockets need a ``map ws://…`` remap rule. Pods are parents (parent.config); ATS
treats a parent on 127.0.0.1 as itself, so the lab's pods listen on 127.0.0.2.
Everything (config, logs, runtime, cache) lives under the work dir via its own
``runroot.yaml``; names resolve from a local hosts file, never external DNS.
"""

from __future__ import annotations

from wsbench.lab.model import Backend, ProxyConfig
from wsbench.lab.proxies.base import ProxySpec, Reload, seconds

__all__ = ["SPEC", "render", "argv", "idle_timeout_s", "reload_command", "POOLS", "REFERENCE_POOL"]

SHIPPED_IDLE_S = 600.0
TUNED_IDLE_S = 3600.0
#: origin names the remap rules use; the hosts file and parent.config give their pods
POOLS = {"main": "main-pods.wsbench.lab", "sticky": "sticky-pods.wsbench.lab", "alt": "alt-pods.wsbench.lab"}
#: origin name of the reference echo's rule (its only parent: the reference echo)
REFERENCE_POOL = "ref-pods.wsbench.lab"


def idle_timeout_s(profile: str) -> float | None:
    """``proxy.config.websocket.no_activity_timeout``."""
    return SHIPPED_IDLE_S if profile == "shipped" else TUNED_IDLE_S


def _records(config: ProxyConfig) -> str:
    wd = config.work_dir
    idle = config.idle_timeout_s if config.idle_timeout_s is not None else idle_timeout_s(config.profile)
    ports = f"{config.port}:ip-in={config.listen_host}"
    if config.tls:
        ports += f" {config.tls_port}:ssl:ip-in={config.listen_host}"
    shipped = config.profile == "shipped"
    lines = [
        f"# wsbench lab: Traffic Server, profile {config.profile} (generation {config.generation})",
        f"CONFIG proxy.config.http.server_ports STRING {ports}",
        "CONFIG proxy.config.admin.user_id STRING #-1",
        f"CONFIG proxy.config.process_manager.mgmt_port INT {config.admin_port}",
        "CONFIG proxy.config.exec_thread.autoconfig INT 0",
        "CONFIG proxy.config.exec_thread.limit INT 2",
        "CONFIG proxy.config.accept_threads INT 1",
        "CONFIG proxy.config.task_threads INT 1",
        "CONFIG proxy.config.cache.threads_per_disk INT 1",
        "CONFIG proxy.config.http.cache.http INT 0",
        "CONFIG proxy.config.reverse_proxy.enabled INT 1",
        "CONFIG proxy.config.url_remap.remap_required INT 1",
        "CONFIG proxy.config.url_remap.pristine_host_hdr INT 1  # ATS ingress: keep the client's Host",
        "CONFIG proxy.config.http.insert_squid_x_forwarded_for INT 1  # ATS: insert X-Forwarded-For",
        "CONFIG proxy.config.http.insert_client_ip INT 1",
        "CONFIG proxy.config.http.insert_request_via_str INT 0",
        "CONFIG proxy.config.http.insert_response_via_str INT 0",
        f"CONFIG proxy.config.websocket.no_activity_timeout INT {seconds(idle)}  # ATS: websocket.no_activity_timeout 600",
        f"CONFIG proxy.config.websocket.active_timeout INT {3600 if shipped else 86400}  # ATS: websocket.active_timeout 3600",
        "CONFIG proxy.config.http.transaction_no_activity_timeout_in INT 30  # ATS: 30",
        "CONFIG proxy.config.http.transaction_no_activity_timeout_out INT 30  # ATS: 30",
        "CONFIG proxy.config.http.connect_attempts_timeout INT 30  # ATS: 30",
        "CONFIG proxy.config.http.connect_attempts_max_retries INT 3  # ATS: 3",
        "CONFIG proxy.config.http.connect_attempts_max_retries_dead_server INT 1  # ATS: 1",
        "CONFIG proxy.config.http.parent_proxy.retry_time INT 300  # ATS: a failed parent is retried after 300 s"
        if shipped
        else "CONFIG proxy.config.http.parent_proxy.retry_time INT 10  # tuned: retry a failed pod after 10 s",
        "CONFIG proxy.config.http.parent_proxy.fail_threshold INT 10  # ATS: 10 failures mark a parent down"
        if shipped
        else "CONFIG proxy.config.http.parent_proxy.fail_threshold INT 1  # tuned: one failure marks a pod down",
        "CONFIG proxy.config.http.parent_proxy.total_connect_attempts INT 4  # ATS: 4",
        "CONFIG proxy.config.http.parent_proxy.per_parent_connect_attempts INT 2  # ATS: 2",
        "CONFIG proxy.config.http.parent_proxy.connect_attempts_timeout INT 30  # ATS: 30",
        f"CONFIG proxy.config.hostdb.host_file.path STRING {wd}/etc/hosts",
        "CONFIG proxy.config.hostdb.lookup_timeout INT 2",
        f"CONFIG proxy.config.dns.resolv_conf STRING {wd}/etc/resolv.conf",
        "CONFIG proxy.config.dns.nameservers STRING 127.0.0.1:9",
        "CONFIG proxy.config.body_factory.template_sets_dir STRING /etc/trafficserver/body_factory",
        "CONFIG proxy.config.log.logging_enabled INT 1",
        "CONFIG proxy.config.diags.output.diag STRING E",
        "CONFIG proxy.config.diags.output.warning STRING E",
        "CONFIG proxy.config.diags.output.error STRING E",
        "CONFIG proxy.config.diags.output.fatal STRING E",
        "CONFIG proxy.config.diags.output.alert STRING E",
        "CONFIG proxy.config.diags.output.emergency STRING E",
        f"CONFIG proxy.config.ssl.server.cert.path STRING {wd}/etc",
        f"CONFIG proxy.config.ssl.server.private_key.path STRING {wd}/etc",
        "CONFIG proxy.config.ssl.server.multicert.exit_on_load_fail INT 1",
        "CONFIG proxy.config.ssl.client.verify.server.policy STRING DISABLED",
        "CONFIG proxy.config.net.connections_throttle INT 16000",
    ]
    return _comments_above(lines)


def _comments_above(lines: list[str]) -> str:
    """Traffic Server reads a trailing ``# ...`` as part of the value: move comments above."""
    out = []
    for line in lines:
        body, sep, comment = line.partition("  # ")
        if sep:
            out.append(f"# {comment}")
        out.append(body)
    return "\n".join(out) + "\n"


def _remap(config: ProxyConfig) -> str:
    lines = [f"# wsbench lab: Traffic Server remap, profile {config.profile}"]
    ports = [(config.port, ("ws", "http"))]
    if config.tls_port is not None:
        ports.append((config.tls_port, ("wss", "https")))
    for port, schemes in ports:
        for scheme in schemes:
            to = "ws" if scheme.startswith("ws") else "http"
            if config.reference is not None:  # the reference echo (first: the first match wins)
                path = config.reference_path
                lines.append(f"regex_map {scheme}://.*:{port}{path} {to}://{REFERENCE_POOL}{path}")
            lines.append(f"map {scheme}://{config.alt_host}:{port}/ {to}://{POOLS['alt']}/")
            lines.append(f"regex_map {scheme}://.*:{port}{config.alt_path} {to}://{POOLS['alt']}{config.alt_path}")
            lines.append(f"regex_map {scheme}://.*:{port}{config.sticky_path} {to}://{POOLS['sticky']}{config.sticky_path}")
            lines.append(f"regex_map {scheme}://.*:{port}/ {to}://{POOLS['main']}/"
                         f" @plugin=header_rewrite.so @pparam={config.work_dir}/etc/canary.config")
    return "\n".join(lines) + "\n"


def _parents(config: ProxyConfig) -> str:
    def line(pool: str, pods: tuple[Backend, ...], policy: str, comment: str) -> str:
        parents = ";".join(f"{pod.address}|1" for pod in pods)
        return (
            f'dest_host={POOLS.get(pool, REFERENCE_POOL)} parent="{parents}" round_robin={policy} go_direct=false '
            f"parent_is_proxy=false parent_retry=simple_retry  # {comment}"
        )

    return _comments_above(
        [
            f"# wsbench lab: Traffic Server parents (pods), profile {config.profile}",
            line("main", config.main, "strict", "ATS: round_robin strict over the pods"),
            line("sticky", config.main, "true", "affinity: round_robin=true hashes the client IP"),
            line("alt", config.alt, "strict", "host/path rule's pod set"),
            *([line("ref", (config.reference,), "strict", "the reference echo")] if config.reference else []),
        ]
    )


def render(config: ProxyConfig) -> dict[str, str]:
    """runroot.yaml and the files under ``etc/``."""
    wd = config.work_dir
    runroot = "\n".join(
        [
            f"prefix: {wd}",
            "exec_prefix: /usr",
            "bindir: /usr/bin",
            "sbindir: /usr/sbin",
            f"sysconfdir: {wd}/etc",
            f"datadir: {wd}/share",
            "includedir: /usr/include",
            "libdir: /usr/lib/trafficserver",
            "libexecdir: /usr/lib/trafficserver/modules",
            f"localstatedir: {wd}/var",
            f"runtimedir: {wd}/run",
            f"logdir: {wd}/log",
            f"cachedir: {wd}/cache",
        ]
    ) + "\n"
    hosts = "".join(f"{config.main[0].host if config.main else '127.0.0.2'} {name}\n" for name in POOLS.values())
    if config.reference is not None:
        hosts += f"{config.reference.host} {REFERENCE_POOL}\n"
    files = {
        "runroot.yaml": runroot,
        "etc/records.config": _records(config),
        "etc/remap.config": _remap(config),
        "etc/canary.config": (  # header-based routing: the header_rewrite plugin on the main rule
            f'cond %{{CLIENT-HEADER:{config.alt_header}}} ="{config.alt_header_value}"\n'
            f"set-destination HOST {POOLS['alt']}\n"
        ),
        "etc/parent.config": _parents(config),
        "etc/hosts": hosts,
        "etc/resolv.conf": "nameserver 127.0.0.1\n",
        "etc/storage.config": "",
        "etc/plugin.config": "",
        "etc/logging.yaml": "logging: {}\n",
        "etc/ip_allow.yaml": (
            "ip_allow:\n  - apply: in\n    ip_addrs: 0/0\n    action: allow\n    methods: ALL\n"
            "  - apply: out\n    ip_addrs: 0/0\n    action: allow\n    methods: ALL\n"
        ),
        "etc/ssl_multicert.config": (
            f"dest_ip=* ssl_cert_name={config.cert_file} ssl_key_name={config.key_file}\n" if config.tls else ""
        ),
        "etc/sni.yaml": "sni: []\n",
        "etc/strategies.yaml": "",
        "etc/volume.config": "",
        "etc/hosting.config": "",
        "etc/cache.config": "",
        "etc/socks.config": "",
        "etc/splitdns.config": "",
    }
    return files


def argv(config: ProxyConfig, binary: str) -> list[str]:
    """traffic_manager runs traffic_server and takes ``traffic_ctl config reload``."""
    manager = binary.replace("traffic_server", "traffic_manager")
    return [manager, "--nosyslog", f"--run-root={config.work_dir}/runroot.yaml"]


def reload_command(config: ProxyConfig, binary: str) -> list[str]:
    return [binary.replace("traffic_server", "traffic_ctl"), "config", "reload", f"--run-root={config.work_dir}/runroot.yaml"]


SPEC = ProxySpec(
    name="trafficserver",
    title="Apache Traffic Server",
    controller="ATS ingress controller (ATS defaults)",
    binaries=("traffic_server",),
    render=render,
    argv=argv,
    version_args=("-V",),
    reload=Reload("command", command=reload_command),
    idle_timeout_s=idle_timeout_s,
    idle_override=True,
    affinity="source",
    cannot=("cookie affinity (parent selection hashes the client IP instead)",),
    package=("apt", "trafficserver"),
    dirs=("etc", "run", "log", "cache", "var", "share"),
)
