"""T-score, %YAM, and the WHO and Japanese (JOS/JSBMR 2012) diagnostic categories.

* T-score = (aBMD − young mean) / young SD (WHO Study Group, Tech Rep Ser 843, 1994), against
  :data:`hipbmd.bmd.reference.NHANES_III` unless another reference is given.
* %YAM = 100 · aBMD / YAM, the YAM from the user's table (:func:`~hipbmd.bmd.reference.load_yam_table`).
* WHO: T ≥ −1 normal; −2.5 < T < −1 osteopenia; T ≤ −2.5 osteoporosis.
* JOS/JSBMR 2012 (Soen S et al., J Bone Miner Metab 2013;31:247–257), from BMD: osteoporosis if
  %YAM ≤ 70 or T ≤ −2.5; with a fragility fracture other than vertebral or proximal femoral, %YAM < 80
  is osteoporosis too; otherwise 70 < %YAM < 80 is "low bone mass" (骨量減少) and %YAM ≥ 80 normal.
  A prior vertebral or proximal femoral fragility fracture makes the diagnosis of osteoporosis whatever
  the BMD; that is a clinical finding, not a BMD category, and is left to the caller.

Boundaries are applied to the values as a report prints them: the T-score rounded to one decimal
(as DXA reports give it) and %YAM rounded to one decimal, both half away from zero on the number's
shortest decimal form (:func:`reported`). So a T-score printed as −2.5 is always "osteoporosis" and one
printed as −1.0 always "normal", and float noise such as −2.4999999999999996 cannot move a patient
across a boundary. Reports should print these rounded values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from hipbmd.bmd.reference import NHANES_III, YoungReference, t_reference

WHOCategory = Literal["normal", "osteopenia", "osteoporosis"]
JOSCategory = Literal["normal", "low_bone_mass", "osteoporosis"]

WHO_NORMAL_MIN_T = -1.0  # T ≥ −1: normal (WHO 1994)
WHO_OSTEOPOROSIS_MAX_T = -2.5  # T ≤ −2.5: osteoporosis (WHO 1994; also JOS 2012)
JOS_OSTEOPOROSIS_MAX_PERCENT_YAM = 70.0  # %YAM ≤ 70: osteoporosis (JOS 2012)
# %YAM ≥ 80: normal; %YAM < 80 with a non-vertebral fragility fracture: osteoporosis (JOS 2012)
JOS_NORMAL_MIN_PERCENT_YAM = 80.0
REPORTED_DECIMALS = 1


def reported(value: float, decimals: int = REPORTED_DECIMALS) -> float:
    """``value`` rounded to ``decimals`` places, half away from zero, on its shortest decimal form.

    ``reported(-2.45) == -2.5`` and ``reported(-2.4999999999999996) == -2.5``, whereas Python's
    ``round`` works on the binary value and rounds half to even.
    """
    _check_finite(value, "value")
    step = Decimal(1).scaleb(-decimals)
    return float(Decimal(str(float(value))).quantize(step, rounding=ROUND_HALF_UP))


def t_score(bmd_g_cm2: float, roi: str, reference: Mapping[str, YoungReference] = NHANES_III) -> float | None:
    """T = (aBMD − young mean) / young SD, unrounded; None when ``reference`` has no entry for ``roi``.

    Args:
        bmd_g_cm2: areal BMD (g/cm²).
        roi: region name ("neck", "total_hip", "proximal_femur"); NHANES III has no "proximal_femur".
        reference: region → young-adult mean and SD (g/cm²).

    Raises:
        ValueError: unknown region, or an aBMD that is negative or not finite.
    """
    _check_bmd(bmd_g_cm2)
    young = t_reference(roi, reference)
    if young is None:
        return None
    return (bmd_g_cm2 - young.mean_g_cm2) / young.sd_g_cm2


def percent_yam(bmd_g_cm2: float, yam_g_cm2: float) -> float:
    """%YAM = 100 · aBMD / YAM (both g/cm²), unrounded.

    Raises:
        ValueError: a negative or non-finite aBMD, or a YAM that is not positive and finite.
    """
    _check_bmd(bmd_g_cm2)
    _check_finite(yam_g_cm2, "yam_g_cm2")
    if yam_g_cm2 <= 0.0:
        raise ValueError(f"yam_g_cm2 must be positive, got {yam_g_cm2}")
    return 100.0 * bmd_g_cm2 / yam_g_cm2


def who_category(t: float) -> WHOCategory:
    """WHO category of a T-score, compared after rounding to one decimal (:func:`reported`).

    Normal if T ≥ −1.0, osteoporosis if T ≤ −2.5, osteopenia in between.
    """
    rounded = reported(t)
    if rounded >= WHO_NORMAL_MIN_T:
        return "normal"
    if rounded <= WHO_OSTEOPOROSIS_MAX_T:
        return "osteoporosis"
    return "osteopenia"


def jos_category(
    percent_yam: float, t_score: float | None = None, fragility_fracture: bool = False
) -> JOSCategory:
    """Japanese (JOS/JSBMR 2012) BMD category, values compared after rounding to one decimal.

    Args:
        percent_yam: aBMD as a percentage of the young adult mean.
        t_score: the T-score of the same region, if known; T ≤ −2.5 is osteoporosis whatever %YAM.
        fragility_fracture: a prior fragility fracture other than vertebral or proximal femoral
            (e.g. rib, pelvis, proximal humerus, distal radius, lower leg); then %YAM < 80 is
            osteoporosis. Vertebral and hip fractures diagnose osteoporosis without BMD and are not
            taken here.

    Returns:
        "osteoporosis", "low_bone_mass" (骨量減少: 70 < %YAM < 80, no such fracture) or "normal".
    """
    yam = reported(percent_yam)
    if yam <= JOS_OSTEOPOROSIS_MAX_PERCENT_YAM:
        return "osteoporosis"
    if t_score is not None and reported(t_score) <= WHO_OSTEOPOROSIS_MAX_T:
        return "osteoporosis"
    if yam < JOS_NORMAL_MIN_PERCENT_YAM:
        return "osteoporosis" if fragility_fracture else "low_bone_mass"
    return "normal"


def _check_bmd(bmd_g_cm2: float) -> None:
    _check_finite(bmd_g_cm2, "bmd_g_cm2")
    if bmd_g_cm2 < 0.0:
        raise ValueError(f"bmd_g_cm2 must not be negative, got {bmd_g_cm2}")


def _check_finite(value: float, name: str) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
