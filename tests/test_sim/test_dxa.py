"""Simulated DXA: the linear relation, seeded draws, and error sizes that match the stated CVs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hipbmd.sim.dxa import DXAModel, draw_subject_residuals, expected_dxa, simulate_dxa

CT = {"neck": 0.70, "total_hip": 0.85, "proximal_femur": 0.80}


def test_same_seed_same_values_other_seed_other_values() -> None:
    first = simulate_dxa(CT, np.random.default_rng(7))
    again = simulate_dxa(CT, np.random.default_rng(7))
    other = simulate_dxa(CT, np.random.default_rng(8))
    assert first == again
    assert first != other
    assert set(first) == {"neck", "total_hip"}


def test_expected_value_is_the_linear_relation() -> None:
    model = DXAModel()
    expected = expected_dxa(CT, model)
    assert expected["neck"] == pytest.approx(model.neck_slope * 0.70 + model.neck_intercept_g_cm2)
    assert expected["total_hip"] == pytest.approx(
        model.total_hip_slope * 0.85 + model.total_hip_intercept_g_cm2
    )


def test_without_errors_dxa_is_the_expected_value() -> None:
    exact = dataclasses.replace(
        DXAModel(),
        neck_residual_cv=0.0,
        neck_precision_cv=0.0,
        total_hip_residual_cv=0.0,
        total_hip_precision_cv=0.0,
    )
    assert simulate_dxa(CT, np.random.default_rng(1), exact) == pytest.approx(expected_dxa(CT, exact))


def _relative(draws: list[dict[str, float]], region: str, expected: float) -> np.ndarray:
    return np.array([d[region] for d in draws]) / expected


def test_repeat_scans_of_one_subject_scatter_by_the_precision_cv() -> None:
    rng = np.random.default_rng(2024)
    model = DXAModel()
    subject = draw_subject_residuals(rng, model)
    draws = [simulate_dxa(CT, rng, model, residuals=subject) for _ in range(4000)]
    expected = expected_dxa(CT, model)
    for region in ("neck", "total_hip"):
        ratio = _relative(draws, region, expected[region] * (1 + subject[region]))
        assert ratio.mean() == pytest.approx(1.0, abs=0.002)
        assert ratio.std() == pytest.approx(model.precision_cv(region), rel=0.06)


def test_subjects_scatter_by_residual_and_precision_combined() -> None:
    rng = np.random.default_rng(99)
    model = DXAModel()
    draws = [simulate_dxa(CT, rng, model) for _ in range(4000)]
    expected = expected_dxa(CT, model)
    for region in ("neck", "total_hip"):
        combined = np.hypot(model.residual_cv(region), model.precision_cv(region))
        assert _relative(draws, region, expected[region]).std() == pytest.approx(combined, rel=0.06)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(KeyError):
        simulate_dxa({"neck": 0.7}, np.random.default_rng(0))
    with pytest.raises(ValueError):
        simulate_dxa({"neck": float("nan"), "total_hip": 0.8}, np.random.default_rng(0))
    with pytest.raises(KeyError):
        DXAModel().slope("spine")
