"""Live metrics: a real run with the Prometheus endpoint up, scraped while it goes; the last
scrape (the target done) equals the Result exactly; the CLI serves it; the dashboard loads."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.utils import UNIT, wait_until
from wsbench.engine import orchestrate
from wsbench.live import LiveMetrics, serve_metrics
from wsbench.live.exporter import BUCKETS_S, cumulative_buckets
from wsbench.metrics.histogram import Histogram
from wsbench.scenario import parse_scenario
from wsbench.server.process import ServeOptions, start_server

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "wsbench-dashboard.json"
SESSIONS = 6


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of http://127.0.0.1:port/metrics as {(name, labels): value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5 * UNIT) as response:
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_scraped_during_a_real_run_and_equal_to_the_result_at_the_end(tmp_path):
    live = LiveMetrics()
    server, port = serve_metrics(live, 0, "127.0.0.1")
    seen: list[dict] = []
    done = threading.Event()

    def scraper() -> None:
        while not done.is_set() and len(seen) < 2000:
            seen.append(scrape(port))
            done.wait(0.1)

    try:
        with start_server(ServeOptions()) as echo:
            scenario = parse_scenario({"name": "live", "targets": [f"t={echo.url}"], "sessions": SESSIONS,
                                       "ramp": 0, "mode": "rate", "rate": 20, "duration": 4, "processes": 2,
                                       "out": str(tmp_path)})
            thread = threading.Thread(target=scraper, daemon=True)
            thread.start()
            outcome = orchestrate.run(scenario, disruptions=("exec@1s:true",), watcher=live)
            done.set()
            thread.join(10 * UNIT)
        final = scrape(port)
    finally:
        server.shutdown()
    result = json.loads(outcome.result_path.read_text())
    target = result["targets"]["t"]

    # during the run: every session open, messages flowing, fewer than at the end
    mid = [s for s in seen if value(s, "wsbench_sessions_open", target="t") == SESSIONS
           and value(s, "wsbench_target_complete", target="t") == 0]
    assert mid, f"no scrape saw {SESSIONS} open sessions mid-run ({len(seen)} scrapes)"
    assert any(0 < value(s, "wsbench_rtt_seconds_count", target="t") < target["rtt"]["count"] for s in mid)
    sent = [value(s, "wsbench_messages_sent_total", target="t") for s in seen]
    assert sent == sorted(sent), "a counter went backwards"

    # the target done: exactly the Result
    assert value(final, "wsbench_target_complete", target="t") == 1
    assert value(final, "wsbench_sessions_open", target="t") == 0
    for key in ("attempted", "opened", "failed", "dropped", "reconnected"):
        assert value(final, f"wsbench_sessions_{key}_total", target="t") == target["sessions"][key], key
    for key in ("sent", "received", "lost"):
        assert value(final, f"wsbench_messages_{key}_total", target="t") == target["messages"][key], key
    assert target["messages"]["sent"] > 0
    for code, count in target["closes"]["by_code"].items():
        assert value(final, "wsbench_closes_total", target="t", code=code) == count
    assert value(final, "wsbench_rtt_seconds_count", target="t") == target["rtt"]["count"]
    assert value(final, "wsbench_rtt_seconds_bucket", target="t", le="+Inf") == target["rtt"]["count"]
    for phase in ("tcp", "http", "total"):
        assert value(final, "wsbench_upgrade_duration_seconds_count", target="t", phase=phase) == \
            target["upgrade"][phase]["count"] == SESSIONS
    rtt = Histogram.decode(target["rtt"]["hdr"])
    for le, count in cumulative_buckets(rtt)[0]:
        assert value(final, "wsbench_rtt_seconds_bucket", target="t", le=le) == count
    assert len(target["disruptions"]) == 1
    assert value(final, "wsbench_disruptions_total", target="t", kind="exec", ok="true") == 1


def test_cumulative_buckets_follow_the_histogram():
    hist = Histogram()
    hist.record_many([300, 900, 4_000, 4_000, 70_000, 20_000_000])  # µs
    pairs, total = cumulative_buckets(hist)
    counts = dict(pairs)
    assert counts["0.0005"] == 1 and counts["0.001"] == 2 and counts["0.005"] == 4
    assert counts["0.1"] == 5 and counts["10.0"] == 5 and counts["+Inf"] == 6
    assert [c for _, c in pairs] == sorted(c for _, c in pairs) and len(pairs) == len(BUCKETS_S) + 1
    assert total == pytest.approx(sum([300, 900, 4_000, 4_000, 70_000, 20_000_000]) / 1e6, rel=1e-3)


def test_cli_serves_metrics_while_it_runs(tmp_path):
    with start_server(ServeOptions()) as echo:
        process = subprocess.Popen(
            [sys.executable, "-m", "wsbench", "run", "--url", echo.url, "--sessions", "3", "--duration", "3",
             "--processes", "1", "--metrics-port", "0", "--metrics-addr", "127.0.0.1", "--out", str(tmp_path)],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        try:
            line = process.stderr.readline()
            match = re.match(r"metrics: http://127\.0\.0\.1:(\d+)/metrics", line)
            assert match, line
            port = int(match.group(1))
            samples = wait_until(lambda: (s := scrape(port)) and any(
                n == "wsbench_sessions_open" and v == 3 for (n, _), v in s.items()) and s,
                timeout=20, what="3 open sessions on the metrics endpoint")
            assert any(n == "wsbench_messages_sent_total" for n, _ in samples)
        finally:
            process.stderr.read()
            assert process.wait(timeout=60 * UNIT) == 0


def _exported_names() -> set[str]:
    names = set()
    for family in LiveMetrics().collect():
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}.get(family.type, [""])
        names |= {family.name + suffix for suffix in suffixes}
    return names


def test_the_dashboard_loads_into_grafanas_model_and_shows_our_metrics():
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models.dashboard import Dashboard

    data = json.loads(DASHBOARD.read_text())
    model = Dashboard.from_json(data)
    back = json.loads(json.dumps(model, cls=JSONEncoder))

    def dropped(ours, theirs, path=""):  # a field Grafana's schema does not know is dropped on load
        if isinstance(ours, dict):
            return [p for key, item in ours.items()
                    for p in ([f"{path}/{key}"] if key not in theirs else dropped(item, theirs[key], f"{path}/{key}"))]
        if isinstance(ours, list):
            assert len(ours) == len(theirs), path
            return [p for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) for p in dropped(a, b, f"{path}[{i}]")]
        assert ours == theirs, path
        return []

    assert dropped(data, back) == []
    assert model.uid == "wsbench-live" and len({p.id_val for p in model.panels}) == len(model.panels) >= 8
    exprs = [t["expr"] for p in data["panels"] for t in p["targets"]]
    exprs += [a["expr"] for a in data["annotations"]["list"]]
    used = {name for expr in exprs for name in re.findall(r"\bwsbench_\w+", expr)}
    assert used and used <= _exported_names(), used - _exported_names()
    assert {"wsbench_sessions_open", "wsbench_rtt_seconds_bucket", "wsbench_upgrade_duration_seconds_bucket",
            "wsbench_upgrade_failures_total", "wsbench_disruptions_total", "wsbench_messages_sent_total"} <= used
