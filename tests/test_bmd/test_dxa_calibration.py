from __future__ import annotations

import numpy as np
import pytest

from hipbmd.bmd.dxa_calibration import LinearDXAMap, fit_dxa_map


def test_an_exact_line_is_recovered() -> None:
    measured = np.linspace(0.4, 1.2, 20)
    fitted = fit_dxa_map(measured, 0.9 * measured + 0.05)
    assert fitted.slope == pytest.approx(0.9) and fitted.intercept_g_cm2 == pytest.approx(0.05)
    assert fitted.r == pytest.approx(1.0) and fitted.residual_sd_g_cm2 == pytest.approx(0.0, abs=1e-12)
    assert fitted.apply(1.0) == pytest.approx(0.95)


def test_noise_shows_in_the_residual_sd_and_r() -> None:
    rng = np.random.default_rng(0)
    measured = rng.uniform(0.4, 1.2, 2000)
    fitted = fit_dxa_map(measured, 1.1 * measured - 0.1 + rng.normal(0, 0.03, 2000))
    assert fitted.residual_sd_g_cm2 == pytest.approx(0.03, rel=0.05)
    assert fitted.slope == pytest.approx(1.1, abs=0.01) and fitted.r < 1.0


def test_non_finite_pairs_are_dropped_and_too_few_refused() -> None:
    measured = np.r_[np.linspace(0.5, 1.0, 10), np.nan]
    assert fit_dxa_map(measured, np.r_[measured[:10], 0.8]).n == 10
    with pytest.raises(ValueError, match="at least"):
        fit_dxa_map([0.5, 0.6], [0.5, 0.6])
    with pytest.raises(ValueError, match="do not vary"):
        fit_dxa_map(np.full(12, 0.7), np.linspace(0.5, 0.9, 12))


def test_the_map_round_trips_through_json() -> None:
    fitted = LinearDXAMap(0.9, 0.05, 0.95, 100, 0.04)
    assert LinearDXAMap.from_dict(fitted.to_dict()) == fitted
