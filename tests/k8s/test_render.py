"""``wsbench k8s render``: every controller x a few scenarios validates against Kubernetes'
schemas (kubernetes-validate, strict) and the vendored CRD schemas; the YAML says what it means."""

from __future__ import annotations

import copy

import pytest
import yaml

from tests.k8s.manifest_schemas import K8S_VERSIONS, crd_kinds, validate_manifest
from wsbench.bundled import bundled_scenarios
from wsbench.cli import main
from wsbench.k8s.controllers import CONTROLLERS
from wsbench.k8s.render import RenderOptions, render_documents, render_yaml
from wsbench.k8s.yaml_out import Document, Note, dump_documents, strip_notes

SCENARIOS = ["default", "closed-loop", "ingress-idle"]


def _options(controller: str, scenario: str, **extra) -> RenderOptions:
    path = bundled_scenarios()[scenario]
    return RenderOptions(controller=controller, scenario_name=scenario, scenario_text=path.read_text(), **extra)


def _manifests(options: RenderOptions) -> list[dict]:
    return [m for m in yaml.safe_load_all(render_yaml(options)) if m is not None]


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("controller", sorted(CONTROLLERS))
def test_every_manifest_validates(controller, scenario):
    manifests = _manifests(_options(controller, scenario, shards=4, cpus=2))
    kinds = [m["kind"] for m in manifests]
    assert {"Namespace", "Deployment", "Service", "ConfigMap", "Job"} <= set(kinds), kinds
    for manifest in manifests:
        for version in K8S_VERSIONS:
            errors = validate_manifest(manifest, version)
            assert not errors, f"{controller}/{scenario} {manifest['kind']} on {version}: {errors}"


def test_every_controller_routes_with_its_own_kinds():
    routed = {name: {(m["apiVersion"], m["kind"]) for m in _manifests(_options(name, "default", parts=("route",)))}
              for name in CONTROLLERS}
    assert ("traefik.io/v1alpha1", "IngressRoute") in routed["traefik"]
    assert {("networking.istio.io/v1", "Gateway"), ("networking.istio.io/v1", "VirtualService")} <= routed["istio"]
    assert ("gateway.networking.k8s.io/v1", "HTTPRoute") in routed["gateway-api"]
    assert ("networking.k8s.io/v1", "Ingress") in routed["haproxy-ingress"]
    crds = {kind for kinds in routed.values() for kind in kinds if kind[0] not in ("v1", "networking.k8s.io/v1")}
    assert crds <= crd_kinds(), f"CRDs without a vendored schema: {crds - crd_kinds()}"


@pytest.mark.parametrize("controller", sorted(CONTROLLERS))
def test_the_validation_can_fail(controller):
    """A typo in a rendered field, or a wrong type, is caught, for Kubernetes kinds and CRDs alike."""
    for manifest in _manifests(_options(controller, "default")):
        broken = copy.deepcopy(manifest)
        broken["spec" if "spec" in broken else "metadata"]["bogusField"] = 1
        assert validate_manifest(broken, K8S_VERSIONS[0]), f"{controller} {manifest['kind']} accepted a bogus field"


def test_websocket_settings_carry_the_default_they_change():
    text = render_yaml(_options("ingress-nginx", "default"))
    assert "# default 60 s: a session with no frame" in text
    assert "nginx.ingress.kubernetes.io/proxy-read-timeout: '3600'" in text
    haproxy = render_yaml(_options("haproxy-ingress", "default", idle_timeout_s=7200))
    assert "# default 1h:" in haproxy and "haproxy-ingress.github.io/timeout-tunnel: 7200s" in haproxy
    assert "# default: no stickiness" in render_yaml(_options("traefik", "default"))
    assert "proxy-wait-before-exit-seconds: '25'" in render_yaml(_options("linkerd", "default"))


def test_the_job_runs_every_shard_and_prints_its_result():
    manifests = _manifests(_options("istio", "closed-loop", shards=5, cpus=2))
    (job,) = [m for m in manifests if m["kind"] == "Job"]
    assert job["spec"]["completionMode"] == "Indexed" and job["spec"]["completions"] == 5
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--shard") + 1] == "$(JOB_COMPLETION_INDEX)/5"
    assert "--result-to-stdout" in args and args[args.index("--processes") + 1] == "2"
    assert args[args.index("--target") + 1].startswith("istio=ws://istio-ingressgateway.istio-system")
    (config,) = [m for m in manifests if m["kind"] == "ConfigMap"]
    assert yaml.safe_load(config["data"]["scenario.yaml"])["name"] == "closed-loop"
    (deployment,) = [m for m in manifests if m["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    assert pod["containers"][0]["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert pod["terminationGracePeriodSeconds"] > 25 and pod["containers"][0]["lifecycle"]["preStop"]


def test_yaml_round_trips_with_comments():
    data = {"a": Note("3600", "default 60 s"), "b": [{"x": Note(1, "c"), "y": []}, "s: t", {}],
            "c": "multi\nline\n", "d": {"e": Note({"f": True}, "two\nlines")}, "g": "0755", "h": None}
    text = dump_documents([Document(data, "top")])
    assert list(yaml.safe_load_all(text)) == [strip_notes(data)]
    assert "# default 60 s\na: '3600'" in text and "# top" in text


def test_cli_render_and_errors(tmp_path, capsys):
    out = tmp_path / "m.yaml"
    with pytest.raises(SystemExit) as exited:
        main(["k8s", "render", "--controller", "traefik", "--scenario", "closed-loop", "-o", str(out)])
    assert exited.value.code == 0
    assert len([m for m in yaml.safe_load_all(out.read_text()) if m]) == len(
        render_documents(_options("traefik", "closed-loop")))
    for argv, message in ((["--controller", "nope"], "unknown controller 'nope'"),
                          (["--controller", "istio", "--scenario", "no-such"], "bundled scenarios: "),
                          (["--controller", "istio", "--shards", "0"], "--shards must be at least 1")):
        with pytest.raises(SystemExit) as exited:
            main(["k8s", "render", *argv])
        assert exited.value.code == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err
