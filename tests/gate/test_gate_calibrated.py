"""Calibrated regression checks, the noise floor and A/B judging within one Result (pure).

The Results are generated (``tests/report/resultgen.py``) with known distributions; a
calibration section says what the machine added, so the expected verdicts are known.
"""

from __future__ import annotations

import numpy as np
import pytest

from wsbench.errors import UsageError
from wsbench.gate import evaluate_gate, to_markdown
from wsbench.result import Result
from wsbench.result.calibration import Calibration, machine_factor

LOCAL = "ws://127.0.0.1:8080/"


def calibration(resultgen, *, during_mean_ms: float, floor_p50_ms: float = 0.05, target: str = "nginx") -> dict:
    """A calibration whose probe saw ``during_mean_ms`` while ``target`` ran."""
    rng = np.random.default_rng(5)
    floor = resultgen.summary(rng.lognormal(np.log(floor_p50_ms * 1000), 0.6, 600))
    during = resultgen.summary(rng.lognormal(np.log(during_mean_ms * 1000), 0.01, 600))
    return {"method": "test", "rtt": floor, "rtt_closed": floor, "open": floor,
            "cpu_us_per_round_trip": 10.0, "during": {target: during}}


def result(resultgen, *, median_ms: float, seed: int, during_mean_ms: float | None = None,
           url: str = LOCAL, machine: str = "host-a", run_id: str = "run") -> dict:
    shapes = {"nginx": resultgen.TargetShape(url, rtt_median_ms=median_ms, messages=8000, disruption=False)}
    data = resultgen.make_result(shapes, seed=seed, run_id=run_id)
    generator = dict(data.get("generator") or {})
    generator["machine"] = {"host": machine, "cpu_model": machine, "cpus": 2, "kernel": "6"}
    if during_mean_ms is not None:
        generator["calibration"] = calibration(resultgen, during_mean_ms=during_mean_ms)
    data["generator"] = generator
    return data


def note(verdict) -> str:
    return verdict.checks[0].observations[0].note


def test_a_slower_machine_is_not_a_regression_once_calibrated(resultgen):
    """Same code, a machine that adds 1 ms to the path (its probe through the same path says
    so): raw +100 %, calibrated ~0."""
    base = result(resultgen, median_ms=1.0, seed=1, during_mean_ms=0.5, run_id="base")
    run = result(resultgen, median_ms=2.0, seed=2, during_mean_ms=1.5, machine="host-b")
    verdict = evaluate_gate(run, baseline=base, max_regressions=["rtt.p50=20%"])
    assert verdict.passed, to_markdown(verdict)
    text = note(verdict)
    assert "judged calibrated" in text and "another machine" in text
    assert "calibrated +" in text or "calibrated −" in text
    assert "raw +" in text  # raw figures shown beside the calibrated ones
    observed = verdict.checks[0].observations[0].observed
    assert "calibrated" in observed


def test_a_real_regression_on_another_machine_still_fails(resultgen):
    """Twice as slow, on a machine only 10 % slower: calibrated +80 %, fails."""
    base = result(resultgen, median_ms=1.0, seed=1, during_mean_ms=0.5, run_id="base")
    run = result(resultgen, median_ms=2.0, seed=2, during_mean_ms=0.55, machine="host-b")
    verdict = evaluate_gate(run, baseline=base, max_regressions=["rtt.p50=20%"])
    assert not verdict.passed
    assert note(verdict).startswith("significant regression: judged calibrated")


def test_same_machine_and_close_calibrations_are_judged_raw(resultgen):
    base = result(resultgen, median_ms=1.0, seed=1, during_mean_ms=0.5, run_id="base")
    run = result(resultgen, median_ms=1.5, seed=2, during_mean_ms=0.52)
    verdict = evaluate_gate(run, baseline=base, max_regressions=["rtt.p50=20%"])
    assert not verdict.passed
    assert "judged raw, same machine, calibrations within ±10%" in note(verdict)


def test_loaded_machine_beyond_the_bound_is_calibrated_even_on_the_same_host(resultgen):
    base = result(resultgen, median_ms=1.0, seed=1, during_mean_ms=0.5, run_id="base")
    run = result(resultgen, median_ms=1.4, seed=2, during_mean_ms=0.9)  # the probe +0.4 ms, the run +0.4 ms
    verdict = evaluate_gate(run, baseline=base, max_regressions=["rtt.p50=20%"])
    assert verdict.passed, to_markdown(verdict)
    assert "calibrations differ by +80%" in note(verdict)


