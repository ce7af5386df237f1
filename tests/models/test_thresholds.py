"""Size-aware thresholds: FAR(t) from impostor pairs keeps FPIR under a target for N people."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from models.backbones import get_backbone
from models.identification import DecisionRule, shipped_rule
from models.thresholds import FarCurve, RunnerUpCurve, allowed_far


def _curve(pairs: int = 200_000, seed: int = 0) -> FarCurve:
    impostors = np.random.default_rng(seed).normal(0.9, 0.1, pairs)
    return FarCurve.from_impostors(impostors, "synthetic normal(0.9, 0.1)")


def test_allowed_far_keeps_the_identification_rate_under_the_target() -> None:
    for candidates in (1, 30, 500, 100_000):
        far = allowed_far(candidates, 0.01)
        assert 1 - (1 - far) ** candidates == pytest.approx(0.01)
    assert allowed_far(1, 0.01) == pytest.approx(0.01)
    assert allowed_far(0, 0.01) == allowed_far(1, 0.01)  # an empty gallery: as one person


def test_the_curve_measures_far_as_the_service_decides_strictly_below() -> None:
    impostors = np.arange(1, 1001) / 1000  # 0.001 .. 1.0
    curve = FarCurve.from_impostors(impostors, "uniform")
    for far, threshold in zip(curve.far, curve.thresholds, strict=True):
        assert np.mean(impostors < threshold) == pytest.approx(far)
    assert curve.finest_far == pytest.approx(1 / 1000)


def test_more_people_searched_means_a_stricter_threshold() -> None:
    curve = _curve()
    thresholds = [curve.threshold_for(n, 0.01, ceiling=10.0) for n in (1, 30, 100, 500)]
    assert thresholds == sorted(thresholds, reverse=True)
    assert len(set(thresholds)) == 4
    # And the threshold meets its target on the impostors the curve was measured on.
    for n, t in zip((1, 30, 100, 500), thresholds, strict=True):
        assert curve.far_at(t) <= allowed_far(n, 0.01) * 1.05


def test_the_threshold_is_never_looser_than_the_ceiling() -> None:
    curve = _curve()
    assert curve.threshold_for(1, 0.2, ceiling=0.5) == 0.5
    rule = DecisionRule(ceiling=0.5, margin=0.0, max_fpir=0.2, curve=curve)
    assert rule.verification_threshold() == 0.5
    assert rule.identification_threshold(10_000) < 0.5


def test_without_a_curve_every_search_uses_the_fixed_threshold() -> None:
    rule = DecisionRule(ceiling=0.55, margin=0.04)
    assert rule.identification_threshold(1) == rule.identification_threshold(10_000) == 0.55


def test_a_curve_survives_a_round_trip_through_its_file(tmp_path: Path) -> None:
    curve = _curve()
    curve.save(tmp_path / "curve.json")
    again = FarCurve.load(tmp_path / "curve.json")
    assert again.impostor_pairs == curve.impostor_pairs
    for n in (1, 50, 5000):
        assert again.threshold_for(n, 0.01, 10.0) == pytest.approx(
            curve.threshold_for(n, 0.01, 10.0), abs=1e-4
        )


@pytest.mark.parametrize(
    "content",
    ["not json", json.dumps({"far": [0.1], "threshold": [0.5], "impostor_pairs": 10}),
     json.dumps({"far": [0.2, 0.1], "threshold": [0.5, 0.6], "impostor_pairs": 10})],
)  # fmt: skip
def test_a_broken_curve_file_is_refused_with_its_name(tmp_path: Path, content: str) -> None:
    path = tmp_path / "curve.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=r"curve\.json"):
        FarCurve.load(path)


def test_too_few_impostor_pairs_cannot_measure_a_curve() -> None:
    with pytest.raises(ValueError, match="too few"):
        FarCurve.from_impostors(np.linspace(0.5, 1.5, 999), "small")


def test_the_default_backbone_ships_its_curve_and_it_tightens_with_size() -> None:
    spec = get_backbone("dlib-resnet")
    assert spec.far_curve is not None and spec.far_curve.is_file()
    rule = shipped_rule("dlib-resnet")
    assert rule.curve is not None and rule.curve.impostor_pairs > 1_000_000
    one, big = rule.verification_threshold(), rule.identification_threshold(500)
    assert big < one <= spec.threshold


# --------------------------------------------------------------------------- runner-up curve


def _runner_up_curve() -> RunnerUpCurve:
    return RunnerUpCurve(
        weight=3.0,
        candidates=np.array([10.0, 100.0, 1000.0]),
        max_fpir=np.array([0.001, 0.01]),
        tau=np.array([[0.0, 0.1], [0.1, 0.2], [0.05, 0.15]]),
        source="test",
    )


def test_the_runner_up_curve_interpolates_and_extrapolates_only_downwards() -> None:
    curve = _runner_up_curve()
    assert curve.tau_for(100, 0.01) == pytest.approx(0.2)
    assert curve.tau_for(316, 0.01) == pytest.approx(0.175, abs=0.001)  # in log N
    assert curve.tau_for(100, math.sqrt(0.001 * 0.01)) == pytest.approx(0.15)  # log FPIR
    assert curve.tau_for(10_000, 0.01) == pytest.approx(0.10)  # the last slope, on
    assert curve.tau_for(2, 0.01) == pytest.approx(0.1)  # below the grid: its first point
    assert curve.tau_for(100, 0.5) == curve.tau_for(100, 0.01)  # past the FPIR grid: its end
    # d1 < (tau + w d2) / (1 + w): the nearer the runner-up, the stricter.
    assert curve.threshold(100, 0.01, 0.8) == pytest.approx((0.2 + 3 * 0.8) / 4)
    assert curve.threshold(100, 0.01, 0.6) < curve.threshold(100, 0.01, 0.8)


def test_a_runner_up_curve_round_trips_and_a_bad_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "curve.json"
    _runner_up_curve().save(path)
    loaded = RunnerUpCurve.load(path)
    assert loaded.weight == 3.0 and loaded.tau.shape == (3, 2)
    document = json.loads(path.read_text())
    document["tau"] = document["tau"][:2]
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match="table"):
        RunnerUpCurve.load(path)


def test_the_shipped_rule_uses_the_runner_up_only_past_the_margin() -> None:
    rule = shipped_rule()
    assert rule.runner_up_curve is not None and rule.runner_up_curve.weight > 0
    # No runner-up, or one within the margin (ambiguous): the distance-only threshold.
    assert rule.face_threshold(500, 0.4, math.inf) == rule.identification_threshold(500)
    assert rule.face_threshold(500, 0.4, 0.42) == rule.identification_threshold(500)
    # A runner-up far away loosens a 500-person search's threshold, never past the ceiling.
    far = rule.face_threshold(500, 0.4, 0.85)
    assert rule.identification_threshold(500) < far <= rule.ceiling
    assert rule.face_threshold(500, 0.4, 0.55) < far
