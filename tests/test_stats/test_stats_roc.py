"""AUC, DeLong variance and operating points against direct computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import mannwhitneyu, norm
from sklearn.metrics import roc_auc_score

from hipbmd.stats.roc import delong_auc, delong_components, operating_point, roc_curve, youden_threshold

# A tiny example with ties within and across the classes.
POSITIVE = [0.9, 0.8, 0.8, 0.4, 0.6]
NEGATIVE = [0.5, 0.4, 0.3, 0.8, 0.1, 0.2]


def psi(x: float, y: float) -> float:
    """Mann–Whitney kernel: 1 if the positive scores higher, ½ for a tie."""
    return 1.0 if x > y else 0.5 if x == y else 0.0


def test_auc_equals_sklearn_and_mann_whitney() -> None:
    auc = delong_auc(POSITIVE, NEGATIVE)
    truth = [1] * len(POSITIVE) + [0] * len(NEGATIVE)
    assert auc.value == pytest.approx(roc_auc_score(truth, POSITIVE + NEGATIVE))
    u = mannwhitneyu(POSITIVE, NEGATIVE).statistic
    assert auc.value == pytest.approx(u / (len(POSITIVE) * len(NEGATIVE)))


def test_structural_components_equal_the_direct_definition() -> None:
    # DeLong et al. (1988): V10(Xᵢ) = (1/n) Σⱼ ψ(Xᵢ, Yⱼ), V01(Yⱼ) = (1/m) Σᵢ ψ(Xᵢ, Yⱼ).
    v10, v01 = delong_components(POSITIVE, NEGATIVE)
    direct10 = [np.mean([psi(x, y) for y in NEGATIVE]) for x in POSITIVE]
    direct01 = [np.mean([psi(x, y) for x in POSITIVE]) for y in NEGATIVE]
    assert v10 == pytest.approx(direct10)
    assert v01 == pytest.approx(direct01)


def test_variance_and_interval_from_the_direct_formula() -> None:
    m, n = len(POSITIVE), len(NEGATIVE)
    theta = sum(psi(x, y) for x in POSITIVE for y in NEGATIVE) / (m * n)
    v10 = [sum(psi(x, y) for y in NEGATIVE) / n for x in POSITIVE]
    v01 = [sum(psi(x, y) for x in POSITIVE) / m for y in NEGATIVE]
    s10 = sum((v - theta) ** 2 for v in v10) / (m - 1)
    s01 = sum((v - theta) ** 2 for v in v01) / (n - 1)
    auc = delong_auc(POSITIVE, NEGATIVE)
    assert auc.value == pytest.approx(theta)
    assert auc.variance == pytest.approx(s10 / m + s01 / n)
    half = norm.ppf(0.975) * math.sqrt(s10 / m + s01 / n)
    assert (auc.ci_low, auc.ci_high) == pytest.approx((max(0.0, theta - half), min(1.0, theta + half)))


def test_perfect_separation_has_zero_variance() -> None:
    auc = delong_auc([3.0, 4.0, 5.0], [0.0, 1.0, 2.0])
    assert (auc.value, auc.variance, auc.ci_low, auc.ci_high) == (1.0, 0.0, 1.0, 1.0)


def test_operating_point_counts_and_rates() -> None:
    truth = [True, True, True, False, False, False, False]
    called = [True, True, False, True, False, False, False]
    point = operating_point(truth, called)
    assert (point.true_positive, point.false_negative, point.false_positive, point.true_negative) == (
        2,
        1,
        1,
        3,
    )
    assert (point.sensitivity, point.specificity) == pytest.approx((2 / 3, 3 / 4))
    assert (point.ppv, point.npv) == pytest.approx((2 / 3, 3 / 4))
    assert operating_point([False, False], [False, False]).sensitivity is None


def test_youden_threshold_by_hand() -> None:
    # Thresholds 0.9: J = 1/3; 0.8: J = 2/3; 0.4: J = 1 − 1/4 = 3/4 (the maximum); 0.3: J = 1/2.
    truth = [True, True, True, False, False, False, False]
    score = [0.9, 0.8, 0.4, 0.45, 0.3, 0.2, 0.1]
    assert youden_threshold(truth, score) == pytest.approx(0.4)
    fpr, tpr, thresholds = roc_curve(truth, score)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert math.isinf(thresholds[0])


def test_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="one positive and one negative"):
        delong_auc([0.5, 0.6], [])
