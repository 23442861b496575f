"""Scenario loading and validation: every bad input names its field, in one line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from wsbench.errors import InputFileError, ScenarioError
from wsbench.scenario import (
    Scenario,
    Target,
    load_scenario,
    parse_scenario,
    parse_target,
    redact_url,
)

ROOT = Path(__file__).resolve().parent.parent


def test_default_yaml_spells_out_the_builtin_defaults():
    from_file = load_scenario(str(ROOT / "scenarios" / "default.yaml"))
    assert from_file == Scenario()


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_scenario_loads(path, tmp_path):
    data_overrides = {}
    if "ca_file" in path.read_text():
        ca = tmp_path / "ca.pem"
        ca.write_text("x")
        data_overrides["ca_file"] = str(ca)
    load_scenario(str(path), data_overrides)


def test_cli_overrides_win_over_the_file(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("sessions: 10\nduration: 5s\nmode: closed\n")
    scenario = load_scenario(str(path), {"sessions": 20})
    assert scenario.sessions == 20
    assert scenario.duration == 5.0
    assert scenario.mode == "closed"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"sesions": 3}, "sesions: unknown scenario key"),
        ({"sessions": "many"}, "sessions: expected an integer, got 'many'"),
        ({"sessions": 0}, "sessions: must be >= 1, got 0"),
        ({"sessions": 2_000_000}, "sessions: must be <= 1000000, got 2000000"),
        ({"duration": -5}, "duration: must be > 0, got -5"),
        ({"duration": "soon"}, "duration: expected a duration like 30 or '30s', got 'soon'"),
        ({"mode": "burst"}, "mode: expected one of closed, rate, got 'burst'"),
        ({"message_size": 8}, "message_size: must be >= 32, got 8"),
        ({"rate": 0}, "rate: must be > 0, got 0"),
        ({"targets": ["http://example.test/"]}, "target: expected a ws:// or wss:// URL, got 'http://example.test/'"),
        ({"targets": ["ws://:80/"]}, "target: no host in 'ws://:80/'"),
        ({"targets": ["ws://127.0.0.1:99999/"]}, "target: bad port in 'ws://127.0.0.1:99999/'"),
        ({"targets": ["a=ws://127.0.0.1:1/", "a=ws://127.0.0.1:2/"]}, "targets: duplicate target name 'a'"),
        ({"ca_file": "/nonexistent/ca.pem"}, "ca_file: cannot read '/nonexistent/ca.pem'"),
        ({"source_addresses": ["localhost"]}, "source_addresses: not an IP address: 'localhost'"),
        ({"deflate": "maybe"}, "deflate: expected true or false, got 'maybe'"),
        ({"headers": {"Bad Header": "x"}}, "headers: bad header name 'Bad Header'"),
    ],
)
def test_bad_input_names_the_field(data, message):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    assert str(info.value) == message


def test_durations_and_ping_settings():
    scenario = parse_scenario({"duration": "2m", "ping_interval": "off", "reply_timeout": "250ms"})
    assert scenario.duration == 120.0
    assert scenario.ping_interval is None
    assert scenario.reply_timeout == 0.25
    assert parse_scenario({"ping_interval": 20}).ping_interval == 20.0


def test_targets_forms():
    scenario = parse_scenario({"targets": {"nginx": "ws://127.0.0.1:8080/x"}})
    assert scenario.targets == (Target("nginx", "ws://127.0.0.1:8080/x"),)
    assert parse_target("ws://127.0.0.1:9000/").name == "127.0.0.1:9000"
    assert parse_target("envoy=wss://[::1]:443/").url == "wss://[::1]:443/"


def test_unreadable_or_broken_files(tmp_path):
    with pytest.raises(InputFileError, match="cannot read scenario"):
        load_scenario(str(tmp_path / "missing.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("sessions: [1,\n")
    with pytest.raises(InputFileError, match="not valid YAML"):
        load_scenario(str(bad))
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    with pytest.raises(ScenarioError, match="expected a mapping"):
        load_scenario(str(listy))


def test_secrets_are_redacted():
    scenario = parse_scenario(
        {
            "targets": ["ws://user:hunter2@127.0.0.1:9/p"],
            "headers": {"Authorization": "Bearer s3cret", "X-Trace": "1"},
        }
    )
    text = repr(scenario.redacted())
    assert "hunter2" not in text and "s3cret" not in text and "user" not in text
    assert scenario.redacted()["headers"]["X-Trace"] == "1"
    assert redact_url("wss://a:b@h:1/x?q=1") == "wss://***@h:1/x?q=1"


def test_scenario_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Scenario().sessions = 3  # type: ignore[misc]
