"""``wsbench report`` and ``wsbench compare`` through the CLI entry point."""

from __future__ import annotations

import json

import pytest

from wsbench.cli import main


def run(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    captured = capsys.readouterr()
    return exited.value.code, captured.out, captured.err


def test_report_next_to_the_result_with_conformance(tmp_path, resultgen, full_result, capsys):
    run_dir = tmp_path / "reports" / "run-1"
    run_dir.mkdir(parents=True)
    result = resultgen.write_result(run_dir / "result.json", full_result)
    conform = tmp_path / "conform.json"
    conform.write_text(json.dumps(resultgen.make_conformance(target="nginx")))
    code, out, err = run(["report", str(result), "--conform", str(conform)], capsys)
    assert code == 0, err
    page = run_dir / "report.html"
    assert out.strip() == f"report: {page}"
    html = page.read_text(encoding="utf-8")
    assert 'id="conformance-matrix"' in html
    assert "Gate failed: 1 of 2 checks" in html  # the scenario's thresholds


def test_compare_labels_runs_by_directory(tmp_path, resultgen, full_result, capsys):
    paths = []
    for run_id, seed in (("run-a", 1), ("run-b", 2)):
        (tmp_path / run_id).mkdir()
        paths.append(resultgen.write_result(tmp_path / run_id / "result.json", resultgen.make_result(seed=seed, run_id=run_id)))
    out_file = tmp_path / "c.html"
    code, out, err = run(["compare", *map(str, paths), "-o", str(out_file), "--reference", "envoy · run-b",
                          "--resamples", "200"], capsys)
    assert code == 0, err
    assert "Verdicts against envoy · run-b" in out_file.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["report", "{missing}"], "no such file"),
        (["report", "{bad}"], "not valid JSON"),
        (["report", "{ok}", "--conform", "{ok}"], "not a wsbench conformance file"),
        (["compare", "{ok}", "{ok2}", "-o", "{out}", "--reference", "istio"], "--reference 'istio'"),
        (["compare", "{ok}", "{missing}", "-o", "{out}"], "no such file"),
        (["compare"], "Missing argument"),
    ],
)
def test_bad_input_exits_2(tmp_path, resultgen, full_result, capsys, argv, says):
    files = {name: tmp_path / f"{name}.json" for name in ("missing", "bad", "ok", "ok2")}
    files["out"] = tmp_path / "out.html"
    files["bad"].write_text("{")
    resultgen.write_result(files["ok"], full_result)
    resultgen.write_result(files["ok2"], full_result)
    code, _, err = run([a.format(**files) for a in argv], capsys)
    assert code == 2
    assert says in err and err.count("\n") == 1
