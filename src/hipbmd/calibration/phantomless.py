"""Phantomless calibration: fat and muscle of the patient as the two reference densities.

Without a phantom, two tissues whose attenuation is known stand in for rods: adipose tissue and skeletal
muscle, taken as ICRU-44 adipose (0.95 g/cm³) and muscle (1.05 g/cm³) (ICRU Report 44, 1989; the
compositions of ``hipbmd/resources/physics/materials.csv``). Their hydroxyapatite-equivalent density is
the HA concentration in water that attenuates as they do, the HA taking the place of its own volume of
water (crystal density 3.16 g/cm³):

    ρ_HA,eq = (μ_tissue − μ_water) / ((μ/ρ)_HA − (μ/ρ)_water / 3.16 g/cm³),  μ_tissue = (μ/ρ)_tissue·ρ_tissue,

×1000 for mg/cm³, with μ/ρ from the physics tables at the scanner's effective energy. The effective
energy is an assumption: 70 keV by default, the middle of the 60–75 keV that 120 kVp beams behind different
bowtie filters give (the simulator's scanners span 62–75 keV). Over 62–75 keV muscle's equivalent density
moves from 28 to 36 mg/cm³ and fat's from −55 to −61, so the slope found is uncertain by about ±8 % on top
of how well real fat and muscle match the ICRU compositions (real subcutaneous fat often reads lower than
ICRU adipose predicts). Air is not used: it is often clipped at −1024 HU, and its equivalent density
(−500 to −670 mg/cm³) depends on the energy far more strongly.

Each tissue's CT number is the peak of the HU histogram of the central slices (smoothed in-plane by a
1.5 mm Gaussian), searched between −200 and −40 HU for fat (the highest peak) and between 10 and 120 HU
for muscle (the lowest peak at least half as high as the highest there, since organs such as the liver
and spleen read higher than muscle, the more so with contrast medium).
Every phantomless calibration carries the flag "phantomless: less accurate".
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from hipbmd.calibration.fit import plausible_line
from hipbmd.calibration.result import Calibration, ReferenceTissue
from hipbmd.errors import InputError
from hipbmd.physics.xray import HA_CRYSTAL_MG_CM3, mass_attenuation_cm2_g, nominal_density_g_cm3
from hipbmd.types import Volume

DEFAULT_EFFECTIVE_ENERGY_KEV = 70.0
SEARCH_HU = {"fat": (-200.0, -40.0), "muscle": (10.0, 120.0)}
TABLE_MATERIAL = {"fat": "fat", "muscle": "soft"}  # physics-table names (ICRU-44 adipose and muscle)
SMOOTHING_MM = 1.5
BIN_HU = 1.0
PEAK_HALF_WIDTH_HU = 15.0  # voxels counted for a reference lie this close to its peak
MIN_FRACTION = 0.01  # a reference holds at least this share of the voxels between −250 and 200 HU
PHANTOMLESS_FLAG = "phantomless: less accurate"


def ha_equivalent_mg_cm3(tissue: str, effective_energy_kev: float) -> float:
    """HA-equivalent density (mg/cm³) of "fat" or "muscle" at an energy (formula in the module docstring)."""
    material = TABLE_MATERIAL[tissue]
    mu_tissue = float(mass_attenuation_cm2_g(material, effective_energy_kev)) * nominal_density_g_cm3(
        material
    )
    mu_water = float(mass_attenuation_cm2_g("water", effective_energy_kev))
    # HA in a water-equivalent base displaces its own volume of water (crystal density 3.16 g/cm³)
    per_g_ha = float(mass_attenuation_cm2_g("ha", effective_energy_kev)) - mu_water / (
        HA_CRYSTAL_MG_CM3 / 1000.0
    )
    return 1000.0 * (mu_tissue - mu_water) / per_g_ha


def phantomless_calibration(
    volume: Volume, source: str = "CT", effective_energy_kev: float = DEFAULT_EFFECTIVE_ENERGY_KEV
) -> Calibration:
    """Calibrate a HU volume on its own fat and muscle (always flagged as less accurate).

    Raises:
        InputError: fat or muscle cannot be told from the histogram, or they give a line no scanner gives.
    """
    values = _smoothed_central_hu(volume)
    references = [_reference(values, name, effective_energy_kev, source) for name in ("fat", "muscle")]
    fat, muscle = references
    slope = (muscle.mean_hu - fat.mean_hu) / (muscle.density_mg_cm3 - fat.density_mg_cm3)
    intercept = muscle.mean_hu - slope * muscle.density_mg_cm3
    if not plausible_line(slope, intercept):
        line = f"{slope:.3f} HU per mg/cm3, intercept {intercept:.1f} HU"
        raise InputError(source, f"phantomless calibration gives an implausible line ({line})")
    assumption = f"an assumed effective energy of {effective_energy_kev:g} keV"
    flags = (PHANTOMLESS_FLAG, f"fat and muscle taken as ICRU-44 tissues at {assumption}")
    return Calibration(
        "phantomless",
        float(slope),
        float(intercept),
        references=tuple(references),
        flags=flags,
        details={"effective_energy_kev": float(effective_energy_kev)},
        source=source,
    )


def _smoothed_central_hu(volume: Volume) -> npt.NDArray[np.float64]:
    """HU of the central half of the slices, each smoothed in-plane, between −250 and 200 HU."""
    depth = volume.shape[2]
    keep = max(depth // 2, 1)
    block = np.asarray(volume.array[:, :, (depth - keep) // 2 : (depth - keep) // 2 + keep], np.float64)
    sx, sy, _ = volume.spacing_mm
    smoothed = ndimage.gaussian_filter(block, (SMOOTHING_MM / sx, SMOOTHING_MM / sy, 0.0))
    return np.asarray(smoothed[(smoothed > -250.0) & (smoothed < 200.0)])


def _reference(
    values: npt.NDArray[np.float64], name: str, effective_energy_kev: float, source: str
) -> ReferenceTissue:
    """The histogram peak of one tissue in its search window."""
    low, high = SEARCH_HU[name]
    edges = np.arange(low - 20.0, high + 20.0 + BIN_HU, BIN_HU)
    counts, _ = np.histogram(values, edges)
    smooth = ndimage.gaussian_filter1d(counts.astype(np.float64), 2.0 / BIN_HU)
    centres = (edges[:-1] + edges[1:]) / 2
    window = np.flatnonzero((centres >= low) & (centres <= high))
    k = int(window[np.argmax(smooth[window])])
    if name == "muscle":  # the lowest strong peak: organs (liver, spleen, enhanced vessels) read higher
        peaks = [i for i in window[1:-1] if smooth[i] >= max(smooth[i - 1], smooth[i + 1], 0.5 * smooth[k])]
        k = int(peaks[0]) if peaks else k
    near = int(np.sum(np.abs(values - centres[k]) <= PEAK_HALF_WIDTH_HU))
    if k in (window[0], window[-1]) or near < MIN_FRACTION * values.size:
        raise InputError(source, f"phantomless calibration: no {name} peak between {low:g} and {high:g} HU")
    offset = _vertex(smooth[k - 1], smooth[k], smooth[k + 1])
    peak_hu = float(centres[k] + offset * BIN_HU)
    return ReferenceTissue(name, peak_hu, ha_equivalent_mg_cm3(name, effective_energy_kev), near)


def _vertex(low: float, mid: float, high: float) -> float:
    curvature = low - 2.0 * mid + high
    return 0.0 if curvature >= 0 else float(np.clip(0.5 * (low - high) / curvature, -0.5, 0.5))
