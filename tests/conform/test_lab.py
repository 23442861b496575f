"""The suite through real proxies from the lab (nginx, HAProxy) and against one pod alone.

One lab for the module, with every proxy's idle timeout overridden to 3 s; its state
lives under a temporary ``WSBENCH_LAB_DIR`` so that ``conform --lab`` (which looks for
the running lab named ``default``) finds this one and no one else's. A proxy that is
not installed is skipped with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from wsbench.cli import main
from wsbench.conform.cases import catalogue
from wsbench.conform.ingress import IngressOptions
from wsbench.conform.lab import LabConformance, run_lab_conformance, targets_of
from wsbench.conform.model import Case
from wsbench.conform.runner import RunOptions
from wsbench.lab import Lab, LabOptions, missing_proxies

PROXIES = ("nginx", "haproxy")
IDLE_S = 3.0
CASES = {c.id: c for c in catalogue() if isinstance(c, Case)}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    missing = missing_proxies(PROXIES)
    if missing:
        pytest.skip("; ".join(missing.values()))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WSBENCH_LAB_DIR", str(tmp_path_factory.mktemp("labs")))
        with Lab.up(LabOptions(proxies=PROXIES, idle_timeout_s=IDLE_S, name="default")) as running:
            yield running


@pytest.fixture(scope="module")
def outcome(lab: Lab, unit: float) -> LabConformance:
    """Groups 1-7 and the ingress group (idle checks bounded at 2 x the idle timeout)."""
    return run_lab_conformance(
        targets_of(lab, PROXIES), cases=["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "ingress.*"],
        options=RunOptions(timeout=5 * unit),
        ingress=IngressOptions(idle_bound=2 * IDLE_S + 2 * unit, max_message_bound=4 << 20),
        ca_file=lab.ca_file)


def same_or_allowed(case_id: str, direct: str, proxied: str) -> bool:
    """Equal verdicts, or both among the outcomes the case itself allows (3.x/4.x: the server
    may fail the connection before or after echoing; which one depends on how the bytes
    arrive, and a proxy re-chunks them)."""
    if direct == proxied:
        return True
    allowed = {o.verdict for o in CASES[case_id].outcomes}
    return {direct, proxied} <= allowed


@pytest.mark.parametrize("proxy", PROXIES)
def test_groups_1_to_7_give_the_same_verdicts_as_direct(outcome: LabConformance, proxy: str) -> None:
    pod, through = outcome.results["pod"], outcome.results[proxy]
    assert pod.complete and through.complete
    autobahn = [cid for cid in pod.cases if not cid.startswith("ingress.")]
    assert len(autobahn) == 246
    differ = {cid: (pod.cases[cid].verdict, through.cases[cid].verdict, through.cases[cid].reason)
              for cid in autobahn
              if not same_or_allowed(cid, pod.cases[cid].verdict, through.cases[cid].verdict)}
    assert differ == {}
    assert pod.failed == through.failed == ["7.1.5"]  # the pod's websockets library, not the proxy


@pytest.mark.parametrize("proxy", PROXIES)
def test_ingress_group_reports_the_configured_idle_timeout(outcome: LabConformance, proxy: str,
                                                           unit: float) -> None:
    cases = outcome.results[proxy].cases
    idle = cases["ingress.idle-timeout"]
    measured = idle.observed["idle_timeout_s"]
    assert idle.verdict == "INFORMATIONAL" and IDLE_S - 0.2 <= measured <= IDLE_S + 1.0 * unit, idle.reason
    assert idle.observed["closed_how"] == "TCP closed without a close frame (the client sees 1006)"
    assert cases["ingress.ping-keepalive"].verdict == "OK", cases["ingress.ping-keepalive"].reason
    expected = {"ingress.max-message": "OK", "ingress.subprotocol": "OK", "ingress.deflate": "OK",
                "ingress.origin": "OK", "ingress.x-forwarded-for": "OK", "ingress.host": "OK",
                "ingress.affinity": "OK", "ingress.upgrade-no-key": "OK",
                "ingress.header-routing": "OK",  # X-Canary: always reaches the alt pods
                "ingress.upgrade-bad-version": "NON-STRICT",  # the pod's 400, passed on
                "ingress.tls-chain": "OK", "ingress.tls-hostname": "OK"}
    assert {cid: cases[cid].verdict for cid in expected} == expected
    assert cases["ingress.x-forwarded-for"].observed["value"] == "X-Forwarded-For"
    # the pod alone: no idle timeout, no TLS; the matrix shows what each proxy changed
    pod = outcome.results["pod"].cases
    assert pod["ingress.idle-timeout"].observed["idle_timeout_s"] is None
    assert pod["ingress.tls-chain"].verdict == "UNIMPLEMENTED"
    changed = {cid for cid, row in outcome.matrix["cases"].items() if proxy in row["changed"]}
    assert {"ingress.idle-timeout", "ingress.ping-keepalive", "ingress.tls-chain",
            "ingress.tls-hostname", "ingress.x-forwarded-for"} <= changed


def test_cli_lab_writes_a_json_per_target_a_matrix_and_html(lab: Lab, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    junit = tmp_path / "conform.xml"
    with pytest.MonkeyPatch.context() as patch, pytest.raises(SystemExit) as done:
        patch.setenv("WSBENCH_LAB_DIR", str(Path(lab.state.state_dir).parent))
        main(["conform", "--lab", ",".join(PROXIES), "--cases", "1.1.*,2.*,ingress.host,ingress.tls-*",
              "--out", str(tmp_path / "out"), "--junit", str(junit)])
    assert done.value.code == 0
    captured = capsys.readouterr()
    assert "using the running lab 'default'" in captured.err
    assert "pod (baseline)" in captured.out and "Changed by a proxy" in captured.out
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "conform.html", "haproxy.json", "matrix.json", "nginx.json", "pod.json"]
    nginx = json.loads((out / "nginx.json").read_text())
    assert nginx["target"] == "nginx" and len(nginx["cases"]) == 8 + 11 + 3
    matrix = json.loads((out / "matrix.json").read_text())
    assert matrix["baseline"] == "pod" and matrix["targets"] == ["pod", *PROXIES]
    assert matrix["cases"]["ingress.host"]["changed"] == ["nginx"]  # ingress-nginx's Host: $host
    assert matrix["lab"]["name"] == "default"
    html = (out / "conform.html").read_text()
    assert 'id="conformance"' in html and "ingress.tls-chain" in html
    suites = ET.parse(junit).getroot().findall("testsuite")
    assert [s.get("name", "").split()[1] for s in suites] == ["pod", *PROXIES]
