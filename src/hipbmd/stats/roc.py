"""ROC analysis of a score for a binary truth: AUC with DeLong's interval, operating points.

Higher scores mean "more likely positive" here; callers that rank by a T-score pass −T.

AUC and its variance follow DeLong ER, DeLong DM & Clarke-Pearson DL (Biometrics 1988;44:837–845)
computed with the fast midrank algorithm of Sun X & Xu W (IEEE Signal Process Lett 2014;21:1389–1393):
with m positive scores X, n negative scores Y, T_Z the midranks of X and Y pooled, T_X and T_Y the
midranks within each, the structural components are

    V10ᵢ = (T_Z(Xᵢ) − T_X(Xᵢ)) / n,   V01ⱼ = 1 − (T_Z(Yⱼ) − T_Y(Yⱼ)) / m,

AUC = mean V10 (= mean V01), and var(AUC) = S10/m + S01/n with S10, S01 their sample variances
(n − 1 denominators). The interval is AUC ± z₁₋α/₂·√var, clipped to [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class AUC:
    """Area under the ROC curve with its DeLong variance and interval."""

    value: float
    variance: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class OperatingPoint:
    """A 2 × 2 table and its rates; a rate is None when its denominator is zero."""

    true_positive: int
    false_positive: int
    true_negative: int
    false_negative: int
    sensitivity: float | None
    specificity: float | None
    ppv: float | None
    npv: float | None


def delong_components(positive: npt.ArrayLike, negative: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """The structural components V10 (one per positive) and V01 (one per negative), Sun & Xu's way."""
    from scipy.stats import rankdata

    x = np.asarray(positive, dtype=float).ravel()
    y = np.asarray(negative, dtype=float).ravel()
    if len(x) == 0 or len(y) == 0:
        raise ValueError("DeLong needs at least one positive and one negative score")
    m, n = len(x), len(y)
    pooled = rankdata(np.concatenate([x, y]))
    v10 = (pooled[:m] - rankdata(x)) / n
    v01 = 1.0 - (pooled[m:] - rankdata(y)) / m
    return v10, v01


def delong_auc(positive: npt.ArrayLike, negative: npt.ArrayLike, confidence: float = 0.95) -> AUC:
    """AUC (ties count one half), DeLong variance and clipped normal interval (module docstring).

    A variance needs two scores in each class; with one, its term is taken as zero.
    """
    from scipy.stats import norm

    v10, v01 = delong_components(positive, negative)
    value = float(v10.mean())
    s10 = float(v10.var(ddof=1)) if len(v10) > 1 else 0.0
    s01 = float(v01.var(ddof=1)) if len(v01) > 1 else 0.0
    variance = s10 / len(v10) + s01 / len(v01)
    half_width = float(norm.ppf((1.0 + confidence) / 2.0)) * math.sqrt(variance)
    return AUC(value, variance, max(0.0, value - half_width), min(1.0, value + half_width))


def operating_point(truth: npt.ArrayLike, predicted: npt.ArrayLike) -> OperatingPoint:
    """Counts, sensitivity TP/(TP+FN), specificity TN/(TN+FP), PPV TP/(TP+FP), NPV TN/(TN+FN)."""
    actual = np.asarray(truth, dtype=bool).ravel()
    called = np.asarray(predicted, dtype=bool).ravel()
    if actual.shape != called.shape:
        raise ValueError(f"truth and prediction differ in length: {len(actual)} and {len(called)}")
    tp = int(np.sum(actual & called))
    fp = int(np.sum(~actual & called))
    tn = int(np.sum(~actual & ~called))
    fn = int(np.sum(actual & ~called))
    return OperatingPoint(
        tp, fp, tn, fn, _ratio(tp, tp + fn), _ratio(tn, tn + fp), _ratio(tp, tp + fp), _ratio(tn, tn + fn)
    )


def roc_curve(
    truth: npt.ArrayLike, score: npt.ArrayLike, corners_only: bool = False
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """False- and true-positive rates and the score thresholds (positive when score ≥ threshold).

    The first point (0, 0) has threshold +inf. Every distinct score is a point, unless
    ``corners_only``: then points on a straight stretch of the curve are dropped (same curve, fewer
    points; what the report stores and draws).
    """
    from sklearn.metrics import roc_curve as sklearn_roc_curve

    fpr, tpr, thresholds = sklearn_roc_curve(
        np.asarray(truth, dtype=bool), np.asarray(score, dtype=float), drop_intermediate=corners_only
    )
    return fpr.astype(float), tpr.astype(float), thresholds.astype(float)


def youden_threshold(truth: npt.ArrayLike, score: npt.ArrayLike) -> float:
    """The score threshold that maximises Youden's J = sensitivity + specificity − 1 (Youden WJ,
    Cancer 1950;3:32–35); of equal maxima, the highest threshold (the fewest positive calls)."""
    fpr, tpr, thresholds = roc_curve(truth, score)
    finite = np.isfinite(thresholds)
    j = np.where(finite, tpr - fpr, -np.inf)
    return float(thresholds[int(np.argmax(j))])


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator > 0 else None
