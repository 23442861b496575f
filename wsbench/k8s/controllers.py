"""One entry per ingress controller: the routing manifests and where the load pods reach it.

Every WebSocket-relevant setting carries a comment naming the controller's documented
default that it changes (or pins). Pure data, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wsbench.k8s.workloads import ECHO, ECHO_PATH, ECHO_PORT
from wsbench.k8s.yaml_out import Document, Note

__all__ = ["Controller", "CONTROLLERS", "RouteSettings"]


@dataclass(frozen=True)
class RouteSettings:
    """What the routing manifests need to know."""

    namespace: str
    idle_timeout_s: int
    gateway: str


@dataclass(frozen=True)
class Controller:
    """A controller: its manifests, the in-cluster URL of its default install, echo pod annotations."""

    name: str
    summary: str
    documents: Callable[[RouteSettings], list[Document]]
    default_url: Callable[[RouteSettings], str]
    #: annotations of the echo pods, given how long they take to stop (preStop + drain, s)
    pod_annotations: Callable[[int], dict[str, Any]] = field(default=lambda stop_s: {})


def _meta(name: str, namespace: str, annotations: dict[str, Any] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace,
                            "labels": {"app.kubernetes.io/part-of": "wsbench"}}
    if annotations:
        meta["annotations"] = annotations
    return meta


def _ingress(name: str, namespace: str, class_name: str, annotations: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": _meta(name, namespace, annotations),
        "spec": {
            "ingressClassName": class_name,
            "rules": [{"http": {"paths": [{
                "path": ECHO_PATH, "pathType": "Prefix",
                "backend": {"service": {"name": ECHO, "port": {"number": ECHO_PORT}}}}]}}],
        },
    }


def _nginx_annotations(s: RouteSettings) -> dict[str, Any]:
    timeout = str(s.idle_timeout_s)
    return {
        "nginx.ingress.kubernetes.io/proxy-read-timeout": Note(
            timeout, "default 60 s: a session with no frame from the pod for 60 s is cut (1006)"),
        "nginx.ingress.kubernetes.io/proxy-send-timeout": Note(
            timeout, "default 60 s: the same, for frames towards the pod"),
        "nginx.ingress.kubernetes.io/affinity": Note(
            "cookie", "default: none (each upgrade balanced on its own); a client that keeps the "
                      "cookie reconnects to the same pod (wsbench does not keep cookies)"),
        "nginx.ingress.kubernetes.io/session-cookie-name": "wsbench-affinity",
    }


def _nginx_documents(s: RouteSettings) -> list[Document]:
    return [Document(
        _ingress("wsbench-echo", s.namespace, "nginx", _nginx_annotations(s)),
        "ingress-nginx: WebSocket upgrades pass by default (Upgrade/Connection headers, HTTP/1.1).\n"
        "Controller-wide, not per Ingress: every config reload keeps old workers serving open sessions\n"
        "for worker-shutdown-timeout (default 240 s), then cuts them; endpoint changes do not reload.")]


def _haproxy_documents(s: RouteSettings) -> list[Document]:
    annotations = {
        "haproxy-ingress.github.io/timeout-tunnel": Note(
            f"{s.idle_timeout_s}s", "default 1h: after the 101 only the tunnel timeout applies to an idle "
                                    "session (timeout-client/-server, 50 s, until then); pinned to --idle-timeout"),
        "haproxy-ingress.github.io/balance-algorithm": Note(
            "leastconn", "default roundrobin: with sessions that last, a restarted pod gets no share back "
                         "until others reconnect; leastconn sends new sessions to the emptiest pod"),
    }
    return [Document(_ingress("wsbench-echo", s.namespace, "haproxy", annotations),
                     "HAProxy Ingress (haproxy-ingress.github.io): upgrades pass in http mode")]


def _traefik_documents(s: RouteSettings) -> list[Document]:
    route = {
        "apiVersion": "traefik.io/v1alpha1",
        "kind": "IngressRoute",
        "metadata": _meta("wsbench-echo", s.namespace),
        "spec": {
            "entryPoints": Note(["web"], "default: every entry point"),
            "routes": [{
                "kind": "Rule",
                "match": f"PathPrefix(`{ECHO_PATH}`)",
                "services": [{
                    "name": ECHO,
                    "port": ECHO_PORT,
                    "sticky": Note({"cookie": {"name": "wsbench-affinity", "httpOnly": True}},
                                   "default: no stickiness (weighted round robin per upgrade); a client "
                                   "that keeps the cookie reconnects to the same pod"),
                }],
            }],
        },
    }
    return [Document(route, "Traefik (IngressRoute CRD): upgrades pass as they are. Static config, not\n"
                            "per route: entryPoints.<name>.transport.respondingTimeouts (readTimeout 60 s,\n"
                            "idleTimeout 180 s) and lifeCycle.graceTimeOut (10 s) on shutdown.")]


def _istio_documents(s: RouteSettings) -> list[Document]:
    gateway = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": _meta("wsbench-gateway", s.namespace),
        "spec": {
            "selector": Note({"istio": "ingressgateway"}, "the default ingress gateway of `istioctl install`"),
            "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}],
        },
    }
    service = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": _meta("wsbench-echo", s.namespace),
        "spec": {
            "hosts": ["*"],
            "gateways": ["wsbench-gateway"],
            "http": [{
                "match": [{"uri": {"prefix": ECHO_PATH}}],
                "route": [{"destination": {"host": f"{ECHO}.{s.namespace}.svc.cluster.local",
                                           "port": {"number": ECHO_PORT}}}],
                "timeout": Note("0s", "Istio's default (disabled), pinned: Envoy applies a route timeout "
                                      "to the whole upgraded stream, so any value here cuts every session "
                                      "at that age"),
            }],
        },
    }
    return [Document(gateway, "Istio: Gateway + VirtualService. Idle timeouts: Istio sets the gateway's\n"
                              "stream_idle_timeout to 0 (off; Envoy's own default is 5 min), so an idle\n"
                              "session stays; drain on a gateway restart: terminationDrainDuration (5 s)."),
            Document(service)]


def _linkerd_documents(s: RouteSettings) -> list[Document]:
    annotations = {**_nginx_annotations(s),
                   "nginx.ingress.kubernetes.io/service-upstream": Note(
                       "true", "default false (nginx picks pod IPs itself): with true it sends to the "
                               "Service and Linkerd balances and tracks the sessions (Linkerd's ingress guide)")}
    return [Document(_ingress("wsbench-echo", s.namespace, "nginx", annotations),
                     "Linkerd: the echo pods are meshed (annotations on their template); any ingress\n"
                     "in front, here ingress-nginx. Mesh the ingress controller too (linkerd.io/inject:\n"
                     "ingress on its Deployment) so the hop to the pods is Linkerd's.")]


def _gateway_api_documents(s: RouteSettings) -> list[Document]:
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": _meta("wsbench-echo", s.namespace),
        "spec": {
            "parentRefs": [Note({"name": s.gateway}, "a Gateway of your implementation (--gateway), with an "
                                                     "HTTP listener on port 80 that admits this namespace")],
            "rules": [{
                "matches": [{"path": {"type": "PathPrefix", "value": ECHO_PATH}}],
                "backendRefs": [{"name": ECHO, "port": ECHO_PORT}],
                "timeouts": Note({"request": "0s"}, "default: implementation-specific; 0s disables the request "
                                                    "timeout, which would otherwise bound a session's lifetime "
                                                    "(Extended support; standard channel since v1.2)"),
            }],
        },
    }
    return [Document(route, "Gateway API: an HTTPRoute; upgrades are Core behaviour for HTTP listeners")]


CONTROLLERS: dict[str, Controller] = {c.name: c for c in (
    Controller("ingress-nginx", "Ingress for ingress-nginx (class nginx)", _nginx_documents,
               lambda s: f"ws://ingress-nginx-controller.ingress-nginx.svc.cluster.local{ECHO_PATH}"),
    Controller("haproxy-ingress", "Ingress for HAProxy Ingress (class haproxy)", _haproxy_documents,
               lambda s: f"ws://haproxy-ingress.ingress-controller.svc.cluster.local{ECHO_PATH}"),
    Controller("traefik", "Traefik IngressRoute with a sticky service", _traefik_documents,
               lambda s: f"ws://traefik.traefik.svc.cluster.local{ECHO_PATH}"),
    Controller("istio", "Istio Gateway + VirtualService", _istio_documents,
               lambda s: f"ws://istio-ingressgateway.istio-system.svc.cluster.local{ECHO_PATH}"),
    Controller("linkerd", "meshed echo pods behind ingress-nginx", _linkerd_documents,
               lambda s: f"ws://ingress-nginx-controller.ingress-nginx.svc.cluster.local{ECHO_PATH}",
               pod_annotations=lambda stop_s: {
                   "linkerd.io/inject": Note("enabled", "mesh the echo pods (Linkerd's proxy beside each)"),
                   "config.alpha.linkerd.io/proxy-wait-before-exit-seconds": Note(
                       str(stop_s), "default 0: the proxy stops with the pod; kept alive through preStop "
                                    "and the drain so the 1001 close frames still reach the clients"),
               }),
    Controller("gateway-api", "Gateway API HTTPRoute (any implementation)", _gateway_api_documents,
               lambda s: f"ws://{s.gateway}-istio.{s.namespace}.svc.cluster.local{ECHO_PATH}"),
)}
