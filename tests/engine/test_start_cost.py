"""The fixed cost of a run: what a plain ``wsbench run --url`` loads, and the report's
compiled templates kept between runs (issue 15: the whole-run cost per session).

A run against a URL needs neither the lab (its proxies, health checks and the websockets
client they use), nor the disruptions, nor YAML (no scenario file): each was ~10-50 ms of
CPU at the start of every run. The report's templates were compiled from source in every
new process (~40-60 ms of CPU per report).
"""

from __future__ import annotations

import json
import subprocess
import sys

from wsbench.report import render

#: loaded by the runs that need them, never by a plain run against a URL
LAB_ONLY = ("wsbench.lab", "wsbench.disrupt.actions", "wsbench.disrupt.effects", "websockets.asyncio.client",
            "http.client", "yaml")

_RUN_AND_LIST = """
import atexit, json, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
from wsbench.cli import main
main()
"""


def test_a_run_against_a_url_loads_no_lab_disruptions_or_yaml(echo_server, tmp_path):
    server = echo_server()
    listing = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", _RUN_AND_LIST, str(listing), "run", "--url", server.url, "--sessions", "2",
         "--duration", "1", "--processes", "1", "--quiet", "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    modules = set(json.loads(listing.read_text()))
    assert "wsbench.engine.runner" in modules and "jinja2" in modules  # it did run and report
    assert not [m for m in LAB_ONLY if m in modules]


def test_a_scenario_file_still_loads_and_a_bad_one_is_one_line(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("sessions: 3\nduration: 2\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("sessions: [3\n")
    code = ("import sys\nfrom wsbench.scenario import load_scenario\nfrom wsbench.errors import InputFileError\n"
            "print(load_scenario(sys.argv[1]).sessions)\n"
            "try:\n    load_scenario(sys.argv[2])\nexcept InputFileError as exc:\n    print(exc)\n")
    done = subprocess.run([sys.executable, "-c", code, str(good), str(bad)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    sessions, message = done.stdout.splitlines()
    assert sessions == "3"
    assert message.startswith(f"{bad}: line ") and message.endswith("not valid YAML")


def test_the_report_templates_are_compiled_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = tmp_path / "cache" / "wsbench" / "templates"
    env = render.environment()
    env.get_template("report.html.j2")
    kept = sorted(folder.iterdir())
    assert kept, "no compiled template was kept"
    # a new process (a new environment) loads them: the same page, nothing compiled again
    stamps = {p: p.stat().st_mtime_ns for p in kept}
    again = render.environment()
    compiled = []
    monkeypatch.setattr(again, "compile", lambda *a, **k: compiled.append(a) or type(env).compile(again, *a, **k))
    again.get_template("report.html.j2")
    assert compiled == []
    assert {p: p.stat().st_mtime_ns for p in kept} == stamps


def test_a_changed_template_is_compiled_again(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    render.environment().get_template("report.html.j2")
    env = render.environment()
    env.loader = _Edited(env.loader)
    assert env.get_template("report.html.j2").render(x=1) == "changed"


class _Edited:
    """The package loader with one template's source changed (as after an upgrade)."""

    def __init__(self, inner: object) -> None:
        self.inner = inner

    def get_source(self, environment: object, name: str) -> tuple[str, str | None, object]:
        _source, filename, _uptodate = self.inner.get_source(environment, name)  # type: ignore[attr-defined]
        return "changed", filename, lambda: True

    def load(self, environment: object, name: str, globals: object = None) -> object:
        import jinja2

        return jinja2.BaseLoader.load(self, environment, name, globals)  # type: ignore[arg-type]


def test_an_unwritable_cache_folder_still_draws_the_report(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # makedirs fails under a file
    assert render.environment().get_template("report.html.j2") is not None
    locked = tmp_path / "locked"
    (locked / "wsbench" / "templates").mkdir(parents=True)
    (locked / "wsbench" / "templates").chmod(0o500)
    monkeypatch.setenv("XDG_CACHE_HOME", str(locked))
    try:
        assert render.environment().get_template("report.html.j2") is not None
    finally:
        (locked / "wsbench" / "templates").chmod(0o700)


def test_the_kept_templates_render_the_same_page(tmp_path, monkeypatch):
    from tests.report.resultgen import make_result  # a Result built from real histograms

    result = make_result()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "none"))
    monkeypatch.setattr(render, "_template_cache", lambda: None)
    fresh = render.report_html(result)
    monkeypatch.undo()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    render.report_html(result)  # compiles and keeps
    assert render.report_html(result) == fresh  # from the kept ones
    assert (tmp_path / "cache" / "wsbench" / "templates").exists()


def test_a_damaged_entry_is_compiled_again(tmp_path, monkeypatch):
    from jinja2.bccache import bc_magic

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    render.environment().get_template("report.html.j2")
    for entry in (tmp_path / "cache" / "wsbench" / "templates").iterdir():
        entry.write_bytes(bc_magic + b"\x80not a pickle, not code")  # the right header, then junk
    assert render.environment().get_template("report.html.j2") is not None
    for entry in (tmp_path / "cache" / "wsbench" / "templates").iterdir():
        assert entry.read_bytes() != bc_magic + b"\x80not a pickle, not code"  # written again, whole


def test_a_folder_others_can_write_is_not_used(tmp_path, monkeypatch):
    """Compiled code is loaded from the cache: a shared folder (group- or world-writable) is
    never read or written, whatever it holds."""
    folder = tmp_path / "shared" / "wsbench" / "templates"
    folder.mkdir(parents=True)
    folder.chmod(0o777)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "shared"))
    env = render.environment()
    assert env.bytecode_cache is None
    env.get_template("report.html.j2")
    assert list(folder.iterdir()) == []
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "own"))
    assert render.environment().bytecode_cache is not None
    assert ((tmp_path / "own" / "wsbench" / "templates").stat().st_mode & 0o077) == 0
