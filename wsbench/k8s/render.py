"""``wsbench k8s render``: everything a cluster needs for one scenario through one controller.

One source of truth: the manifests are built here as data (:mod:`wsbench.k8s.workloads`,
:mod:`wsbench.k8s.controllers`) and written as commented YAML; nothing is checked in twice.
Pure: the scenario's text comes in, YAML goes out.
"""

from __future__ import annotations

from dataclasses import dataclass

from wsbench import __version__
from wsbench.errors import UsageError
from wsbench.k8s.controllers import CONTROLLERS, RouteSettings
from wsbench.k8s.workloads import echo_documents, load_documents
from wsbench.k8s.yaml_out import Document, dump_documents

__all__ = ["RenderOptions", "render_documents", "render_yaml", "DEFAULT_IMAGE", "PARTS"]

DEFAULT_IMAGE = f"wsbench:{__version__}"
#: what can be rendered: the echo pods, the controller's routing, the load Job
PARTS = ("echo", "route", "load")


@dataclass(frozen=True)
class RenderOptions:
    """What to render (the CLI's options)."""

    controller: str
    scenario_name: str
    scenario_text: str
    namespace: str = "wsbench"
    image: str = DEFAULT_IMAGE
    replicas: int = 3
    shards: int = 3
    cpus: int = 1
    url: str | None = None
    idle_timeout_s: int = 3600
    drain_s: int = 20
    pre_stop_s: int = 5
    gateway: str = "wsbench-gateway"
    parts: tuple[str, ...] = PARTS


def render_documents(options: RenderOptions) -> list[Document]:
    """The manifests, in the order ``kubectl apply -f`` should create them."""
    controller = CONTROLLERS.get(options.controller)
    if controller is None:
        raise UsageError(f"k8s render: unknown controller {options.controller!r} "
                         f"(one of: {', '.join(CONTROLLERS)})")
    for name, value in (("replicas", options.replicas), ("shards", options.shards), ("cpus", options.cpus)):
        if value < 1:
            raise UsageError(f"k8s render: --{name} must be at least 1, not {value}")
    unknown = set(options.parts) - set(PARTS)
    if unknown:
        raise UsageError(f"k8s render: unknown part(s) {', '.join(sorted(unknown))} (of: {', '.join(PARTS)})")
    settings = RouteSettings(namespace=options.namespace, idle_timeout_s=options.idle_timeout_s,
                             gateway=options.gateway)
    url = options.url or controller.default_url(settings)
    documents = [Document({"apiVersion": "v1", "kind": "Namespace",
                           "metadata": {"name": options.namespace,
                                        "labels": {"app.kubernetes.io/part-of": "wsbench"}}},
                          f"wsbench k8s render --controller {controller.name}: {controller.summary}\n"
                          f"scenario {options.scenario_name}; load target {url}")]
    if "echo" in options.parts:
        documents += echo_documents(namespace=options.namespace, image=options.image,
                                    replicas=options.replicas, drain_s=options.drain_s,
                                    pre_stop_s=options.pre_stop_s,
                                    pod_annotations=controller.pod_annotations(options.pre_stop_s + options.drain_s))
    if "route" in options.parts:
        documents += controller.documents(settings)
    if "load" in options.parts:
        documents += load_documents(namespace=options.namespace, image=options.image,
                                    scenario_name=options.scenario_name, scenario_text=options.scenario_text,
                                    target=f"{controller.name}={url}", shards=options.shards, cpus=options.cpus)
    return documents


def render_yaml(options: RenderOptions) -> str:
    """The manifests as one commented YAML stream."""
    return dump_documents(render_documents(options))
