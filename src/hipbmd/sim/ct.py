"""Simulated quantitative CT: CT numbers from the materials, a scanner's response, blur, noise, resampling.

CT numbers follow from the basis materials at the scanner's effective energy, HU = 1000·(μ/μ_water − 1),
so bone mineral, marrow fat, soft tissue and the phantom's rods each get the CT number their attenuation
gives. Each scanner then adds its own linear response (a gain and an offset that a calibration phantom
exists to remove), an in-plane point-spread function, a slice profile (FWHM = slice thickness), quantum
noise that grows with the patient's size, and 12-bit storage (−1024…3071 HU). Metal streak artefacts are
not simulated: metal saturates at the top of the range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from hipbmd.physics.xray import mass_attenuation_cm2_g
from hipbmd.sim.grid import Grid
from hipbmd.sim.label_sampling import plurality_labels
from hipbmd.sim.phantom_rods import PhantomSlab
from hipbmd.sim.resampling import linear_on_lattice
from hipbmd.sim.tissues import Tissues
from hipbmd.types import Volume

Array = npt.NDArray[np.float32]
HU_RANGE = (-1024.0, 3071.0)
NOISE_CORRELATION_PX = 0.6  # in-plane correlation of CT noise (reconstruction kernel), voxels


@dataclass(frozen=True)
class Scanner:
    """A CT scanner and its hip protocol.

    Attributes:
        name: identifier.
        manufacturer: free text written into DICOM.
        effective_energy_kev: energy at which the polychromatic beam behaves like a monochromatic one.
        hu_gain, hu_offset: the scanner's linear CT-number response (before calibration).
        pixel_mm: in-plane voxel size.
        slice_mm: slice thickness and spacing.
        blur_mm: σ of the in-plane point-spread function.
        noise_hu: noise σ in water for a 350 mm wide patient.
        file_format: "nifti" or "dicom".
        phantom: the calibration phantom's name (see :mod:`hipbmd.calibration.phantoms`).
    """

    name: str
    manufacturer: str
    effective_energy_kev: float
    hu_gain: float
    hu_offset: float
    pixel_mm: float
    slice_mm: float
    blur_mm: float
    noise_hu: float
    file_format: Literal["nifti", "dicom"]
    phantom: str


def attenuation_weights(energy_kev: float) -> dict[str, float]:
    """μ/ρ of each material relative to water at one energy (the factor of its density in μ/μ_water)."""
    water = float(mass_attenuation_cm2_g("water", energy_kev))
    materials = ("ha", "k2hpo4", "soft", "fat", "water", "titanium", "cobalt_chrome")
    return {m: float(mass_attenuation_cm2_g(m, energy_kev)) / water for m in materials}


def true_hu(tissues: Tissues, phantom: PhantomSlab | None, energy_kev: float, z_slice: slice) -> Array:
    """Noise-free CT numbers of the slices ``z_slice`` of the tissues (plus the phantom), HU."""
    w = attenuation_weights(energy_kev)
    relative = w["ha"] * 1e-3 * tissues.mineral_mg_cm3[:, :, z_slice]
    term = np.empty_like(relative)  # each material's part, added in place: no slab-sized temporaries
    materials = [("soft", tissues.soft_g_cm3), ("fat", tissues.fat_g_cm3), *tissues.metal_g_cm3.items()]
    for material, values in materials:
        relative += np.multiply(np.float32(w[material]), values[:, :, z_slice], out=term)
    del term
    if phantom is not None:
        plane = w[phantom.material] * 1e-3 * phantom.mineral_mg_cm3 + w["water"] * phantom.water_g_cm3
        relative += (plane + w["soft"] * phantom.table_g_cm3)[:, :, None]
    relative -= np.float32(1.0)
    relative *= np.float32(1000.0)
    return relative


def ct_grid(grid: Grid, scanner: Scanner, z_range_mm: tuple[float, float]) -> Grid:
    """The scanner's voxel grid over the working grid's cross-section and the scanned height."""
    low = np.asarray(grid.origin_mm) - np.asarray(grid.spacing_mm) / 2
    high = low + np.asarray(grid.shape) * np.asarray(grid.spacing_mm)
    low[2], high[2] = z_range_mm
    return Grid.covering(low, high, (scanner.pixel_mm, scanner.pixel_mm, scanner.slice_mm))


def simulate_ct(
    tissues: Tissues,
    phantom: PhantomSlab | None,
    scanner: Scanner,
    z_range_mm: tuple[float, float],
    body_width_mm: float,
    rng: np.random.Generator,
    gain_drift: float = 0.0,
) -> tuple[Volume, Volume]:
    """The CT (HU, int16-valued float32) and its label map, both on the scanner's grid (each CT voxel
    labelled with the structure that fills most of it, :mod:`hipbmd.sim.label_sampling`)."""
    work = tissues.grid
    target = ct_grid(work, scanner, z_range_mm)
    margin = int(np.ceil(3 * scanner.slice_mm / work.spacing_mm[2])) + 1
    z0 = int(np.floor((z_range_mm[0] - work.origin_mm[2]) / work.spacing_mm[2])) - margin
    z1 = int(np.ceil((z_range_mm[1] - work.origin_mm[2]) / work.spacing_mm[2])) + margin
    z_slice = slice(max(z0, 0), min(z1, work.shape[2]))
    hu = true_hu(tissues, phantom, scanner.effective_energy_kev, z_slice)
    sigma = (
        scanner.blur_mm / work.spacing_mm[0],
        scanner.blur_mm / work.spacing_mm[1],
        scanner.slice_mm / 2.355 / work.spacing_mm[2],
    )
    ndimage.gaussian_filter(hu, sigma, output=hu, mode="nearest")  # in place: one slab less in memory
    origin = np.asarray(work.origin_mm) + np.array([0.0, 0.0, z_slice.start * work.spacing_mm[2]])
    positions = [
        (np.arange(n) * step + start - first) / spacing
        for n, step, start, first, spacing in zip(
            target.shape, target.spacing_mm, target.origin_mm, origin, work.spacing_mm, strict=True
        )
    ]
    values = linear_on_lattice(hu, positions)
    widths = [t / w for t, w in zip(target.spacing_mm, work.spacing_mm, strict=True)]
    labels = plurality_labels(
        tissues.structure[:, :, z_slice], tissues.coverage[:, :, z_slice], positions, widths
    )
    gain = scanner.hu_gain * (1.0 + gain_drift)
    values = gain * values + scanner.hu_offset + _noise(target.shape, scanner, body_width_mm, rng)
    stored = np.clip(np.round(values), *HU_RANGE).astype(np.float32)
    meta = {"scanner": scanner.name, "effective_energy_kev": scanner.effective_energy_kev}
    return Volume(stored, target.affine, "HU", meta), Volume(
        labels.astype(np.uint8), target.affine, "label", {}
    )


def _noise(
    shape: tuple[int, int, int], scanner: Scanner, body_width_mm: float, rng: np.random.Generator
) -> Array:
    """Slightly correlated Gaussian noise whose σ grows with patient width (attenuation of the beam)."""
    sigma = scanner.noise_hu * (body_width_mm / 350.0) ** 1.5
    white = rng.standard_normal(shape, dtype=np.float32)
    correlated = ndimage.gaussian_filter(white, (NOISE_CORRELATION_PX, NOISE_CORRELATION_PX, 0.0))
    return np.asarray(correlated * np.float32(sigma / _filtered_noise_sd(NOISE_CORRELATION_PX)), np.float32)


def _filtered_noise_sd(sigma_px: float) -> float:
    """SD of unit white noise after the in-plane Gaussian filter (from the filter's own weights)."""
    impulse = np.zeros((15, 15), np.float64)
    impulse[7, 7] = 1.0
    kernel = ndimage.gaussian_filter(impulse, sigma_px)
    return float(np.sqrt(np.sum(kernel**2)))
