"""Intraclass correlation of n subjects each measured by the same k methods, from a two-way ANOVA.

With the ratings in an (n, k) table, the two-way ANOVA without replication gives the mean squares of
rows (subjects), columns (methods) and residual error::

    MSR = k · Σᵢ (x̄ᵢ. − x̄)² / (n − 1)
    MSC = n · Σⱼ (x̄.ⱼ − x̄)² / (k − 1)
    MSE = Σᵢⱼ (xᵢⱼ − x̄ᵢ. − x̄.ⱼ + x̄)² / ((n − 1)(k − 1))

and the single-measure coefficients of McGraw KO & Wong SP, "Forming inferences about some intraclass
correlation coefficients", Psychol Methods 1996;1:30–46 (Table 4; Shrout PE & Fleiss JL, Psychol Bull
1979;86:420–428, call them ICC(2,1) and ICC(3,1))::

    ICC(C,1) = (MSR − MSE) / (MSR + (k − 1)·MSE)                          consistency
    ICC(A,1) = (MSR − MSE) / (MSR + (k − 1)·MSE + k·(MSC − MSE)/n)       absolute agreement

Confidence intervals follow McGraw & Wong (Table 7): for ICC(C,1) from F = MSR/MSE on (n − 1,
(n − 1)(k − 1)) degrees of freedom; for ICC(A,1) from Satterthwaite's approximate degrees of freedom
ν of the denominator (their cases 2A and 3A). No BSD-licensed Python library offers these, hence
this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MeanSquares:
    """Mean squares of a two-way ANOVA without replication on n subjects × k methods."""

    n: int
    k: int
    rows: float
    columns: float
    error: float


@dataclass(frozen=True)
class ICC:
    """One intraclass correlation with its confidence interval (None where undefined)."""

    value: float | None
    ci_low: float | None
    ci_high: float | None
    f_statistic: float | None
    p_value: float | None


def mean_squares(ratings: npt.ArrayLike) -> MeanSquares:
    """MSR, MSC and MSE (module docstring) of an (n subjects, k methods) table, n ≥ 2, k ≥ 2."""
    x = np.asarray(ratings, dtype=float)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise ValueError(f"ratings must be an (n >= 2, k >= 2) table, got shape {x.shape}")
    n, k = x.shape
    grand = x.mean()
    row_means = x.mean(axis=1, keepdims=True)
    column_means = x.mean(axis=0, keepdims=True)
    residual = x - row_means - column_means + grand
    return MeanSquares(
        n=n,
        k=k,
        rows=float(k * np.sum((row_means - grand) ** 2) / (n - 1)),
        columns=float(n * np.sum((column_means - grand) ** 2) / (k - 1)),
        error=float(np.sum(residual**2) / ((n - 1) * (k - 1))),
    )


def icc_consistency(ratings: npt.ArrayLike, confidence: float = 0.95) -> ICC:
    """ICC(C,1) (Shrout & Fleiss ICC(3,1)) with its F-based interval (McGraw & Wong 1996, Table 7)."""
    from scipy.stats import f as f_dist

    ms = mean_squares(ratings)
    n, k = ms.n, ms.k
    denominator = ms.rows + (k - 1) * ms.error
    if ms.error <= 0.0 or denominator <= 0.0:
        return ICC(None, None, None, None, None)
    df1, df2 = n - 1, (n - 1) * (k - 1)
    f_obs = ms.rows / ms.error
    tail = (1.0 + confidence) / 2.0
    f_low = f_obs / float(f_dist.ppf(tail, df1, df2))
    f_high = f_obs * float(f_dist.ppf(tail, df2, df1))
    return ICC(
        value=(ms.rows - ms.error) / denominator,
        ci_low=(f_low - 1.0) / (f_low + k - 1.0),
        ci_high=(f_high - 1.0) / (f_high + k - 1.0),
        f_statistic=f_obs,
        p_value=float(f_dist.sf(f_obs, df1, df2)),
    )


def icc_agreement(ratings: npt.ArrayLike, confidence: float = 0.95) -> ICC:
    """ICC(A,1) (Shrout & Fleiss ICC(2,1)) with McGraw & Wong's (1996, Table 7) approximate interval.

    With ρ̂ the estimate, a = kρ̂ / (n(1 − ρ̂)), b = 1 + kρ̂(n − 1) / (n(1 − ρ̂)) and
    ν = (a·MSC + b·MSE)² / ((a·MSC)²/(k − 1) + (b·MSE)²/((n − 1)(k − 1))),
    the bounds are n(MSR − F₁·MSE) / (F₁(k·MSC + (kn − k − n)MSE) + n·MSR) with F₁ = F(1 − α/2; n − 1, ν)
    and n(F₂·MSR − MSE) / (k·MSC + (kn − k − n)MSE + n·F₂·MSR) with F₂ = F(1 − α/2; ν, n − 1).
    """
    from scipy.stats import f as f_dist

    ms = mean_squares(ratings)
    n, k = ms.n, ms.k
    denominator = ms.rows + (k - 1) * ms.error + k * (ms.columns - ms.error) / n
    if ms.error <= 0.0 or denominator <= 0.0:
        return ICC(None, None, None, None, None)
    value = (ms.rows - ms.error) / denominator
    f_obs = ms.rows / ms.error
    p_value = float(f_dist.sf(f_obs, n - 1, (n - 1) * (k - 1)))
    if value >= 1.0:
        return ICC(value, None, None, f_obs, p_value)
    a = k * value / (n * (1.0 - value))
    b = 1.0 + k * value * (n - 1) / (n * (1.0 - value))
    nu = (a * ms.columns + b * ms.error) ** 2 / (
        (a * ms.columns) ** 2 / (k - 1) + (b * ms.error) ** 2 / ((n - 1) * (k - 1))
    )
    tail = (1.0 + confidence) / 2.0
    f1 = float(f_dist.ppf(tail, n - 1, nu))
    f2 = float(f_dist.ppf(tail, nu, n - 1))
    spread = k * ms.columns + (k * n - k - n) * ms.error
    low = n * (ms.rows - f1 * ms.error) / (f1 * spread + n * ms.rows)
    high = n * (f2 * ms.rows - ms.error) / (spread + n * f2 * ms.rows)
    return ICC(value, _finite(low), _finite(high), f_obs, p_value)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
