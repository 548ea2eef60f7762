"""Agreement of estimated with reference aBMD (g/cm²): correlation, ICC, errors, Bland–Altman, linear fit.

Every function takes the reference (x, e.g. DXA) and the estimate (y) of the same n subjects.

* Pearson r with the Fisher-z interval tanh(atanh r ± z₁₋α/₂ / √(n − 3)) (Fisher RA, Metron
  1921;1:3–32), via :func:`scipy.stats.pearsonr`; Spearman ρ via :func:`scipy.stats.spearmanr`.
* ICC(A,1) and ICC(C,1) of the (n, 2) table [reference, estimate] (:mod:`hipbmd.stats.icc`).
* MAE = mean |y − x|, RMSE = √mean (y − x)².
* Bland–Altman (Bland JM & Altman DG, Lancet 1986;i:307–310): d = y − x, bias = mean d with its t
  interval, SD of d (n − 1), limits of agreement bias ± 1.96·SD; proportional bias is the OLS slope of
  d on (x + y)/2 and the p-value of slope = 0 (Bland & Altman, Stat Methods Med Res 1999;8:135–160).
* Linear fit: OLS of y on x, y = slope·x + intercept, and r².
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from hipbmd.stats.icc import ICC, icc_agreement, icc_consistency

MIN_PAIRS = 3  # fewer pairs: no agreement statistics
LOA_Z = 1.96  # Bland & Altman's limits of agreement: bias ± 1.96 SD


@dataclass(frozen=True)
class Correlation:
    """A correlation coefficient, its two-sided p-value and (Pearson only) confidence interval."""

    value: float | None
    p_value: float | None
    ci_low: float | None = None
    ci_high: float | None = None


@dataclass(frozen=True)
class BlandAltman:
    """Differences d = estimate − reference (g/cm²): bias, SD, limits of agreement, proportional bias."""

    bias_g_cm2: float
    bias_ci_low_g_cm2: float
    bias_ci_high_g_cm2: float
    sd_g_cm2: float
    loa_low_g_cm2: float
    loa_high_g_cm2: float
    proportional_slope: float | None
    proportional_intercept_g_cm2: float | None
    proportional_p_value: float | None


@dataclass(frozen=True)
class RegressionLine:
    """OLS line estimate = slope · reference + intercept, and its r² (None for a constant estimate)."""

    slope: float
    intercept_g_cm2: float
    r_squared: float | None


@dataclass(frozen=True)
class Agreement:
    """Every agreement statistic of one set of n pairs."""

    n: int
    pearson: Correlation
    spearman: Correlation
    icc_agreement: ICC
    icc_consistency: ICC
    mae_g_cm2: float
    rmse_g_cm2: float
    bland_altman: BlandAltman
    linear_fit: RegressionLine | None

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary for the report (not read back; NaN is left to the report's cleaning)."""
        return asdict(self)


def agreement(
    reference: npt.ArrayLike, estimate: npt.ArrayLike, confidence: float = 0.95
) -> Agreement | None:
    """All statistics of the module docstring; None with fewer than :data:`MIN_PAIRS` pairs."""
    x, y = _pairs(reference, estimate)
    if len(x) < MIN_PAIRS:
        return None
    return Agreement(
        n=len(x),
        pearson=pearson(x, y, confidence),
        spearman=spearman(x, y),
        icc_agreement=icc_agreement(np.column_stack([x, y]), confidence),
        icc_consistency=icc_consistency(np.column_stack([x, y]), confidence),
        mae_g_cm2=float(np.mean(np.abs(y - x))),
        rmse_g_cm2=float(np.sqrt(np.mean((y - x) ** 2))),
        bland_altman=bland_altman(x, y, confidence),
        linear_fit=linear_fit(x, y),
    )


def pearson(reference: npt.ArrayLike, estimate: npt.ArrayLike, confidence: float = 0.95) -> Correlation:
    """Pearson r, p and the Fisher-z interval (interval None for n < 4, all None for constant data)."""
    from scipy.stats import pearsonr

    x, y = _pairs(reference, estimate)
    if _constant(x) or _constant(y):
        return Correlation(None, None)
    result = pearsonr(x, y)
    if len(x) < 4:
        return Correlation(float(result.statistic), float(result.pvalue))
    interval = result.confidence_interval(confidence_level=confidence)
    return Correlation(float(result.statistic), float(result.pvalue), interval.low, interval.high)


def spearman(reference: npt.ArrayLike, estimate: npt.ArrayLike) -> Correlation:
    """Spearman ρ and its p-value (None for constant data)."""
    from scipy.stats import spearmanr

    x, y = _pairs(reference, estimate)
    if _constant(x) or _constant(y):
        return Correlation(None, None)
    result = spearmanr(x, y)
    return Correlation(float(result.statistic), float(result.pvalue))


def bland_altman(reference: npt.ArrayLike, estimate: npt.ArrayLike, confidence: float = 0.95) -> BlandAltman:
    """Bias, its t interval, SD, limits of agreement and the proportional bias (module docstring); n ≥ 2."""
    from scipy.stats import linregress
    from scipy.stats import t as t_dist

    x, y = _pairs(reference, estimate)
    if len(x) < 2:
        raise ValueError("Bland-Altman needs at least two pairs")
    difference = y - x
    bias = float(difference.mean())
    sd = float(difference.std(ddof=1))
    half_width = float(t_dist.ppf((1.0 + confidence) / 2.0, len(x) - 1)) * sd / np.sqrt(len(x))
    mean = (x + y) / 2.0
    slope = intercept = p_value = None
    if len(x) >= 3 and not _constant(mean):
        fit = linregress(mean, difference)
        slope, intercept = float(fit.slope), float(fit.intercept)
        p_value = None if np.isnan(fit.pvalue) else float(fit.pvalue)
    return BlandAltman(
        bias_g_cm2=bias,
        bias_ci_low_g_cm2=bias - half_width,
        bias_ci_high_g_cm2=bias + half_width,
        sd_g_cm2=sd,
        loa_low_g_cm2=bias - LOA_Z * sd,
        loa_high_g_cm2=bias + LOA_Z * sd,
        proportional_slope=slope,
        proportional_intercept_g_cm2=intercept,
        proportional_p_value=p_value,
    )


def linear_fit(reference: npt.ArrayLike, estimate: npt.ArrayLike) -> RegressionLine | None:
    """OLS of estimate on reference; None when the reference is constant."""
    x, y = _pairs(reference, estimate)
    if len(x) < 2 or _constant(x):
        return None
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    total = float(np.sum((y - y.mean()) ** 2))
    r_squared = 1.0 - float(np.sum(residual**2)) / total if total > 0.0 else None
    return RegressionLine(float(slope), float(intercept), r_squared)


def _pairs(reference: npt.ArrayLike, estimate: npt.ArrayLike) -> tuple[Any, Any]:
    x = np.asarray(reference, dtype=float).ravel()
    y = np.asarray(estimate, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"reference and estimate differ in length: {len(x)} and {len(y)}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("reference and estimate must be finite")
    return x, y


def _constant(values: Any) -> bool:
    return bool(np.ptp(values) == 0.0)