def test_a_remote_target_only_loses_the_generators_part(resultgen):
    """Remote target: the machine's extra 0.5 ms is taken off (shift), not a ratio."""
    base = result(resultgen, median_ms=10.0, seed=1, during_mean_ms=0.5, url="wss://ingress.example/", run_id="b")
    run = result(resultgen, median_ms=10.5, seed=2, during_mean_ms=1.0, url="wss://ingress.example/", machine="h2")
    verdict = evaluate_gate(run, baseline=base, max_regressions=["rtt.p50=2%"])
    assert verdict.passed, to_markdown(verdict)
    assert "shift −0.5" in note(verdict)


def test_without_calibrations_the_gate_judges_raw_and_says_so(resultgen):
    base = result(resultgen, median_ms=1.0, seed=1, run_id="base")
    run = result(resultgen, median_ms=1.0, seed=2)
    verdict = evaluate_gate(run, baseline=base, max_regressions=["rtt.p50=20%"])
    assert verdict.passed
    assert "judged raw (no calibration in both Results)" in note(verdict)


def test_a_difference_below_the_noise_floor_is_same_never_faster_or_slower(resultgen):
    """0.02 ms apart with a floor of 0.05 ms: "same", even though the bootstrap sees it."""
    base = result(resultgen, median_ms=0.30, seed=1, during_mean_ms=0.5, run_id="base")
    run = result(resultgen, median_ms=0.28, seed=2, during_mean_ms=0.5)
    verdict = evaluate_gate(run, baseline=base, max_regressions=["rtt.p50=1%"])
    assert verdict.passed
    assert note(verdict).startswith("same (below the noise floor of")


def test_machine_factor_model_and_bound():
    run = Calibration.from_json({"rtt": {"mean": 0.2}, "during": {"t": {"mean": 1.3}}})
    base = Calibration.from_json({"rtt": {"mean": 0.2}, "during": {"t": {"mean": 1.0}}})
    factor = machine_factor(run, base, run_target="t", base_target="t", statistic="mean")
    assert factor is not None and factor.judged
    assert factor.apply(2.6) == pytest.approx(2.3)  # additive: the machine's extra 0.3 ms off
    assert factor.describe().endswith("shift −0.3 ms")
    close = Calibration.from_json({"during": {"t": {"mean": 1.05}}})
    assert not machine_factor(close, base, run_target="t", base_target="t", statistic="mean").judged
    assert machine_factor(None, base, run_target="t", base_target="t") is None


def test_references_of_different_workloads_are_not_compared():
    """A baseline probed on loopback, a run probed through the target's proxy: raw, and why."""
    run = Calibration.from_json({"during": {"t": {"p50": 1.3}}, "during_via": {"t": "ws://127.0.0.1:1/wsbench-reference"}})
    base = Calibration.from_json({"during": {"t": {"p50": 0.3}}, "during_via": {"t": "loopback"}})
    factor = machine_factor(run, base, run_target="t", base_target="t", machines_differ="cpu")
    assert factor is not None and not factor.judged
    assert "different workloads" in factor.why and "through the target's proxy" in factor.why
    same = Calibration.from_json({"during": {"t": {"p50": 0.5}}, "during_via": {"t": "ws://127.0.0.1:2/wsbench-reference"}})
    judged = machine_factor(run, same, run_target="t", base_target="t", machines_differ="cpu")
    assert judged is not None and judged.judged and judged.apply(2.0) == pytest.approx(1.2)
    assert judged.describe().endswith("shift −0.8 ms")
    faster = machine_factor(same, run, run_target="t", base_target="t", machines_differ="cpu")
    assert faster is not None and faster.describe().endswith("shift +0.8 ms") and faster.apply(0.5) == pytest.approx(1.3)


def test_calibration_round_trips_in_the_result(resultgen):
    data = result(resultgen, median_ms=1.0, seed=1, during_mean_ms=0.5)
    typed = Result.from_json(data)
    assert typed.generator.calibration.during["nginx"].mean == pytest.approx(0.5, rel=0.05)
    assert typed.to_json() == data


# --- A/B in one Result (--baseline-target) ---------------------------------------------------


def ab_result(resultgen, *, cand_extra_ms: float, seed: int = 3) -> dict:
    shapes = {
        "base": resultgen.TargetShape(LOCAL, rtt_median_ms=0.5, rtt_sigma=0.2, messages=6000, disruption=False),
        "cand": resultgen.TargetShape("ws://127.0.0.1:8081/", rtt_median_ms=0.5 + cand_extra_ms, rtt_sigma=0.2,
                                      messages=6000, disruption=False),
    }
    data = resultgen.make_result(shapes, seed=seed)
    data["scenario"]["interleave"] = 2.0
    data["generator"] = {**(data.get("generator") or {}),
                         "calibration": calibration(resultgen, during_mean_ms=0.5, target="base")}
    return data


