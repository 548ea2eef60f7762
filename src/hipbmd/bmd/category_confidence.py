"""The WHO category of a hip with its confidence, from each region's estimate and its error.

Per region r (femoral neck, total hip), with the estimate x_r (g/cm²) and a normal error of SD σ_r
(the calibrated error of the estimate against DXA), the DXA T-score lies at or below a threshold c with
probability P(T_r ≤ c) = Φ((m_r + c·s_r − x_r) / σ_r), where m_r, s_r are the young-adult mean and SD.

The ISCD rule (Official Positions 2019) takes the lowest T-score of the neck and the total hip. The two
regions' errors come from one image and are correlated in a way not known here, so the category's
probability is bounded for any dependence (the Fréchet bounds of a union), with p_r = P(T_r ≤ −2.5) and
q_r = P(T_r < −1):

* osteoporosis: P(min T ≤ −2.5) ≥ max_r p_r;
* normal: P(min T ≥ −1) ≥ 1 − Σ_r q_r;
* osteopenia: P(−2.5 < min T < −1) ≥ max_r q_r − min(1, Σ_r p_r).

A category is given when its lower bound reaches the required confidence (0.90 unless the user sets
another); at most one can, for any confidence above one half.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from scipy.stats import norm

from hipbmd.bmd.classify import WHO_NORMAL_MIN_T, WHO_OSTEOPOROSIS_MAX_T, WHOCategory
from hipbmd.bmd.reference import NHANES_III, YoungReference, t_reference

DEFAULT_CATEGORY_CONFIDENCE = 0.90
ISCD_REGIONS = ("neck", "total_hip")


@dataclass(frozen=True)
class RegionTail:
    """One region's chances against the WHO thresholds.

    Attributes:
        roi: the region.
        p_osteoporosis: P(DXA T-score ≤ −2.5).
        p_below_normal: P(DXA T-score < −1).
    """

    roi: str
    p_osteoporosis: float
    p_below_normal: float


@dataclass(frozen=True)
class CategoryCall:
    """The WHO category of a hip (lowest T of the neck and total hip) and how sure it is.

    Attributes:
        category: the category given, None when none reaches the confidence.
        probability: the lower bound of the probability of ``category`` (of the likeliest one when none
            is given).
        likeliest: the category with the largest lower bound.
        regions: each region's tail probabilities.
    """

    category: WHOCategory | None
    probability: float
    likeliest: WHOCategory
    regions: tuple[RegionTail, ...]


def region_tail(
    roi: str,
    estimate_g_cm2: float,
    error_sd_g_cm2: float,
    reference: Mapping[str, YoungReference] = NHANES_III,
) -> RegionTail:
    """The chances that the DXA T-score of ``roi`` is ≤ −2.5 and < −1, for an estimate with a normal
    error of SD ``error_sd_g_cm2``.

    Raises:
        ValueError: a region without a reference, a non-finite estimate or an SD that is not positive.
    """
    young = t_reference(roi, reference)
    if young is None:
        raise ValueError(f"no young-adult reference for {roi!r}")
    if not math.isfinite(estimate_g_cm2) or not error_sd_g_cm2 > 0.0:
        raise ValueError(
            f"need a finite estimate and a positive error SD, got {estimate_g_cm2}, {error_sd_g_cm2}"
        )

    def below(t_score: float) -> float:
        threshold_g_cm2 = young.mean_g_cm2 + t_score * young.sd_g_cm2
        return float(norm.cdf((threshold_g_cm2 - estimate_g_cm2) / error_sd_g_cm2))

    return RegionTail(roi, below(WHO_OSTEOPOROSIS_MAX_T), below(WHO_NORMAL_MIN_T))


def who_category_call(
    regions: list[RegionTail], confidence: float = DEFAULT_CATEGORY_CONFIDENCE
) -> CategoryCall:
    """The ISCD category of the regions' lowest T-score, given when its lower-bound probability reaches
    ``confidence`` (see the module docstring).

    Raises:
        ValueError: no region, or a confidence outside (0.5, 1].
    """
    if not regions:
        raise ValueError("no region to classify")
    if not 0.5 < confidence <= 1.0:
        raise ValueError(f"the category confidence must lie in (0.5, 1], got {confidence}")
    p = [region.p_osteoporosis for region in regions]
    q = [region.p_below_normal for region in regions]
    bounds: dict[WHOCategory, float] = {
        "osteoporosis": max(p),
        "normal": max(0.0, 1.0 - sum(q)),
        "osteopenia": max(0.0, max(q) - min(1.0, sum(p))),
    }
    likeliest = max(bounds, key=lambda name: bounds[name])
    given = likeliest if bounds[likeliest] >= confidence else None
    return CategoryCall(given, round(bounds[likeliest], 4), likeliest, tuple(regions))
