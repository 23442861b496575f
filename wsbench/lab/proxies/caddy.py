"""Caddy as the Caddy ingress controller runs it (Caddy's own reverse_proxy defaults).

WebSockets need nothing. Any config change (``caddy reload``) closes every proxied
session unless ``stream_close_delay`` is set, which Caddy 2.6 does not have.
"""

from __future__ import annotations

from wsbench.lab.model import AFFINITY_COOKIE, Backend, ProxyConfig
from wsbench.lab.proxies.base import ProxySpec, Reload

__all__ = ["SPEC", "render", "argv", "env", "reload_command", "idle_timeout_s"]


def idle_timeout_s(profile: str) -> float | None:
    """Caddy 2.6 has no timeout for upgraded sessions (``stream_timeout`` came in 2.7)."""
    return None


def _proxy(pods: tuple[Backend, ...], profile: str, sticky: bool = False) -> list[str]:
    upstreams = " ".join(pod.address for pod in pods)
    lines = [f"            reverse_proxy {upstreams} {{"]
    if sticky:
        lines.append(f"                lb_policy cookie {AFFINITY_COOKIE}  # Caddy ingress: affinity by cookie")
    else:
        lines.append("                lb_policy random  # Caddy: default lb_policy random")
    if profile == "shipped":
        lines.append("                lb_try_duration 0  # Caddy: lb_try_duration 0 (no retry on the next upstream)")
    else:
        lines += [
            "                lb_try_duration 5s  # tuned: retry another pod for 5 s",
            "                fail_duration 10s  # tuned: passive health check",
        ]
    lines.append("            }")
    return lines


def _site(config: ProxyConfig, address: str, tls: bool) -> list[str]:
    lines = [f"{address} {{", f"    bind {config.listen_host}"]
    if tls:
        lines.append(f"    tls {config.cert_file} {config.key_file}")
    lines.append("    route {")
    if config.reference is not None:  # the reference echo
        path = config.reference_path
        lines += [f"        @reference path {path} {path}/*", "        handle @reference {",
                  *_proxy((config.reference,), config.profile), "        }"]
    lines += [
        f"        @alt host {config.alt_host}",
        "        handle @alt {",
        *_proxy(config.alt, config.profile),
        "        }",
        f"        @altpath path {config.alt_path} {config.alt_path}/*",
        "        handle @altpath {",
        *_proxy(config.alt, config.profile),
        "        }",
        f"        @sticky path {config.sticky_path} {config.sticky_path}/*",
        "        handle @sticky {",
        *_proxy(config.main, config.profile, sticky=True),
        "        }",
        f"        @canary header {config.alt_header} {config.alt_header_value}",
        "        handle @canary {",
        *_proxy(config.alt, config.profile),
        "        }",
        "        handle {",
        *_proxy(config.main, config.profile),
        "        }",
        "    }",
        "}",
    ]
    return lines


def render(config: ProxyConfig) -> dict[str, str]:
    """``Caddyfile`` for this lab."""
    wd = config.work_dir
    lines = [
        f"# wsbench lab: Caddy, profile {config.profile} (generation {config.generation})",
        "{",
        f"    admin {config.listen_host}:{config.admin_port}",
        "    auto_https off",
        "    skip_install_trust",
        f"    storage file_system {wd}/data",
        "    servers {",
        "        protocols h1 h2  # no HTTP/3 listener (UDP) in the lab",
        "    }",
        "    grace_period 10s" if config.profile != "shipped" else "    # Caddy: grace_period unset (wait forever for old servers)",
        "}",
    ]
    lines += _site(config, f"http://:{config.port}", tls=False)
    if config.tls:
        lines += _site(config, f"https://:{config.tls_port}", tls=True)
    return {"Caddyfile": "\n".join(lines) + "\n"}


def argv(config: ProxyConfig, binary: str) -> list[str]:
    return [binary, "run", "--config", f"{config.work_dir}/Caddyfile", "--adapter", "caddyfile"]


def env(config: ProxyConfig) -> dict[str, str]:
    """Keep Caddy's data and config under the work dir."""
    return {
        "XDG_DATA_HOME": f"{config.work_dir}/data",
        "XDG_CONFIG_HOME": f"{config.work_dir}/config",
        "HOME": config.work_dir,
    }


def reload_command(config: ProxyConfig, binary: str) -> list[str]:
    return [
        binary, "reload", "--config", f"{config.work_dir}/Caddyfile", "--adapter", "caddyfile",
        "--address", f"{config.listen_host}:{config.admin_port}", "--force",
    ]


SPEC = ProxySpec(
    name="caddy",
    title="Caddy",
    controller="Caddy ingress controller",
    binaries=("caddy",),
    render=render,
    argv=argv,
    version_args=("version",),
    reload=Reload("command", command=reload_command),
    idle_timeout_s=idle_timeout_s,
    idle_override=False,
    affinity="cookie",
    cannot=(
        "an idle timeout for upgraded sessions (stream_timeout needs Caddy 2.7+)",
        "a reload that keeps sessions (stream_close_delay needs Caddy 2.7+)",
    ),
    env=env,
    package=("apt", "caddy"),
)
