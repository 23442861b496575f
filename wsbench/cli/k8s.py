"""``wsbench k8s render``: manifests for a real cluster (thin: read the scenario, render, write)."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["k8s"]


@click.group("k8s")
def k8s() -> None:
    """wsbench in a Kubernetes cluster: echo pods, an ingress per controller, the load as a Job."""


@k8s.command("render")
@click.option("--controller", required=True, metavar="NAME",
              help="ingress-nginx, haproxy-ingress, traefik, istio, linkerd or gateway-api.")
@click.option("--scenario", "scenario", default="default", show_default=True, metavar="FILE|NAME",
              help="Scenario file, or a bundled scenario by name (closed-loop, ...).")
@click.option("--namespace", default="wsbench", show_default=True)
@click.option("--image", default=None, help="The wsbench image (built from the Dockerfile) [wsbench:VERSION].")
@click.option("--replicas", type=int, default=3, show_default=True, help="Echo pods.")
@click.option("--shards", type=int, default=3, show_default=True, help="Load pods (the Indexed Job's completions).")
@click.option("--cpus", type=int, default=1, show_default=True, help="CPUs (and worker processes) per load pod.")
@click.option("--url", default=None, help="Where the load pods reach the controller [its default install's Service].")
@click.option("--idle-timeout", "idle_timeout_s", type=int, default=3600, show_default=True,
              help="Seconds an idle session may last at the controller.")
@click.option("--drain-s", type=int, default=20, show_default=True, help="Echo pods' drain on SIGTERM.")
@click.option("--gateway", default="wsbench-gateway", show_default=True,
              help="gateway-api: the Gateway the HTTPRoute attaches to.")
@click.option("--only", "parts", multiple=True, type=click.Choice(["echo", "route", "load"]),
              help="Render only these parts (repeatable) [all].")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write here instead of stdout.")
def render(controller: str, scenario: str, namespace: str, image: str | None, replicas: int, shards: int,
           cpus: int, url: str | None, idle_timeout_s: int, drain_s: int, gateway: str,
           parts: tuple[str, ...], output: Path | None) -> int:
    """Write the manifests for SCENARIO through CONTROLLER: kubectl apply -f them."""
    from wsbench.bundled import find_bundled
    from wsbench.errors import InputFileError
    from wsbench.k8s.render import DEFAULT_IMAGE, PARTS, RenderOptions, render_yaml
    from wsbench.scenario import load_scenario

    path = Path(scenario)
    if not path.exists():
        path = find_bundled(scenario) or path
    load_scenario(str(path))  # a scenario the pods would reject fails here, with the field named
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read scenario ({exc.strerror})") from exc
    options = RenderOptions(controller=controller, scenario_name=path.stem, scenario_text=text,
                            namespace=namespace, image=image or DEFAULT_IMAGE, replicas=replicas,
                            shards=shards, cpus=cpus, url=url, idle_timeout_s=idle_timeout_s,
                            drain_s=drain_s, gateway=gateway, parts=parts or PARTS)
    yaml_text = render_yaml(options)
    if output is None:
        click.echo(yaml_text, nl=False)
    else:
        output.write_text(yaml_text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    return 0
