"""Bundled scenarios by name, and run folders CI artifact uploaders accept."""

from __future__ import annotations

import json

import pytest

from wsbench.bundled import bundled_scenarios, find_bundled
from wsbench.cli import main
from wsbench.engine.runner import new_run_id, safe_name
from wsbench.scenario import load_scenario
from wsbench.server.process import ServeOptions, start_server

UNSAFE = set(':"<>|*?\r\n\\')


def test_bundled_scenarios_load_by_name():
    names = bundled_scenarios()
    assert {"default", "closed-loop", "ci-gate", "ingress-idle"} <= set(names)
    for name in set(names) - {"tls-many-sources"}:  # that one needs a lab's CA file
        assert load_scenario(name).name
    assert load_scenario("closed-loop").mode == "closed"
    assert find_bundled("closed-loop.yaml") == names["closed-loop"]
    assert find_bundled("scenarios/closed-loop") is None


def test_folder_names_have_no_unsafe_characters():
    for name in ("127.0.0.1:8080", "a/b", "x*y?", "[::1]:9000", "..", ""):
        assert not (set(safe_name(name)) & UNSAFE | {"/"} & set(safe_name(name))), name
        assert not set(new_run_id(name)) & (UNSAFE | {"/", "."}), name
    assert safe_name("127.0.0.1:8080") == "127.0.0.1-8080"


def test_a_run_by_scenario_name_writes_safe_folders(tmp_path, capsys):
    with start_server(ServeOptions()) as server:
        with pytest.raises(SystemExit) as exited:
            main(["run", "closed-loop", "--url", server.url, "--sessions", "2", "--messages", "3",
                  "--processes", "1", "--out", str(tmp_path), "-q"])
    assert exited.value.code == 0, capsys.readouterr().err
    (run_dir,) = tmp_path.iterdir()
    assert "closed-loop" in run_dir.name
    result = json.loads((run_dir / "result.json").read_text())
    assert result["scenario"]["name"] == "closed-loop" and result["scenario"]["mode"] == "closed"
    (target,) = result["targets"]
    assert ":" in target  # the target keeps its name (host:port) ...
    names = [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")]
    assert [n for n in names if "shards/" in n] and not [n for n in names if set(n) & UNSAFE], names
