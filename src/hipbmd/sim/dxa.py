"""The simulated DXA measurement of a virtual case, from its CT-aBMD.

A case's DXA aBMD at region R (femoral neck, total hip) is

    dxa_R = (slope_R · ct_abmd_R + intercept_R) · (1 + residual_cv_R · z₁) · (1 + precision_cv_R · z₂)

with z₁, z₂ independent standard normal draws: z₁ is the subject's own, fixed difference between the
two methods (soft-tissue inhomogeneity, fat in the marrow, region placement, positioning, the CT's own
errors), drawn once per subject; z₂ is the scan's precision error, drawn per scan. Repeated scans of
one subject share z₁ (pass the subject's ``residuals``).

Numbers and their sources (all in :class:`DXAModel`, so a cohort can vary them per site):

* slope 0.95, intercept 0.04 g/cm² (both regions): an assumption. No published slope/intercept for
  CT-aBMD computed this way could be checked here; CT-derived aBMD and DXA agree closely
  (CTXA Hip vs DXA: R = 0.97 total hip, 0.95 femoral neck, SEE 0.044 g/cm² in 69 patients; Cann CE,
  Adams JE, Brown JK, Brett AD, "CTXA hip — an extension of classical DXA measurements using
  quantitative CT", PLoS One 2014;9:e91904), and the Osaka group calibrates its CT-aBMD to DXA with a
  linear fit (slope and intercept per site). The chosen pair leaves 0.8 g/cm² unchanged and compresses
  the range by 5 %, the mild regression to the mean an imperfect correlation produces.
* residual CV 4 % (neck), 3 % (total hip): an assumption, chosen so that residual and precision
  together (≈ 4.4 % and 3.3 %, i.e. ≈ 0.035 and 0.030 g/cm² at 0.8–0.9 g/cm²) stay below Cann et al.'s
  SEE of 0.044 g/cm², which also contains the CT method's own precision error (CTXA 1.8–2.0 %).
* precision CV 1.9 % (neck), 1.3 % (total hip): short-term in vivo precision averaged over 57
  published studies (Wilson KE, Smith AP, "Monitoring BMD with DXA: short- and long-term precision",
  Hologic white paper): femoral neck 1.50 % Hologic, 1.97 % GE Lunar, 2.30 % Norland (mean 1.9 %);
  total hip 1.3 %. Both are within ISCD's minimum acceptable precision for a technologist (femoral
  neck 2.5 %, total hip 1.8 %; ISCD Official Positions), whose least significant change is
  2.77 × the precision error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

DXA_REGIONS = ("neck", "total_hip")


@dataclass(frozen=True)
class DXAModel:
    """Linear relation CT-aBMD → DXA aBMD, subject residual and DXA precision, per region.

    Attributes:
        neck_slope, total_hip_slope: DXA g/cm² per CT-aBMD g/cm².
        neck_intercept_g_cm2, total_hip_intercept_g_cm2: DXA aBMD at zero CT-aBMD.
        neck_residual_cv, total_hip_residual_cv: SD of the subject's relative residual (fraction).
        neck_precision_cv, total_hip_precision_cv: DXA short-term precision, CV (fraction).
    """

    neck_slope: float = 0.95
    neck_intercept_g_cm2: float = 0.04
    neck_residual_cv: float = 0.04
    neck_precision_cv: float = 0.019
    total_hip_slope: float = 0.95
    total_hip_intercept_g_cm2: float = 0.04
    total_hip_residual_cv: float = 0.03
    total_hip_precision_cv: float = 0.013

    def slope(self, region: str) -> float:
        """DXA g/cm² per CT-aBMD g/cm² at ``region``."""
        return float(getattr(self, f"{_checked(region)}_slope"))

    def intercept_g_cm2(self, region: str) -> float:
        """DXA aBMD at zero CT-aBMD at ``region``, g/cm²."""
        return float(getattr(self, f"{_checked(region)}_intercept_g_cm2"))

    def residual_cv(self, region: str) -> float:
        """SD of the subject's relative method residual at ``region``."""
        return float(getattr(self, f"{_checked(region)}_residual_cv"))

    def precision_cv(self, region: str) -> float:
        """DXA precision (CV) at ``region``."""
        return float(getattr(self, f"{_checked(region)}_precision_cv"))

    def to_dict(self) -> dict[str, float]:
        """JSON-ready form."""
        return {key: float(value) for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> DXAModel:
        """Inverse of :meth:`to_dict`."""
        return cls(**{key: float(value) for key, value in record.items()})


def _checked(region: str) -> str:
    if region not in DXA_REGIONS:
        raise KeyError(f"unknown DXA region {region!r}; expected one of {DXA_REGIONS}")
    return region


def expected_dxa(ct_abmd_g_cm2: Mapping[str, float], model: DXAModel | None = None) -> dict[str, float]:
    """The systematic part: slope · CT-aBMD + intercept for the neck and total hip, g/cm²."""
    model = model or DXAModel()
    result = {}
    for region in DXA_REGIONS:
        if region not in ct_abmd_g_cm2:
            raise KeyError(f"CT-aBMD of region {region!r} missing")
        value = float(ct_abmd_g_cm2[region])
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"CT-aBMD of {region} is {value}: no DXA value can be simulated from it")
        result[region] = model.slope(region) * value + model.intercept_g_cm2(region)
    return result


def draw_subject_residuals(rng: np.random.Generator, model: DXAModel | None = None) -> dict[str, float]:
    """A subject's relative CT-vs-DXA residuals (fractions), one per region; fixed across repeat scans."""
    model = model or DXAModel()
    return {region: model.residual_cv(region) * float(rng.standard_normal()) for region in DXA_REGIONS}


def simulate_dxa(
    ct_abmd_g_cm2: Mapping[str, float],
    rng: np.random.Generator,
    model: DXAModel | None = None,
    residuals: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """DXA aBMD (g/cm²) of the femoral neck and total hip of one scan of a case (see module docstring).

    Args:
        ct_abmd_g_cm2: the case's CT-aBMD with at least "neck" and "total_hip" (g/cm²).
        rng: the random generator (all randomness comes from it).
        model: relation and error sizes; the default :class:`DXAModel` if None.
        residuals: the subject's residuals from :func:`draw_subject_residuals`, to simulate a repeat
            scan of the same subject; drawn here from ``rng`` if None (before the precision errors).
    """
    model = model or DXAModel()
    expected = expected_dxa(ct_abmd_g_cm2, model)
    subject = draw_subject_residuals(rng, model) if residuals is None else residuals
    result = {}
    for region in DXA_REGIONS:
        scan_error = model.precision_cv(region) * float(rng.standard_normal())
        result[region] = expected[region] * (1.0 + float(subject[region])) * (1.0 + scan_error)
    return result
