"""The echo pods and the load Job as manifests (pure data; see :mod:`wsbench.k8s.render`).

The echo pod is ``wsbench serve`` with a Kubernetes pod's shutdown: on SIGTERM the
Endpoint is already being removed (preStop waits ``pre_stop_s`` for the controllers to
see it go), then the app closes every session with 1001 within ``drain_s`` and exits,
well inside ``terminationGracePeriodSeconds``.

The load is an Indexed Job: pod I runs ``wsbench run --shard I/N`` (``$(JOB_COMPLETION_INDEX)``,
set by the Job controller) and prints its Result as one log line (``--result-to-stdout``);
``wsbench merge`` reads ``kubectl logs`` of all N pods into one exact Result.
"""

from __future__ import annotations

from typing import Any

from wsbench.k8s.yaml_out import Document, Note

__all__ = ["ECHO", "LOAD", "ECHO_PORT", "ECHO_PATH", "METRICS_PORT", "echo_documents", "load_documents", "load_args"]

ECHO = "wsbench-echo"
LOAD = "wsbench-load"
ECHO_PORT = 8080
ECHO_PATH = "/echo"
_UID = 10001
METRICS_PORT = 9100  # wsbench run --metrics-port: Prometheus scrapes each load pod  # the image's non-root user (Dockerfile)


def _meta(name: str, namespace: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": namespace,
            "labels": {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "wsbench"}, **extra}


def _pod_security() -> dict[str, Any]:
    return {"runAsNonRoot": True, "runAsUser": _UID, "runAsGroup": _UID, "fsGroup": _UID,
            "seccompProfile": {"type": "RuntimeDefault"}}


def _container_security() -> dict[str, Any]:
    return {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]}}


def echo_documents(*, namespace: str, image: str, replicas: int, drain_s: int, pre_stop_s: int,
                   pod_annotations: dict[str, Any] | None = None) -> list[Document]:
    """The echo Deployment and its Service."""
    grace = pre_stop_s + drain_s + 10
    labels = {"app.kubernetes.io/name": ECHO}
    template_meta: dict[str, Any] = {"labels": {**labels, "app.kubernetes.io/part-of": "wsbench"}}
    if pod_annotations:
        template_meta["annotations"] = pod_annotations
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(ECHO, namespace),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "strategy": Note({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                             "a rollout (kubectl rollout restart) replaces one pod at a time, the new one "
                             "ready first: the disruption wsbench measures is the drain, not lost capacity"),
            "template": {
                "metadata": template_meta,
                "spec": {
                    "terminationGracePeriodSeconds": Note(
                        grace, f"default 30 s; preStop {pre_stop_s} s + drain {drain_s} s + 10 s to spare, "
                               "then SIGKILL (sessions still open then see 1006)"),
                    "securityContext": _pod_security(),
                    "containers": [{
                        "name": "echo",
                        "image": image,
                        "args": ["serve", "--host", "0.0.0.0", "--port", str(ECHO_PORT),
                                 "--pod-name", "$(POD_NAME)", "--drain-s", str(drain_s)],
                        "env": [Note({"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                                     "the pod's name (downward API): in whoami replies, X-Wsbench-Pod and /stats")],
                        "ports": [{"name": "http-ws", "containerPort": ECHO_PORT, "protocol": "TCP"}],
                        "readinessProbe": Note(
                            {"httpGet": {"path": "/healthz", "port": "http-ws"}, "periodSeconds": 2,
                             "failureThreshold": 1},
                            "ready only while /healthz answers 200 (the server stops answering when it drains)"),
                        "lifecycle": {"preStop": Note(
                            {"sleep": {"seconds": pre_stop_s}},
                            "SIGTERM only after the endpoint left the Service and the controllers saw it go "
                            "(no new sessions land on a draining pod); the sleep action needs Kubernetes 1.30+")},
                        "resources": {"requests": {"cpu": "250m", "memory": "128Mi"},
                                      "limits": {"memory": "512Mi"}},
                        "securityContext": _container_security(),
                        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                    }],
                    "volumes": [{"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(ECHO, namespace),
        "spec": {
            "selector": labels,
            "ports": [{
                "name": Note("http-ws", "http- prefix: Istio and Linkerd treat the port as HTTP (the upgrade)"),
                "port": ECHO_PORT,
                "targetPort": "http-ws",
                "protocol": "TCP",
                "appProtocol": Note("kubernetes.io/ws", "KEP-3726 standard application protocol: WebSocket "
                                                       "over cleartext (default: none; implementations guess)"),
            }],
        },
    }
    return [Document(deployment, "The echo pods: `wsbench serve`, draining like a Kubernetes pod should"),
            Document(service)]


def load_args(*, scenario_path: str, target: str, shards: int, processes: int) -> list[str]:
    """The load pods' ``wsbench`` arguments (``$(JOB_COMPLETION_INDEX)``: expanded by the kubelet)."""
    return ["run", scenario_path, "--target", target, "--shard", f"$(JOB_COMPLETION_INDEX)/{shards}",
            "--processes", str(processes), "--out", "/tmp/reports", "--result-to-stdout",
            "--metrics-port", str(METRICS_PORT)]


def load_documents(*, namespace: str, image: str, scenario_name: str, scenario_text: str, target: str,
                   shards: int, cpus: int) -> list[Document]:
    """The scenario as a ConfigMap and the Indexed Job running its N shards."""
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(LOAD, namespace),
        "data": {"scenario.yaml": scenario_text},
    }
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _meta(LOAD, namespace),
        "spec": {
            "completionMode": Note("Indexed", "pod I gets JOB_COMPLETION_INDEX=I: it runs shard I/N"),
            "completions": shards,
            "parallelism": Note(shards, "all shards at once: together they are the scenario's load"),
            "backoffLimit": Note(0, "default 6; a retried shard would run its sessions again, at another time"),
            "ttlSecondsAfterFinished": Note(86400, "the pods (and their logs, which hold the Results) "
                                                   "stay a day after the Job ends"),
            "template": {
                "metadata": {
                    "labels": {"app.kubernetes.io/name": LOAD, "app.kubernetes.io/part-of": "wsbench"},
                    "annotations": Note({"prometheus.io/scrape": "true", "prometheus.io/port": str(METRICS_PORT)},
                                        "live metrics (the Grafana dashboard in deploy/grafana), for a "
                                        "Prometheus that discovers pods by these annotations"),
                },
                "spec": {
                    "restartPolicy": "Never",
                    "securityContext": _pod_security(),
                    "containers": [{
                        "name": "wsbench",
                        "image": image,
                        "args": Note(load_args(scenario_path="/etc/wsbench/scenario.yaml", target=target,
                                               shards=shards, processes=cpus),
                                     f"scenario {scenario_name}; the Result is the line 'wsbench-result@1 {{...}}' "
                                     "in the pod's log: wsbench merge reads kubectl logs"),
                        "ports": [{"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}],
                        "resources": {"requests": {"cpu": str(cpus), "memory": "512Mi"},
                                      "limits": {"memory": "2Gi"}},
                        "securityContext": _container_security(),
                        "volumeMounts": [{"name": "scenario", "mountPath": "/etc/wsbench", "readOnly": True},
                                         {"name": "reports", "mountPath": "/tmp"}],
                    }],
                    "volumes": [{"name": "scenario", "configMap": {"name": LOAD}},
                                {"name": "reports", "emptyDir": {}}],
                },
            },
        },
    }
    return [Document(config, f"The load: scenario {scenario_name}, run as {shards} shards by an Indexed Job"),
            Document(job)]
