"""Radiograph formation from per-material line integrals on the detector grid, and the DX file's record.

:func:`expose` turns the mass per area each ray crosses (g/cm², source to detector pixel) into the energy the
detector absorbs per pixel, keV:

1. primary, polychromatic: P = mAs·T_p·c(x)·a·Σ_E Φ(E)·η(E)·E·exp(−Σ_m (μ/ρ)_m(E)·A_m), with Φ the tube
   fluence per mm² per mAs at 1 m, c(x) = (1000/SID)²·cos³θ the inverse square and obliquity to the pixel
   (θ the ray's angle to the central ray, taken through the image centre), times the heel-effect ramp,
   a the pixel area (mm²), T_p the grid's primary transmission;
2. scatter: a broad Gaussian (σ 40 mm) of SPR(t)·P/T_p, times the grid's scatter transmission T_s, with
   SPR(t) = 0.21/cm·t·(1 − exp(−s/150 mm)) growing with the water-equivalent thickness t of the ray and the
   field size s (√area); ~4 at 20 cm for a 35 × 43 cm field without a grid, as typical for the pelvis;
3. automatic exposure control (if the site has it): mAs chosen so that the central third of the field gets
   the target detector air kerma (calibrated with the RQA5 beam);
4. noise and blur: quantum noise, Gaussian with variance = mean in absorbed-quanta units (photon counts of
   hundreds to thousands per pixel), plus electronic noise, blurred by the detector PSF; the mean signal is
   blurred by the PSF and the pixel aperture (σ = pitch/√12), for line integrals sampled at pixel centres.

:func:`hipbmd.sim.processing.process` then makes the stored image; :func:`simulate_radiograph` does both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from hipbmd.io.dicom_dx import DXAcquisition
from hipbmd.sim.beam import LINE_INTEGRAL_MATERIALS, Beam, beam_for
from hipbmd.sim.processing import process
from hipbmd.sim.sites import SiteProfile
from hipbmd.sim.smoothing import gaussian_smooth

Image = npt.NDArray[np.float32]

SCATTER_SIGMA_MM = 40.0
SPR_PER_CM = 0.21
SPR_FIELD_SCALE_MM = 150.0
# Focused lead grids, ~40 lines/cm, 70–90 kVp: (ratio, primary transmission, scatter transmission). Typical
# values of the ranges in the IAEA handbook (Dance et al. 2014, §6.3.4); None means no grid.
_GRIDS = ((6.0, 0.74, 0.25), (8.0, 0.71, 0.17), (10.0, 0.68, 0.12), (12.0, 0.66, 0.09), (16.0, 0.62, 0.06))
_AEC_MAS_RANGE = (0.5, 500.0)
_CHUNK_PIXELS = 16384


@dataclass(frozen=True, eq=False)
class Exposure:
    """The detector signal of one exposure, before the site's processing.

    Attributes:
        signal_kev: (H, W) absorbed energy per pixel, keV, with noise and blur.
        direct_signal_kev: noiseless absorbed energy per pixel of the unattenuated beam (primary, behind
            the grid) at the image centre, keV: the reference of the log transform.
        kev_per_quantum: absorbed energy per detected quantum for noise purposes, keV.
        mas: the tube current–time product used, mAs.
    """

    signal_kev: Image
    direct_signal_kev: float
    kev_per_quantum: float
    mas: float


def grid_transmission(grid_ratio: float | None) -> tuple[float, float]:
    """(primary, scatter) transmission of an anti-scatter grid, interpolated in the ratio; (1, 1) for none."""
    if grid_ratio is None:
        return 1.0, 1.0
    ratios, primary, scatter = (np.array(column) for column in zip(*_GRIDS, strict=True))
    return float(np.interp(grid_ratio, ratios, primary)), float(np.interp(grid_ratio, ratios, scatter))


def expose(
    line_integrals_g_cm2: Mapping[str, npt.ArrayLike],
    pixel_spacing_mm: float | tuple[float, float],
    sid_mm: float,
    profile: SiteProfile,
    rng: np.random.Generator,
) -> Exposure:
    """Expose the detector of a site to rays with the given mass per area of each material.

    Args:
        line_integrals_g_cm2: material (among ha, soft, fat, titanium, cobalt_chrome) → (H, W) mass per
            area along the ray from the source to each detector pixel, g/cm²; absent materials are zero.
        pixel_spacing_mm: detector pixel spacing, (row, col) or one value, mm.
        sid_mm: source–image distance, mm.
        profile: the site.
        rng: the only source of randomness (noise).
    """
    stack, shape = _stack_line_integrals(line_integrals_g_cm2)
    spacing = _pair(pixel_spacing_mm)
    if sid_mm <= 0 or min(spacing) <= 0:
        raise ValueError("the SID and the pixel spacing must be positive")
    beam = beam_for(profile.technique, profile.detector)
    primary_t, scatter_t = grid_transmission(profile.technique.grid_ratio)
    fluence = _relative_fluence(shape, spacing, sid_mm, profile.technique.heel_gradient)
    pixel_area_mm2 = spacing[0] * spacing[1]
    primary = _transmitted_kev_per_mm2_per_mas(stack, beam).reshape(shape) * fluence * pixel_area_mm2
    scatter = _scatter(primary, stack, shape, beam, spacing)
    mean_per_mas = primary * primary_t + scatter * scatter_t
    mas = _mas(profile, beam, mean_per_mas, pixel_area_mm2)
    direct = (
        float(beam.weights_kev_per_mm2_per_mas.sum()) * (1000.0 / sid_mm) ** 2 * pixel_area_mm2 * primary_t
    )
    signal = _detect(mean_per_mas * np.float32(mas), beam.kev_per_quantum, profile, spacing, rng)
    return Exposure(signal, direct * mas, beam.kev_per_quantum, mas)


def simulate_radiograph(
    line_integrals_g_cm2: Mapping[str, npt.ArrayLike],
    pixel_spacing_mm: float | tuple[float, float],
    sid_mm: float,
    profile: SiteProfile,
    rng: np.random.Generator,
) -> Image:
    """The stored, bone-bright (H, W) image a site makes of the rays: :func:`expose`, then ``process``."""
    exposure = expose(line_integrals_g_cm2, pixel_spacing_mm, sid_mm, profile, rng)
    return process(exposure, profile.processing, pixel_spacing_mm)


def dx_acquisition(
    profile: SiteProfile,
    sid_mm: float,
    sod_mm: float | None,
    pixel_spacing_mm: float | tuple[float, float],
    age_years: float | None = None,
    sex: Literal["M", "F", "O"] | None = None,
    laterality: Literal["left", "right", "both"] = "both",
    calibrated_spacing_mm: tuple[float, float] | None = None,
) -> DXAcquisition:
    """What the site's DX file records: geometry, presentation, bit depth, photometry, patient, device.

    ``sod_mm`` is the DistanceSourceToPatient the device writes (tabletop or entrance surface; None for
    none) and ``calibrated_spacing_mm`` a PixelSpacing calibrated at the hip's plane, if the site writes
    one. ``laterality`` is "both" for an AP pelvis and the imaged side for an AP hip; body part follows
    the view. Intensities are log-related in both presentations (raw −log signal, or processed log image).
    """
    if profile.view == "AP pelvis" and laterality != "both":
        raise ValueError("an AP pelvis shows both hips: laterality must be 'both'")
    if profile.view == "AP hip" and laterality == "both":
        raise ValueError("an AP hip shows one side: laterality must be 'left' or 'right'")
    processing = profile.processing
    return DXAcquisition(
        pixel_spacing_mm=_pair(pixel_spacing_mm),
        sid_mm=float(sid_mm),
        sod_mm=None if sod_mm is None else float(sod_mm),
        presentation=processing.presentation,
        intensity_relationship="LOG",
        view="AP",
        laterality=laterality,
        age_years=age_years,
        sex=sex,
        body_part=profile.body_part,
        manufacturer=profile.manufacturer,
        institution=profile.institution,
        bits_stored=processing.bits_stored,
        monochrome1=processing.monochrome1,
        calibrated_spacing_mm=calibrated_spacing_mm,
    )


def _pair(spacing_mm: float | tuple[float, float]) -> tuple[float, float]:
    if isinstance(spacing_mm, int | float):
        return float(spacing_mm), float(spacing_mm)
    return float(spacing_mm[0]), float(spacing_mm[1])


def _stack_line_integrals(
    line_integrals_g_cm2: Mapping[str, npt.ArrayLike],
) -> tuple[npt.NDArray[np.float32], tuple[int, int]]:
    """(n, M) float32 matrix of the line integrals (M = all materials), and the image shape."""
    unknown = set(line_integrals_g_cm2) - set(LINE_INTEGRAL_MATERIALS)
    if unknown or not line_integrals_g_cm2:
        raise ValueError(f"line integrals must be given for some of {LINE_INTEGRAL_MATERIALS}, got {unknown}")
    arrays = {name: np.asarray(value, dtype=np.float32) for name, value in line_integrals_g_cm2.items()}
    shapes = {array.shape for array in arrays.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise ValueError(f"line integrals must be 2-D arrays of one shape, got {shapes}")
    shape = next(iter(shapes))
    stack = np.zeros((shape[0] * shape[1], len(LINE_INTEGRAL_MATERIALS)), dtype=np.float32)
    for index, name in enumerate(LINE_INTEGRAL_MATERIALS):
        if name in arrays:
            stack[:, index] = arrays[name].ravel()
    if not np.all(np.isfinite(stack)) or stack.min() < 0:
        raise ValueError("line integrals must be finite and non-negative")
    return stack, (int(shape[0]), int(shape[1]))


def _transmitted_kev_per_mm2_per_mas(stack: npt.NDArray[np.float32], beam: Beam) -> Image:
    """Σ_E w(E)·exp(−Σ_m (μ/ρ)_m(E)·A_m) per ray, in chunks that stay in cache, keV/mm²/mAs at 1 m.

    Materials that no ray crosses are left out of the product.
    """
    used = np.flatnonzero(stack.any(axis=0))
    negative_mu = -beam.mu_rho_cm2_g[used]  # (M', B)
    weights = beam.weights_kev_per_mm2_per_mas.astype(np.float32)
    out = np.empty(stack.shape[0], dtype=np.float32)
    if used.size == 0:
        out.fill(weights.sum())
        return out
    columns = np.ascontiguousarray(stack[:, used])
    for start in range(0, columns.shape[0], _CHUNK_PIXELS):
        exponent = columns[start : start + _CHUNK_PIXELS] @ negative_mu
        np.exp(exponent, out=exponent)
        np.matmul(exponent, weights, out=out[start : start + _CHUNK_PIXELS])
    return out


def _relative_fluence(
    shape: tuple[int, int], spacing_mm: tuple[float, float], sid_mm: float, heel_gradient: float
) -> Image:
    """(1000/SID)²·cos³θ·heel ramp per pixel: fluence relative to 1 m on the central ray."""
    rows = (np.arange(shape[0], dtype=np.float32) - (shape[0] - 1) / 2) * spacing_mm[0]
    cols = (np.arange(shape[1], dtype=np.float32) - (shape[1] - 1) / 2) * spacing_mm[1]
    cos_theta = sid_mm / np.sqrt(sid_mm**2 + rows[:, None] ** 2 + cols[None, :] ** 2, dtype=np.float32)
    heel = 1.0 + heel_gradient * (np.arange(shape[0], dtype=np.float32) / max(shape[0] - 1, 1) - 0.5)
    return np.asarray(cos_theta**3 * ((1000.0 / sid_mm) ** 2 * heel)[:, None], dtype=np.float32)


def _scatter(
    primary: Image,
    stack: npt.NDArray[np.float32],
    shape: tuple[int, int],
    beam: Beam,
    spacing: tuple[float, float],
) -> Image:
    """Scatter reaching the grid per mAs: Gaussian(σ 40 mm) of SPR(water-equivalent thickness)·primary."""
    water_cm = (stack @ beam.water_equivalence.astype(np.float32)).reshape(shape)
    field_mm = float(np.sqrt(shape[0] * spacing[0] * shape[1] * spacing[1]))
    spr_per_cm = SPR_PER_CM * (1.0 - np.exp(-field_mm / SPR_FIELD_SCALE_MM))
    sigma_px = SCATTER_SIGMA_MM / float(np.sqrt(spacing[0] * spacing[1]))
    return gaussian_smooth(primary * water_cm * np.float32(spr_per_cm), sigma_px)


def _mas(profile: SiteProfile, beam: Beam, mean_per_mas: Image, pixel_area_mm2: float) -> float:
    """The technique's mAs, or the AEC's: target kerma over the signal per mAs in the central third."""
    technique = profile.technique
    if technique.aec_detector_ugy is None:
        return technique.mas
    rows, cols = mean_per_mas.shape
    centre = mean_per_mas[rows // 3 : rows - rows // 3, cols // 3 : cols - cols // 3]
    target_kev = technique.aec_detector_ugy * beam.kev_per_mm2_per_ugy * pixel_area_mm2
    return float(np.clip(target_kev / max(float(centre.mean()), 1e-12), *_AEC_MAS_RANGE))


def _detect(
    mean_kev: Image,
    kev_per_quantum: float,
    profile: SiteProfile,
    spacing: tuple[float, float],
    rng: np.random.Generator,
) -> Image:
    """Blurred mean plus blurred noise: quantum (variance = mean quanta) and electronic, in keV."""
    detector = profile.detector
    pitch = float(np.sqrt(spacing[0] * spacing[1]))
    psf_px = detector.blur_sigma_mm / pitch
    mean = gaussian_smooth(mean_kev, float(np.hypot(psf_px, 1.0 / np.sqrt(12.0))))
    quanta = np.maximum(mean, 0.0) / np.float32(kev_per_quantum)
    sigma = np.sqrt(quanta + np.float32(detector.electronic_noise_quanta**2)) * np.float32(kev_per_quantum)
    noise = rng.standard_normal(mean.shape, dtype=np.float32) * sigma
    return np.asarray(mean + gaussian_smooth(noise, psf_px), dtype=np.float32)