def test_ab_reports_the_difference_and_judges_by_the_allowance(resultgen):
    data = ab_result(resultgen, cand_extra_ms=2.0)
    tight = evaluate_gate(data, baseline_target="base", max_regressions=["rtt.p50=20%"])
    assert not tight.passed
    assert [o.target for o in tight.checks[0].observations] == ["cand"]  # base is the reference
    assert "Δ +2" in note(tight) and "interleaved with base: judged raw" in note(tight)
    assert tight.checks[0].name == "rtt.p50 regression ≤ 20% vs base"
    loose = evaluate_gate(data, baseline_target="base", max_regressions=["rtt.p50=600%"])
    assert loose.passed, to_markdown(loose)


def test_ab_identical_targets_are_same(resultgen):
    for seed in (4, 5, 6):
        verdict = evaluate_gate(ab_result(resultgen, cand_extra_ms=0.0, seed=seed), baseline_target="base",
                                max_regressions=["rtt.p50=20%", "rtt.p99=20%"])
        assert verdict.passed
        assert all(o.note.startswith("same") for c in verdict.checks for o in c.observations), to_markdown(verdict)


def test_baseline_target_input_errors(resultgen):
    data = ab_result(resultgen, cand_extra_ms=0.0)
    with pytest.raises(UsageError, match="no such target"):
        evaluate_gate(data, baseline_target="nope", max_regressions=["rtt.p50=20%"])
    with pytest.raises(UsageError, match="not both"):
        evaluate_gate(data, baseline_target="base", baseline=data, max_regressions=["rtt.p50=20%"])


def with_service(resultgen, data: dict, *, median_ms: float, lag_ms: float, seed: int) -> dict:
    """``data`` with a time from the actual send of ``median_ms`` and a send lag of ``lag_ms``."""
    rng = np.random.default_rng(seed)
    target = data["targets"]["nginx"]
    target["rtt_service"] = resultgen.summary(rng.lognormal(np.log(median_ms * 1000), 0.2, 8000))
    target["send_lag"] = resultgen.summary(rng.lognormal(np.log(lag_ms * 1000), 0.5, 8000))
    return data


def test_the_time_from_the_actual_send_is_calibrated_by_the_probe_like_the_rtt(resultgen):
    """rtt_service holds no send lag, like the probe's round trips (it sends on time): a machine
    whose probe says it adds 0.3 ms passes a service time 0.3 ms longer; pods slower by half
    (the probe, which does not reach them, unchanged) fail; the note names the run's send lag."""
    base = with_service(resultgen, result(resultgen, median_ms=1.0, seed=1, during_mean_ms=0.5, run_id="base"),
                        median_ms=0.5, lag_ms=0.2, seed=11)
    busier = with_service(resultgen, result(resultgen, median_ms=1.3, seed=2, during_mean_ms=0.8, machine="host-b"),
                          median_ms=0.8, lag_ms=0.9, seed=12)
    verdict = evaluate_gate(busier, baseline=base, max_regressions=["rtt_service.p50=20%"])
    assert verdict.passed, to_markdown(verdict)
    text = note(verdict)
    assert "judged calibrated" in text and "raw +" in text, text
    assert "the time from the actual send" in text and "p50 0.9" in text, text  # the run's own send lag
    slower = with_service(resultgen, result(resultgen, median_ms=1.25, seed=3, during_mean_ms=0.5),
                          median_ms=0.75, lag_ms=0.2, seed=13)
    verdict = evaluate_gate(slower, baseline=base, max_regressions=["rtt_service.p50=20%"])
    assert not verdict.passed, to_markdown(verdict)
    assert note(verdict).startswith("significant regression"), note(verdict)


# --- the same-load model (run --reference-interleave) ---------------------------------------


def same_load_result(resultgen, *, median_ms: float, reference_ms: float, seed: int, machine: str = "host-a",
                     run_id: str = "run") -> dict:
    """A Result whose target ran ``median_ms`` and its own load to the reference path ``reference_ms``."""
    data = result(resultgen, median_ms=median_ms, seed=seed, during_mean_ms=reference_ms, machine=machine,
                  run_id=run_id)
    rng = np.random.default_rng(seed + 100)
    reference = resultgen.summary(rng.lognormal(np.log(reference_ms * 1000), 0.3, 8000))
    calibration = data["generator"]["calibration"]
    calibration["same_load"] = {"nginx": {"rtt": reference, "rtt_service": reference}}
    calibration["during"] = {"nginx": reference}
    calibration["during_via"] = {"nginx": "ws://127.0.0.1:1/wsbench-reference"}
    return data


