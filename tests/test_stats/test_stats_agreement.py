"""Agreement statistics against direct computations on constructed data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm, t

from hipbmd.stats.agreement import agreement, bland_altman, linear_fit, pearson, spearman


@pytest.fixture
def pairs() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    x = rng.normal(0.75, 0.12, 25)
    return x, 0.9 * x + 0.08 + rng.normal(0, 0.03, 25)


def test_pearson_interval_is_fisher_z(pairs: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = pairs
    r = float(np.corrcoef(x, y)[0, 1])
    half = norm.ppf(0.975) / math.sqrt(len(x) - 3)
    result = pearson(x, y)
    assert result.value == pytest.approx(r)
    assert result.ci_low == pytest.approx(math.tanh(math.atanh(r) - half))
    assert result.ci_high == pytest.approx(math.tanh(math.atanh(r) + half))
    statistic = r * math.sqrt((len(x) - 2) / (1 - r**2))
    assert result.p_value == pytest.approx(2 * t.sf(abs(statistic), len(x) - 2))


def test_spearman_is_pearson_of_ranks(pairs: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = pairs
    ranks = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))  # no ties in these data
    assert spearman(x, y).value == pytest.approx(np.corrcoef(*ranks)[0, 1])


def test_bland_altman_of_known_differences() -> None:
    x = np.array([0.60, 0.70, 0.80, 0.90, 1.00])
    d = np.array([0.03, 0.05, 0.07, 0.05, 0.05])  # bias 0.05, SD √(0.0008/4) = 0.014142
    result = bland_altman(x, x + d)
    sd = math.sqrt(0.0008 / 4)
    assert result.bias_g_cm2 == pytest.approx(0.05)
    assert result.sd_g_cm2 == pytest.approx(sd)
    assert (result.loa_low_g_cm2, result.loa_high_g_cm2) == pytest.approx(
        (0.05 - 1.96 * sd, 0.05 + 1.96 * sd)
    )
    half = t.ppf(0.975, 4) * sd / math.sqrt(5)
    assert (result.bias_ci_low_g_cm2, result.bias_ci_high_g_cm2) == pytest.approx((0.05 - half, 0.05 + half))


def test_proportional_bias_slope() -> None:
    # y = 1.1 x: d = 0.1 x and the mean is 1.05 x, so d = (0.1 / 1.05) · mean exactly.
    x = np.linspace(0.5, 1.1, 12)
    result = bland_altman(x, 1.1 * x)
    assert result.proportional_slope == pytest.approx(0.1 / 1.05)
    assert result.proportional_intercept_g_cm2 == pytest.approx(0.0, abs=1e-12)
    assert result.proportional_p_value == pytest.approx(0.0, abs=1e-12)


def test_no_proportional_bias_for_a_constant_offset() -> None:
    x = np.linspace(0.5, 1.1, 12)
    result = bland_altman(x, x + 0.02)
    assert result.proportional_slope == pytest.approx(0.0, abs=1e-12)
    assert result.bias_g_cm2 == pytest.approx(0.02)


def test_linear_fit_of_an_exact_line() -> None:
    x = np.array([0.5, 0.7, 0.9, 1.2])
    fit = linear_fit(x, 2.0 * x + 0.1)
    assert fit is not None
    assert (fit.slope, fit.intercept_g_cm2, fit.r_squared) == pytest.approx((2.0, 0.1, 1.0))


def test_errors_and_the_whole_set(pairs: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = pairs
    result = agreement(x, y)
    assert result is not None and result.n == len(x)
    assert result.mae_g_cm2 == pytest.approx(np.mean(np.abs(y - x)))
    assert result.rmse_g_cm2 == pytest.approx(math.sqrt(np.mean((y - x) ** 2)))
    assert result.linear_fit is not None
    assert result.linear_fit.r_squared == pytest.approx(result.pearson.value**2)
    assert set(result.summary()) >= {"pearson", "icc_agreement", "bland_altman", "mae_g_cm2"}


def test_too_few_pairs_and_constant_data() -> None:
    assert agreement([0.8, 0.9], [0.8, 0.95]) is None
    constant = agreement([0.8, 0.9, 1.0], [0.7, 0.7, 0.7])
    assert constant is not None
    assert constant.pearson.value is None and constant.spearman.value is None
    assert pearson([0.8, 0.9, 1.0], [0.7, 0.75, 0.9]).ci_low is None  # n = 3: no Fisher interval


def test_rejects_unequal_or_non_finite_input() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        agreement([0.8, 0.9, 1.0], [0.8, 0.9])
    with pytest.raises(ValueError, match="finite"):
        agreement([0.8, 0.9, float("nan")], [0.8, 0.9, 1.0])
