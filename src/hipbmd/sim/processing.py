"""A site's image processing, from the detector signal to the stored bone-bright image.

FOR PROCESSING: the raw log read-out, −log10(signal / saturation) over four decades scaled to the bit depth
(saturation twice the unattenuated signal), as DX "for processing" images are log-linear in exposure.

FOR PRESENTATION, as vendors' pipelines do in outline:
1. log: attenuation a = ln(direct / signal), so bone is bright;
2. band re-weighting: a' = Σ_k c(g_k·d_k) + g_base·base, with d_0 = a − G(r_0)∗a,
   d_k = G(r_{k−1})∗a − G(r_k)∗a and base = G(r_last)∗a (G(r) a Gaussian of σ r mm): unsharp masking or
   multi-scale equalisation; c is the identity or a soft limiter of large band amplitudes, which keeps the
   skin line and other large steps from ringing into halos once the base is compressed;
3. window: two percentiles of the relevant anatomy (pixels whose attenuation exceeds 10 % and half the
   image's 99th percentile, i.e. neither the direct beam nor the thin skin margin) mapped to two levels of
   [0, 1], e.g. the median to mid-grey and the densest bone to near white, as histogram-based exposure
   recognition does; values outside [0, 1] are clipped;
4. tone curve: linear, gamma, sigmoid or film-like (tabulated characteristic curve);
5. quantisation to the bit depth: integers 0 … 2^bits − 1, returned as float32.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from hipbmd.sim.sites import Processing, ToneCurve
from hipbmd.sim.smoothing import gaussian_smooth

if TYPE_CHECKING:
    from hipbmd.sim.xray import Exposure

Image = npt.NDArray[np.float32]

RAW_DECADES = 4.0
ANATOMY_MIN_ATTENUATION = 0.1
RELEVANT_FRACTION = 0.5  # relevant anatomy: attenuation above this fraction of the 99th percentile
_PERCENTILE_STRIDE = 4  # percentiles from every 4th row and column: ample for a 1000-pixel-wide image
_FILM_LUT_SIZE = 4096


def process(
    exposure: Exposure, processing: Processing, pixel_spacing_mm: float | tuple[float, float]
) -> Image:
    """The stored image, bone bright (MONOCHROME1 inversion is the DX writer's job)."""
    signal = np.maximum(exposure.signal_kev, np.float32(exposure.direct_signal_kev * 1e-6))
    if processing.presentation == "FOR PROCESSING":
        return raw_log(signal, exposure.direct_signal_kev, processing.bits_stored)
    attenuation = np.log(np.float32(exposure.direct_signal_kev) / signal)
    row_mm, col_mm = (
        (pixel_spacing_mm,) * 2 if isinstance(pixel_spacing_mm, int | float) else pixel_spacing_mm
    )
    pitch_mm = float(np.sqrt(row_mm * col_mm))
    radii_px = tuple(radius / pitch_mm for radius in processing.detail_radii_mm)
    image = reweight_bands(
        attenuation, radii_px, processing.detail_gains, processing.base_gain, processing.detail_limit
    )
    low, high = window_limits(image, attenuation, processing.window_percentiles, processing.window_levels)
    unit = np.clip((image - np.float32(low)) / np.float32(max(high - low, 1e-6)), 0.0, 1.0)
    shaped = tone_curve(unit, processing.tone_curve, processing.tone_parameter)
    return quantise(shaped, processing.bits_stored)


def raw_log(signal_kev: Image, direct_signal_kev: float, bits_stored: int) -> Image:
    """Raw log read-out: (2^bits − 1)·log10(saturation / signal)/4 decades, clipped and rounded."""
    top = 2**bits_stored - 1
    decades = np.log10(np.float32(2.0 * direct_signal_kev) / signal_kev)
    return np.asarray(np.round(np.clip(decades * np.float32(top / RAW_DECADES), 0, top)), dtype=np.float32)


def reweight_bands(
    image: Image,
    radii_px: tuple[float, ...],
    gains: tuple[float, ...],
    base_gain: float,
    detail_limit: float | None = None,
) -> Image:
    """Σ_k c(g_k·(band k)) + base_gain·(coarsest low-pass); radii increasing, σ in pixels.

    c is the identity, or with ``detail_limit`` L the soft limiter c(x) = x / √(1 + (x/L)²).
    """
    if len(radii_px) != len(gains):
        raise ValueError("one gain per band radius")
    out = np.zeros_like(image)
    finer = image
    for radius, gain in zip(radii_px, gains, strict=True):
        coarser = gaussian_smooth(image, radius)
        out += soft_limit(np.float32(gain) * (finer - coarser), detail_limit)
        finer = coarser
    out += np.float32(base_gain) * finer
    return out


def soft_limit(detail: Image, limit: float | None) -> Image:
    """x / √(1 + (x/L)²): linear for |x| ≪ L, never beyond ±L; the identity if ``limit`` is None.

    Compressing large band amplitudes (skin line, collimator edges) while keeping small ones (trabeculae,
    cortices) is what keeps multi-scale processing free of halos (Vuylsteke & Schoeters, *Proc. SPIE*
    2167:551, 1994, use a power law to the same end).
    """
    if limit is None:
        return detail
    return np.asarray(detail / np.sqrt(1.0 + np.square(detail / np.float32(limit))), dtype=np.float32)


def window_limits(
    image: Image,
    attenuation: Image,
    percentiles: tuple[float, float],
    levels: tuple[float, float] = (0.0, 1.0),
) -> tuple[float, float]:
    """The window [low, high] that maps two percentiles of the relevant anatomy to two levels of [0, 1].

    The percentiles are those of the processed image over the pixels whose attenuation exceeds both 10 %
    and half the image's 99th percentile (all pixels if fewer than 16 do); with levels (0, 1) the two
    percentiles are the window itself.
    """
    if not 0.0 <= levels[0] < levels[1] <= 1.0:
        raise ValueError(f"window levels must increase within [0, 1], got {levels}")
    stride = (slice(None, None, _PERCENTILE_STRIDE),) * 2
    sample, sample_attenuation = image[stride], attenuation[stride]
    densest = float(np.percentile(sample_attenuation, 99.0))
    anatomy = sample[sample_attenuation > max(ANATOMY_MIN_ATTENUATION, RELEVANT_FRACTION * densest)]
    values = anatomy if anatomy.size >= 16 else sample.ravel()
    first, second = (float(v) for v in np.percentile(values, percentiles))
    per_level = max(second - first, 1e-6) / (levels[1] - levels[0])
    return first - levels[0] * per_level, second + (1.0 - levels[1]) * per_level


def tone_curve(unit: Image, curve: ToneCurve, parameter: float) -> Image:
    """Map [0, 1] onto [0, 1], increasing: x, x^γ, a logistic of slope k, or the film-like LUT."""
    if curve == "linear":
        return unit
    if curve == "gamma":
        return np.asarray(unit ** np.float32(parameter), dtype=np.float32)
    if curve == "sigmoid":
        return _normalised_logistic(unit, parameter)
    if curve == "film":
        grid = np.linspace(0.0, 1.0, _FILM_LUT_SIZE)
        return np.interp(unit, grid, film_characteristic(grid, parameter)).astype(np.float32)
    raise ValueError(f"unknown tone curve {curve!r}")


def film_characteristic(unit: npt.NDArray[np.float64], contrast: float) -> npt.NDArray[np.float64]:
    """An H&D-like curve on [0, 1], normalised to [0, 1]: an asymmetric S (Richards curve, shape 0.5).

    Its slow end is the bright one, as film's toe is at low exposure (bone); the dark end is steeper.
    """
    values = (1.0 + 0.5 * np.exp(-contrast * (np.asarray(unit) - 0.55))) ** (-1.0 / 0.5)
    ends = (1.0 + 0.5 * np.exp(-contrast * (np.array([0.0, 1.0]) - 0.55))) ** (-1.0 / 0.5)
    return np.asarray((values - ends[0]) / (ends[1] - ends[0]), dtype=np.float64)


def _normalised_logistic(unit: Image, slope: float) -> Image:
    logistic = 1.0 / (1.0 + np.exp(-np.float32(slope) * (unit - np.float32(0.5))))
    low, high = 1.0 / (1.0 + np.exp(slope / 2)), 1.0 / (1.0 + np.exp(-slope / 2))
    return np.asarray((logistic - np.float32(low)) / np.float32(high - low), dtype=np.float32)


def quantise(unit: Image, bits_stored: int) -> Image:
    """Integers 0 … 2^bits − 1 of a [0, 1] image, as float32."""
    top = np.float32(2**bits_stored - 1)
    return np.asarray(np.round(np.clip(unit, 0.0, 1.0) * top), dtype=np.float32)
