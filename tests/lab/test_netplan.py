"""``--netns`` without root and without a lab: the network plan (pure), state, errors."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest

from wsbench.errors import LabError, UsageError
from wsbench.lab import Lab, LabNet, LabOptions, LabState, PodInfo
from wsbench.lab.netplan import (
    FIRST_BLOCK,
    IFNAME_MAX,
    block_prefix,
    pick_block,
    plan_net,
    routed_networks,
)

ROUTES = """\
default via 192.0.2.1 dev eth0
10.201.0.0/30 dev wsb51456v0 proto kernel scope link src 10.201.0.1
unreachable 10.201.0.0/24
10.96.0.0/12 via 192.0.2.9 dev eth0
local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1
broadcast 127.255.255.255 dev lo table local proto kernel scope link src 127.0.0.1
local 10.201.0.1 dev wsb51456v0 table local proto kernel scope host src 10.201.0.1
"""


def test_routed_networks_reads_ip_route_output():
    nets = routed_networks(ROUTES.splitlines())
    assert IPv4Network("10.201.0.0/24") in nets and IPv4Network("10.96.0.0/12") in nets
    assert IPv4Network("10.201.0.1/32") in nets and IPv4Network("127.0.0.0/8") in nets
    assert all(net.prefixlen > 0 for net in nets)  # the default route takes nothing


def test_pick_block_skips_every_routed_network_and_wraps_around():
    taken = routed_networks(ROUTES.splitlines())
    assert pick_block(taken, 24) == IPv4Network("10.201.1.0/24")
    assert pick_block([], 24) == FIRST_BLOCK
    # a route covering the rest of the pool: the search wraps to the start of 10/8
    assert pick_block([IPv4Network("10.200.0.0/13"), IPv4Network("10.208.0.0/12"), IPv4Network("10.224.0.0/11")], 24) \
        == IPv4Network("10.0.0.0/24")
    assert pick_block([IPv4Network("10.0.0.0/9")], 23, first=IPv4Network("10.0.0.0/24")) == IPv4Network("10.128.0.0/23")
    with pytest.raises(LookupError):
        pick_block([IPv4Network("10.0.0.0/8")], 24)


def test_block_holds_a_slash_30_per_pod():
    assert block_prefix(1) == 24 and block_prefix(64) == 24 and block_prefix(65) == 23
    pods = [f"pod-{i}" for i in range(64)] + ["alt-0"]
    net = plan_net("x", IPv4Network("10.201.0.0/23"), pods, tag="t")
    assert len({p.pod_addr for p in net.pods} | {p.host_addr for p in net.pods}) == 2 * len(pods)
    with pytest.raises(ValueError):
        plan_net("x", IPv4Network("10.201.0.0/24"), pods, tag="t")


def test_plan_names_are_unique_per_block_and_fit_linux_limits():
    one = plan_net("default", IPv4Network("10.201.0.0/24"), ["pod-0", "pod-1", "alt-0"], tag="t1")
    two = plan_net("default", IPv4Network("10.255.255.0/24"), ["pod-0", "pod-1", "alt-0"], tag="t2")
    assert [p.netns for p in one.pods] == ["wsb-default-51456-pod-0", "wsb-default-51456-pod-1", "wsb-default-51456-alt-0"]
    assert not {p.netns for p in one.pods} & {p.netns for p in two.pods}
    assert not {p.host_if for p in one.pods} & {p.host_if for p in two.pods}
    assert all(len(p.host_if) <= IFNAME_MAX and p.pod_if == "eth0" for p in (*one.pods, *two.pods))
    assert [(p.host_addr, p.pod_addr) for p in one.pods] == [
        ("10.201.0.1", "10.201.0.2"), ("10.201.0.5", "10.201.0.6"), ("10.201.0.9", "10.201.0.10"),
    ]
    weird = plan_net("my lab/1", IPv4Network("10.201.0.0/24"), ["pod-0"], tag="t")
    assert "/" not in weird.pods[0].netns and " " not in weird.pods[0].netns


def test_state_with_a_net_round_trips_and_status_names_the_namespaces():
    net = plan_net("x", IPv4Network("10.201.0.0/24"), ["pod-0"], tag="wsbench-lab:abc")
    pod = PodInfo(name="pod-0", url="ws://10.201.0.2:5", pid=6, host="10.201.0.2", port=5, pool="main",
                  log_file="/s/pods/pod-0.log", netns=net.pods[0].netns)
    state = LabState(name="x", state_dir="/s", pods=(pod,), net=net)
    again = LabState.from_json(state.to_json())
    assert again == state and isinstance(again.net, LabNet) and again.net.of("pod-0") == net.pods[0]
    assert state.status()["pods"] == [{"name": "pod-0", "url": "ws://10.201.0.2:5", "pid": 6, "netns": net.pods[0].netns}]


def test_cut_pod_needs_a_netns_lab(tmp_path):
    pod = PodInfo(name="pod-0", url="ws://127.0.0.2:5", pid=6, host="127.0.0.2", port=5, pool="main", log_file="/x")
    lab = Lab(LabState(name="x", state_dir=str(tmp_path), pods=(pod,)))
    with pytest.raises(LabError, match="no network of its own"):
        lab.cut_pod("pod-0")
    with pytest.raises(LabError, match="not in lab"):
        lab.restore_pod("pod-9")


def test_netns_without_root_is_a_one_line_usage_error(tmp_path, monkeypatch, capsys):
    from wsbench.cli import main

    monkeypatch.setattr("wsbench.lab.netns.os.geteuid", lambda: 1000)
    with pytest.raises(UsageError, match="--netns needs root"):
        Lab.up(LabOptions(proxies=("nginx",), netns=True, state_dir=str(tmp_path / "api")))
    with pytest.raises(SystemExit) as caught:
        main(["lab", "up", "--netns", "--proxies", "nginx", "--state-dir", str(tmp_path / "cli")])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--netns needs root" in err, err
    assert not (tmp_path / "api").exists() and not (tmp_path / "cli").exists()
