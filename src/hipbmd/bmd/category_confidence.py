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


@dataclass(frozen=True)
class RegionCall:
    """One region's own category (WHO, or JOS with a YAM table) with its probability.

    Attributes:
        category: the category given, None when none reaches the confidence.
        probability: the probability of ``category`` (of the likeliest one when none is given).
        likeliest: the category with the largest probability.
    """

    category: str | None
    probability: float
    likeliest: str


def region_who_call(tail: RegionTail, confidence: float = DEFAULT_CATEGORY_CONFIDENCE) -> RegionCall:
    """One region's WHO category from its tail probabilities, given when its probability reaches
    ``confidence``."""
    chances = {
        "osteoporosis": tail.p_osteoporosis,
        "osteopenia": max(0.0, tail.p_below_normal - tail.p_osteoporosis),
        "normal": 1.0 - tail.p_below_normal,
    }
    return _call(chances, confidence)


def region_jos_call(
    estimate_g_cm2: float,
    error_sd_g_cm2: float,
    yam_g_cm2: float,
    young: YoungReference,
    confidence: float = DEFAULT_CATEGORY_CONFIDENCE,
) -> RegionCall:
    """One region's JOS/JSBMR 2012 category (without a fragility fracture) with its probability.

    Osteoporosis below max(70 % of YAM, the T = −2.5 aBMD), normal from 80 % of YAM, low bone mass
    between (:func:`hipbmd.bmd.classify.jos_category`), for a normal error of SD ``error_sd_g_cm2``.

    Raises:
        ValueError: a YAM or error SD that is not positive.
    """
    if not yam_g_cm2 > 0.0 or not error_sd_g_cm2 > 0.0:
        raise ValueError(f"need a positive YAM and error SD, got {yam_g_cm2}, {error_sd_g_cm2}")
    from hipbmd.bmd.classify import JOS_NORMAL_MIN_PERCENT_YAM, JOS_OSTEOPOROSIS_MAX_PERCENT_YAM

    osteoporosis_below = max(
        JOS_OSTEOPOROSIS_MAX_PERCENT_YAM / 100.0 * yam_g_cm2,
        young.mean_g_cm2 + WHO_OSTEOPOROSIS_MAX_T * young.sd_g_cm2,
    )
    normal_from = JOS_NORMAL_MIN_PERCENT_YAM / 100.0 * yam_g_cm2
    p_osteoporosis = float(norm.cdf((osteoporosis_below - estimate_g_cm2) / error_sd_g_cm2))
    p_below_normal = max(p_osteoporosis, float(norm.cdf((normal_from - estimate_g_cm2) / error_sd_g_cm2)))
    chances = {
        "osteoporosis": p_osteoporosis,
        "low_bone_mass": p_below_normal - p_osteoporosis,
        "normal": 1.0 - p_below_normal,
    }
    return _call(chances, confidence)


def _call(chances: dict[str, float], confidence: float) -> RegionCall:
    if not 0.5 < confidence <= 1.0:
        raise ValueError(f"the category confidence must lie in (0.5, 1], got {confidence}")
    likeliest = max(chances, key=lambda name: chances[name])
    given = likeliest if chances[likeliest] >= confidence else None
    return RegionCall(given, round(chances[likeliest], 4), likeliest)
