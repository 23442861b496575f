"""Config generators are pure functions; the shipped defaults are in the generated text."""

from __future__ import annotations

import pytest

from wsbench.lab import (
    MUST_WORK,
    PROFILES,
    PROXIES,
    REFERENCE_PATH,
    Backend,
    LabState,
    ProxyConfig,
    get_spec,
)
from wsbench.lab.lab import missing_proxies
from wsbench.lab.model import PodInfo, ProxyInfo, ReferenceInfo
from wsbench.lab.proxies.base import ProxySpec


def config(profile: str = "shipped", idle: float | None = None, tls: bool = True,
           reference: Backend | None = None) -> ProxyConfig:
    return ProxyConfig(
        work_dir="/lab/proxy",
        port=10001,
        tls_port=10002 if tls else None,
        admin_port=10003,
        cert_file="/lab/ca/server.crt" if tls else None,
        key_file="/lab/ca/server.key" if tls else None,
        pem_file="/lab/ca/server.pem" if tls else None,
        main=tuple(Backend(f"pod-{i}", "127.0.0.2", 20000 + i) for i in range(3)),
        alt=(Backend("alt-0", "127.0.0.2", 20010),),
        profile=profile,
        idle_timeout_s=idle,
        reference=reference,
    )


#: the shipped idle timeout as each controller's default sets it, as it appears in the config
SHIPPED_IDLE_TEXT = {
    "nginx": ("nginx.conf", "proxy_read_timeout 60s;"),  # ingress-nginx proxy-read-timeout 60
    "haproxy": ("haproxy.cfg", "timeout tunnel 3600s"),  # HAProxy Ingress timeout-tunnel 1h
    "envoy": ("envoy.yaml", "stream_idle_timeout: 0s"),  # Istio: off
    "trafficserver": ("etc/records.config", "proxy.config.websocket.no_activity_timeout INT 600"),
    "httpd": ("httpd.conf", "ProxyTimeout 60"),
}


def test_every_must_work_proxy_is_known():
    assert set(MUST_WORK) <= set(PROXIES)


@pytest.mark.parametrize("name", MUST_WORK)
@pytest.mark.parametrize("profile", PROFILES)
def test_render_is_pure_and_names_every_pod(name, profile):
    spec = get_spec(name)
    first, second = spec.render(config(profile)), spec.render(config(profile))
    assert first == second
    text = "\n".join(first.values())
    for port in (20000, 20001, 20002, 20010):
        assert f"127.0.0.2:{port}" in text or f"port_value: {port}" in text
    assert "10002" in text  # the TLS listener
    assert "10002" not in "\n".join(spec.render(config(profile, tls=False)).values())


@pytest.mark.parametrize("name", MUST_WORK)
@pytest.mark.parametrize("profile", PROFILES)
def test_reference_path_routes_to_the_reference_echo_only_when_there_is_one(name, profile):
    spec = get_spec(name)
    without = "\n".join(spec.render(config(profile)).values())
    reference = Backend("reference", "127.0.0.2", 20099)
    text = "\n".join(spec.render(config(profile, reference=reference)).values())
    assert REFERENCE_PATH not in without and "20099" not in without
    assert REFERENCE_PATH in text
    assert "127.0.0.2:20099" in text or "port_value: 20099" in text
    # the reference echo is its own pool of one: never beside a pod, and no pod in its pool
    assert not [line for line in text.splitlines() if "20099" in line and ("20000" in line or "20010" in line)]
    assert text.count("20000") == without.count("20000") and text.count("20010") == without.count("20010")


@pytest.mark.parametrize("name", MUST_WORK)
def test_shipped_settings_name_the_controller_default_they_copy(name):
    text = "\n".join(get_spec(name).render(config("shipped")).values())
    comments = [line for line in text.splitlines() if "#" in line]
    assert len(comments) >= 3, comments


@pytest.mark.parametrize("name", sorted(SHIPPED_IDLE_TEXT))
def test_shipped_idle_timeout_is_the_controller_default(name):
    spec = get_spec(name)
    filename, expected = SHIPPED_IDLE_TEXT[name]
    assert expected in spec.render(config("shipped"))[filename]
    assert spec.idle_override
    # an override (what the live tests use) replaces it
    assert expected not in spec.render(config("shipped", idle=2.0))[filename]


def test_shipped_idle_timeouts_in_seconds():
    shipped = {name: get_spec(name).idle_timeout_s("shipped") for name in MUST_WORK}
    assert shipped == {
        "nginx": 60.0, "haproxy": 3600.0, "envoy": None, "traefik": None, "caddy": None,
        "trafficserver": 600.0, "httpd": 60.0,
    }


@pytest.mark.parametrize("name", ["traefik", "caddy"])
def test_proxies_without_an_idle_timeout_say_so(name):
    spec = get_spec(name)
    assert not spec.idle_override and spec.idle_timeout_s("shipped") is None
    assert any("idle timeout" in line for line in spec.cannot)


def test_tuned_profile_keeps_sessions_longer():
    assert "proxy_read_timeout 3600s;" in get_spec("nginx").render(config("tuned"))["nginx.conf"]
    assert "stream_idle_timeout: 3600s" in get_spec("envoy").render(config("tuned"))["envoy.yaml"]
    assert "healthCheck" in get_spec("traefik").render(config("tuned"))["dynamic.yaml"]


def test_missing_binary_is_reported(monkeypatch):
    fake = ProxySpec(
        name="nope", title="Nope", controller="-", binaries=("wsbench-no-such-proxy",),
        render=lambda c: {}, argv=lambda c, b: [b], version_args=(),
        reload=get_spec("nginx").reload, idle_timeout_s=lambda p: None, idle_override=False, affinity=None,
    )
    assert fake.locate() is None
    monkeypatch.setattr("wsbench.lab.lab.get_spec", lambda name: fake)
    assert "wsbench-no-such-proxy not found" in missing_proxies(("nope",))["nope"]


def test_state_round_trips_through_json():
    state = LabState(
        name="x", state_dir="/s",
        proxies={"nginx": ProxyInfo(name="nginx", url="ws://127.0.0.1:1/", wss_url=None, pid=5,
                                    profile="shipped", version="1.22.1", binary="/usr/sbin/nginx",
                                    work_dir="/s/p", log_file="/s/p/log", port=1, draining=((7, 8),))},
        pods=(PodInfo(name="pod-0", url="ws://127.0.0.2:2", pid=6, host="127.0.0.2", port=2,
                      pool="main", log_file="/s/pods/pod-0.log"),),
        reference=ReferenceInfo(url="ws://127.0.0.2:3/", pid=9, host="127.0.0.2", port=3,
                                log_file="/s/reference/reference.log", start_time=11),
    )
    assert LabState.from_json(state.to_json()) == state
    status = state.status()
    assert status["proxies"]["nginx"] == {
        "url": "ws://127.0.0.1:1/", "wss_url": None, "pid": 5, "profile": "shipped", "version": "1.22.1",
    }
    assert status["pods"] == [{"name": "pod-0", "url": "ws://127.0.0.2:2", "pid": 6}]
    assert status["reference"] == {"url": "ws://127.0.0.2:3/", "pid": 9}
    older = {k: v for k, v in state.to_json().items() if k != "reference"}  # a lab from before
    assert LabState.from_json(older).reference is None and "reference" not in LabState.from_json(older).status()
