"""Calibrated intervals on synthetic hips whose errors follow a known law: the conformal quantile's
guarantee, coverage on fresh hips of the same law, a scale that follows the spread, the OOD reference,
and the stored form."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import binomtest

from hipbmd.bmd.hip_evidence import HipEvidence
from hipbmd.bmd.interval_calibration import (
    CalibrationHip,
    IntervalCalibration,
    OODReference,
    RegionErrorModel,
    conformal_quantile,
    fit_interval_calibration,
)

ROIS = ("neck", "total_hip")
SLOPE, INTERCEPT = 0.8, 0.15  # DXA = SLOPE * raw + INTERCEPT + error


def _hips(n: int, seed: int, error_per_spread: float = 3.0) -> list[CalibrationHip]:
    """Hips whose error SD against DXA is ``error_per_spread`` × the DXA-scaled Monte-Carlo spread."""
    rng = np.random.default_rng(seed)
    hips = []
    for _ in range(n):
        spread = {roi: float(rng.uniform(0.005, 0.04)) for roi in ROIS}
        raw = {roi: float(rng.uniform(0.5, 1.1)) for roi in ROIS}
        dxa = {
            roi: SLOPE * raw[roi] + INTERCEPT + float(rng.normal(0, error_per_spread * SLOPE * spread[roi]))
            for roi in ROIS
        }
        evidence = HipEvidence(
            spread,
            float(rng.uniform(0.6, 1.0)),
            float(rng.uniform(0, 0.1)),
            float(rng.uniform(0, 4)),
            float(rng.normal(24, 2)),
            float(rng.normal(128, 5)),
            float(rng.normal(32, 3)),
            float(rng.uniform(0, 3)),
        )
        hips.append(CalibrationHip(raw, dxa, evidence))
    return hips


def _covered(calibration: IntervalCalibration, hips: list[CalibrationHip], roi: str) -> np.ndarray:
    region = calibration.regions[roi]
    inside = []
    for hip in hips:
        half = region.half_width_g_cm2(hip.evidence.spread(roi), calibration.ood.distance(hip.evidence))
        inside.append(abs(hip.dxa_g_cm2[roi] - region.line.apply(hip.raw_g_cm2[roi])) <= half)
    return np.array(inside)


def test_the_conformal_quantile_is_the_right_order_statistic() -> None:
    scores = np.arange(1, 20, dtype=float)  # n = 19: rank ceil(20 * 0.95) = 19
    assert conformal_quantile(scores, 0.95) == 19.0
    assert conformal_quantile(np.arange(1, 40, dtype=float), 0.95) == 38.0  # ceil(40 * 0.95) = 38
    with pytest.raises(ValueError, match="too few"):
        conformal_quantile(np.arange(10, dtype=float), 0.95)


def test_fresh_hips_of_the_same_law_are_covered_95_percent_of_the_time() -> None:
    calibration = fit_interval_calibration(_hips(400, seed=1))
    fresh = _hips(2000, seed=2)
    for roi in ROIS:
        inside = _covered(calibration, fresh, roi)
        ci = binomtest(int(inside.sum()), len(inside)).proportion_ci(0.99)
        assert ci.low <= 0.95 <= ci.high + 0.02, (roi, inside.mean())  # at least nominal, not far over
        assert calibration.regions[roi].line.slope == pytest.approx(SLOPE, abs=0.05)


def test_the_interval_widens_with_the_spread_it_was_fitted_to_follow() -> None:
    calibration = fit_interval_calibration(_hips(400, seed=3))
    region = calibration.regions["neck"]
    assert region.scale[1] > 0.5  # log-scale slope on the log spread: errors grow with the spread
    assert region.half_width_g_cm2(0.04, 0.0) > 3 * region.half_width_g_cm2(0.01, 0.0)
    # a hip with errors four times larger than its spread says is covered far less often
    assert _covered(calibration, _hips(500, seed=4, error_per_spread=12.0), "neck").mean() < 0.7


def test_the_interval_widens_with_the_ood_distance_when_errors_grow_with_it() -> None:
    """Hips whose head radius strays from the usual carry larger errors: the fitted scale follows the OOD
    distance (on log(1 + d), the same term at fit and at use) and the intervals stay calibrated."""
    rng = np.random.default_rng(9)
    hips = []
    for hip in _hips(600, seed=10):
        stray = abs(hip.evidence.head_radius_mm - 24.0) / 2.0  # in SDs of the head radius
        error = float(rng.normal(0, 0.02 * (1.0 + stray) ** 2))
        dxa = {roi: SLOPE * hip.raw_g_cm2[roi] + INTERCEPT + error for roi in ROIS}
        hips.append(CalibrationHip(hip.raw_g_cm2, dxa, hip.evidence))
    calibration = fit_interval_calibration(hips[:400])
    region = calibration.regions["total_hip"]
    assert region.scale[2] > 0.25  # the distance mixes ten features, the head radius one of them
    assert region.half_width_g_cm2(0.02, 6.0) > 1.5 * region.half_width_g_cm2(0.02, 1.0)
    inside = _covered(calibration, hips[400:], "total_hip")
    assert 0.88 <= inside.mean() <= 1.0


def test_a_hip_unlike_the_calibration_cohort_is_far_beyond_the_ood_threshold() -> None:
    hips = _hips(300, seed=5)
    calibration = fit_interval_calibration(hips)
    usual = [calibration.ood.distance(hip.evidence) for hip in _hips(500, seed=6)]
    assert np.mean(np.array(usual) > calibration.ood.threshold) < 0.05
    odd = HipEvidence({"neck": 0.02, "total_hip": 0.02}, 0.55, 0.6, 9.0, 12.0, 175.0, 15.0, 12.0)
    assert calibration.ood.distance(odd) > 2 * calibration.ood.threshold


def test_too_few_hips_are_refused_and_a_calibration_round_trips_through_json() -> None:
    with pytest.raises(ValueError, match="at least 40"):
        fit_interval_calibration(_hips(30, seed=7))
    calibration = fit_interval_calibration(_hips(120, seed=8))
    read = IntervalCalibration.from_dict(json.loads(json.dumps(calibration.to_dict())))
    assert read == calibration
    region = calibration.regions["neck"]
    assert RegionErrorModel.from_dict(json.loads(json.dumps(region.to_dict()))) == region
    assert OODReference.from_dict(json.loads(json.dumps(calibration.ood.to_dict()))) == calibration.ood
    stale = {**calibration.ood.to_dict(), "features": ["something", "else"]}
    with pytest.raises(ValueError, match="features"):  # a reference of other features is not read
        OODReference.from_dict(stale)
