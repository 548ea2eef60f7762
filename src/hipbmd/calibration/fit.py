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

Densities are mg/cm³, slopes HU per mg/cm³, intercepts HU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

MINDWAYS_SIGMA_SHIFT = 0.2174  # σ_CT = σ_ref − 0.2174 (QCT PRO User Guide v5.0)
MINDWAYS_BETA_SHIFT = 999.6  # β_CT = β_ref + 999.6 (QCT PRO User Guide v5.0)
# A calibration line must be one a scanner can give. Its slope is the gain times w = (μ/ρ) / (μ/ρ)_water
# of the mineral at the effective energy: for HA 3.05 at 45 keV, 1.65 at 69 keV, 1.41 at 80 keV (hipbmd's
# physics tables); σ_CT of a Mindways fit is smaller (w_K2HPO4 − 0.2174: 2.67 at 45 keV, 1.15 at 80 keV).
# 0.8–3.5 HU per mg/cm³ covers effective energies of 45–80 keV (80–140 kVp) with gains within 15 %. The
# intercept is the HU of the phantom's water-equivalent base (β_CT: of water), within 150 HU of zero.
PLAUSIBLE_SLOPE = (0.8, 3.5)
PLAUSIBLE_INTERCEPT_HU = 150.0


@dataclass(frozen=True)
class LinearFit:
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
        rods: the step-1 regression of HU − ρ_water on ρ_K2HPO4 (its slope is σ_ref, its intercept β_ref).
        sigma_ct: σ_CT = σ_ref − 0.2174, HU per mg/cm³ K2HPO4.
        beta_ct: β_CT = β_ref + 999.6, HU.
    """

    rods: LinearFit
    sigma_ct: float
    beta_ct: float


def fit_line(density_mg_cm3: npt.ArrayLike, hu: npt.ArrayLike) -> LinearFit:
    """Least-squares line HU = slope·ρ + intercept over the rods, with r and density residuals."""
    density = np.asarray(density_mg_cm3, np.float64)
    values = np.asarray(hu, np.float64)
    if density.size < 2 or np.ptp(density) == 0:
        raise ValueError("a calibration line needs at least two rods of different density")
    slope, intercept = np.polyfit(density, values, 1)
    r = float(np.corrcoef(density, values)[0, 1]) if np.ptp(values) > 0 else 0.0
    residuals = (values - intercept) / slope - density if slope != 0 else np.full(density.shape, np.inf)
    return LinearFit(float(slope), float(intercept), r, tuple(float(v) for v in residuals))


def fit_mindways(k2hpo4_mg_cm3: npt.ArrayLike, water_mg_cm3: npt.ArrayLike, hu: npt.ArrayLike) -> MindwaysFit:
    """The Mindways two-component calibration (steps 1 and 2 of the module docstring)."""
    rods = fit_line(k2hpo4_mg_cm3, np.asarray(hu, np.float64) - np.asarray(water_mg_cm3, np.float64))
    return MindwaysFit(
        rods,
        rods.slope_hu_per_mg_cm3 - MINDWAYS_SIGMA_SHIFT,
        rods.intercept_hu + MINDWAYS_BETA_SHIFT,
    )


def plausible_line(slope_hu_per_mg_cm3: float, intercept_hu: float) -> bool:
    """Whether a calibration line is one a CT scanner can give (PLAUSIBLE_SLOPE, PLAUSIBLE_INTERCEPT_HU)."""
    low, high = PLAUSIBLE_SLOPE
    return low <= slope_hu_per_mg_cm3 <= high and abs(intercept_hu) <= PLAUSIBLE_INTERCEPT_HU
