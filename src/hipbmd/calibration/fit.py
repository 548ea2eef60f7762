"""Fits of rod HU against rod density: the HU → mg/cm³ calibration line.

Hydroxyapatite phantoms (B-MAS 200, QRM-BDC, …): ordinary least squares of HU on the known density,
HU = slope·ρ + intercept, so ρ = (HU − intercept) / slope. The density is the known quantity and the
HU the measured one, hence the regression's direction.

K2HPO4 phantoms (Mindways): the rods are K2HPO4 solutions whose water content differs from rod to rod,
so a single-component fit is biased. The two-component calibration of the Mindways QCT PRO User Guide
(Mindways Software, v5.0 rev 20110801), as transcribed in ``resources/phantoms/calibration_phantoms.json``
("mindways_two_component_fit"):

1. regress HU_rod − ρ_water,rod on ρ_K2HPO4,rod: HU − ρ_water = σ_ref·ρ_K2HPO4 + β_ref;
2. σ_CT = σ_ref − 0.2174 and β_CT = β_ref + 999.6;
3. ρ_K2HPO4 = (HU − β_CT) / σ_CT for any voxel.

Step 1 takes the rods' water to raise the CT number by exactly 1 HU per mg/cm³, which holds on a scanner
whose CT numbers sit on the water–air scale (water 0 HU, air −1000 HU). A scanner whose scale is off by a
gain g reads the water at g HU per mg/cm³ instead, and the vendor's fit then carries (g − 1) × the rods'
water into σ_ref and β_ref: with the Model 3 CT rods, a gain of 0.97 reads a voxel some 2 mg/cm³ high and
a gain of 1.05 some 3 mg/cm³ low, at every density. Because the rods' water content varies independently
of their K2HPO4, the rods also determine that water response: here step 1 is the least-squares fit of
HU = a·ρ_water + σ_ref·ρ_K2HPO4 + β_ref with a fitted too (when the rods determine it: at least four
rods, water and K2HPO4 not collinear, a within 15 % of 1), and step 2 becomes σ_CT = σ_ref − 0.2174·a,
β_CT = β_ref + 999.6·a. On a scanner on the water–air scale a = 1 and the fit is the vendor's.

Densities are mg/cm³, slopes HU per mg/cm³, intercepts HU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

MINDWAYS_SIGMA_SHIFT = 0.2174  # σ_CT = σ_ref − 0.2174 (QCT PRO User Guide v5.0)
MINDWAYS_BETA_SHIFT = 999.6  # β_CT = β_ref + 999.6 (QCT PRO User Guide v5.0)
# The rods determine the water response with a fourth rod to spare, and when their water content is not
# (nearly) a linear function of their K2HPO4: the smallest singular value of the two columns, each centred
# and scaled to unit length, is 0 for collinear rods and √2 for uncorrelated ones.
MIN_RODS_FOR_WATER_RESPONSE = 4
MIN_WATER_K2HPO4_INDEPENDENCE = 0.3
# A fitted water response further than this from 1 is not a scanner's (gains within 15 %, as for
# PLAUSIBLE_SLOPE) but rods that are not what the phantom says: the vendor's a = 1 is kept.
MAX_WATER_RESPONSE_OFF = 0.15
# A calibration line must be one a scanner can give. Its slope is the gain times w = (μ/ρ) / (μ/ρ)_water
# of the mineral at the effective energy: for HA 3.05 at 45 keV, 1.65 at 69 keV, 1.41 at 80 keV (hipbmd's
# physics tables); σ_CT of a Mindways fit is smaller (w_K2HPO4 − 0.2174: 2.67 at 45 keV, 1.15 at 80 keV).
# 0.8–3.5 HU per mg/cm³ covers effective energies of 45–80 keV (80–140 kVp) with gains within 15 %. The
# intercept is the HU of the phantom's water-equivalent base (β_CT: of water), within 150 HU of zero.
PLAUSIBLE_SLOPE = (0.8, 3.5)
PLAUSIBLE_INTERCEPT_HU = 150.0


@dataclass(frozen=True)
class RodLine:
    """A straight line of HU against density and how well the rods follow it.

    Attributes:
        slope_hu_per_mg_cm3: HU per mg/cm³ of the line the rods are fitted with.
        intercept_hu: HU at zero density on that line.
        r: Pearson correlation of the rods' density and HU (as fitted).
        residuals_mg_cm3: per rod, density read back from its HU through the fitted line minus its
            known density.
    """

    slope_hu_per_mg_cm3: float
    intercept_hu: float
    r: float
    residuals_mg_cm3: tuple[float, ...]


@dataclass(frozen=True)
class MindwaysFit:
    """The two-component K2HPO4 calibration.

    Attributes:
        rods: the step-1 regression of HU − a·ρ_water on ρ_K2HPO4 (its slope is σ_ref, its intercept β_ref).
        sigma_ct: σ_CT = σ_ref − 0.2174·a, HU per mg/cm³ K2HPO4.
        beta_ct: β_CT = β_ref + 999.6·a, HU.
        water_hu_per_mg_cm3: a, the CT number the rods' water adds per mg/cm³ (1 on the water–air scale;
            fixed at 1 when the rods do not determine it).
        water_fitted: whether a was fitted (False: the vendor's a = 1).
    """

    rods: RodLine
    sigma_ct: float
    beta_ct: float
    water_hu_per_mg_cm3: float = 1.0
    water_fitted: bool = False


def fit_line(density_mg_cm3: npt.ArrayLike, hu: npt.ArrayLike) -> RodLine:
    """Least-squares line HU = slope·ρ + intercept over the rods, with r and density residuals."""
    density = np.asarray(density_mg_cm3, np.float64)
    values = np.asarray(hu, np.float64)
    if density.size < 2 or np.ptp(density) == 0:
        raise ValueError("a calibration line needs at least two rods of different density")
    slope, intercept = np.polyfit(density, values, 1)
    r = float(np.corrcoef(density, values)[0, 1]) if np.ptp(values) > 0 else 0.0
    residuals = (values - intercept) / slope - density if slope != 0 else np.full(density.shape, np.inf)
    return RodLine(float(slope), float(intercept), r, tuple(float(v) for v in residuals))


def fit_mindways(k2hpo4_mg_cm3: npt.ArrayLike, water_mg_cm3: npt.ArrayLike, hu: npt.ArrayLike) -> MindwaysFit:
    """The Mindways two-component calibration with the rods' water response (module docstring)."""
    k2hpo4 = np.asarray(k2hpo4_mg_cm3, np.float64)
    water = np.asarray(water_mg_cm3, np.float64)
    values = np.asarray(hu, np.float64)
    water_response = water_response_hu_per_mg_cm3(k2hpo4, water, values)
    if water_response is not None and abs(water_response - 1.0) > MAX_WATER_RESPONSE_OFF:
        water_response = None
    slope = 1.0 if water_response is None else water_response
    rods = fit_line(k2hpo4, values - slope * water)
    return MindwaysFit(
        rods,
        rods.slope_hu_per_mg_cm3 - MINDWAYS_SIGMA_SHIFT * slope,
        rods.intercept_hu + MINDWAYS_BETA_SHIFT * slope,
        slope,
        water_response is not None,
    )


def water_response_hu_per_mg_cm3(
    k2hpo4_mg_cm3: npt.NDArray[np.float64], water_mg_cm3: npt.NDArray[np.float64], hu: npt.NDArray[np.float64]
) -> float | None:
    """a of HU = a·ρ_water + σ·ρ_K2HPO4 + β fitted over the rods (HU per mg/cm³ of water), or None when the
    rods do not determine it: fewer than four rods, or water and K2HPO4 (nearly) collinear over them."""
    if len(hu) < MIN_RODS_FOR_WATER_RESPONSE:
        return None
    design = np.column_stack([water_mg_cm3, k2hpo4_mg_cm3, np.ones(len(hu))])
    centred = design[:, :2] - design[:, :2].mean(axis=0)
    singular = np.linalg.svd(centred / np.maximum(np.linalg.norm(centred, axis=0), 1e-12), compute_uv=False)
    if singular[-1] < MIN_WATER_K2HPO4_INDEPENDENCE:
        return None
    coefficients = np.linalg.lstsq(design, hu, rcond=None)[0]
    return float(coefficients[0])


def plausible_line(slope_hu_per_mg_cm3: float, intercept_hu: float) -> bool:
    """Whether a calibration line is one a CT scanner can give (PLAUSIBLE_SLOPE, PLAUSIBLE_INTERCEPT_HU)."""
    low, high = PLAUSIBLE_SLOPE
    return low <= slope_hu_per_mg_cm3 <= high and abs(intercept_hu) <= PLAUSIBLE_INTERCEPT_HU