def test_same_load_model_scales_a_slower_machine_away(resultgen):
    """A machine that runs everything 2x slower (the reference path too): raw +100 %, scaled
    back by the reference's ×2, it passes a 20 % allowance; the additive model would not
    (2.0 − 0.4 = 1.6 ms, +60 %)."""
    base = same_load_result(resultgen, median_ms=1.0, reference_ms=0.4, seed=1, run_id="base")
    run = same_load_result(resultgen, median_ms=2.0, reference_ms=0.8, seed=2, machine="host-b")
    verdict = evaluate_gate(run, baseline=base, max_regressions=["rtt.p50=20%", "rtt.p99=20%"])
    assert verdict.passed, to_markdown(verdict)
    text = note(verdict)
    assert "judged calibrated" in text and "the reference path under the same load" in text and "scaled ÷" in text


def test_same_load_model_still_fails_a_slower_target(resultgen):
    """The pods +50 % on the same machine speed (the reference path unchanged): fails."""
    base = same_load_result(resultgen, median_ms=1.0, reference_ms=0.4, seed=1, run_id="base")
    run = same_load_result(resultgen, median_ms=1.5, reference_ms=0.4, seed=2, machine="host-b")
    verdict = evaluate_gate(run, baseline=base, max_regressions=["rtt.p50=20%"])
    assert not verdict.passed, to_markdown(verdict)
    assert note(verdict).startswith("significant regression: judged calibrated")


def test_same_load_against_a_probe_is_not_compared(resultgen):
    """One side with the same-load reference, the other with a light probe: raw, and why."""
    base = result(resultgen, median_ms=1.0, seed=1, during_mean_ms=0.4, run_id="base")
    base["generator"]["calibration"]["during_via"] = {"nginx": "ws://127.0.0.1:1/wsbench-reference"}
    run = same_load_result(resultgen, median_ms=2.0, reference_ms=0.8, seed=2, machine="host-b")
    verdict = evaluate_gate(run, baseline=base, max_regressions=["rtt.p50=20%"])
    assert not verdict.passed
    text = note(verdict)
    assert "judged raw" in text and "different workloads" in text and "record the baseline again" in text


def test_same_load_model_reads_the_checked_metric():
    """rtt is scaled by the reference's rtt, rtt_service by its rtt_service."""
    run = Calibration.from_json({"same_load": {"t": {"rtt": {"p50": 3.0}, "rtt_service": {"p50": 1.0}}}})
    base = Calibration.from_json({"same_load": {"t": {"rtt": {"p50": 1.0}, "rtt_service": {"p50": 0.5}}}})
    for metric, factor_expected in (("rtt", 3.0), ("rtt_service", 2.0)):
        factor = machine_factor(run, base, run_target="t", base_target="t", machines_differ="cpu", metric=metric)
        assert factor is not None and factor.judged and factor.scale
        assert factor.factor == pytest.approx(factor_expected)
        assert factor.apply(6.0) == pytest.approx(6.0 / factor_expected)
    assert Calibration.from_json(run.to_json()) == run


def test_same_load_is_scaled_even_on_the_same_machine_within_the_bound():
    run = Calibration.from_json({"same_load": {"t": {"rtt": {"p50": 1.05}}}})
    base = Calibration.from_json({"same_load": {"t": {"rtt": {"p50": 1.0}}}})
    factor = machine_factor(run, base, run_target="t", base_target="t")
    assert factor is not None and factor.judged and factor.scale
    assert "scaled all the same" in factor.why
    assert factor.apply(2.1) == pytest.approx(2.0)


def test_same_load_tail_factor_is_never_below_the_medians():
    """A quieter machine: the reference's p99 fell ×0.63 but its median only ×0.89 (measured in
    a CI rehearsal: raw p99 −18 % became +30 % scaled by ×0.63). The p99 is scaled by ×0.89;
    a busier machine's larger tail factor is kept (×3.3 against a median ×1.05)."""
    base = Calibration.from_json({"same_load": {"t": {"rtt": {"p50": 0.535, "p99": 2.73}}}})
    quiet = Calibration.from_json({"same_load": {"t": {"rtt": {"p50": 0.478, "p99": 1.73}}}})
    factor = machine_factor(quiet, base, run_target="t", base_target="t", statistic="p99")
    assert factor is not None and factor.factor == pytest.approx(0.478 / 0.535)
    assert "held at the median's" in factor.why
    busy = Calibration.from_json({"same_load": {"t": {"rtt": {"p50": 0.56, "p99": 9.0}}}})
    assert machine_factor(busy, base, run_target="t", base_target="t", statistic="p99").factor == pytest.approx(9.0 / 2.73)
