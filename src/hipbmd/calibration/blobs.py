"""Round blobs in a 2-D image: multi-scale, scale-normalised Laplacian of Gaussian.

For a uniform disc of radius r and contrast C (HU above its surroundings), the response
R_σ = −σ²·∇²(G_σ ∗ image) at the disc's centre is C·(r²/σ²)·exp(−r²/2σ²), largest at σ = r/√2,
where it is 2/e·C ≈ 0.74·C (Lindeberg, "Feature detection with automatic scale selection",
Int J Comput Vis 30:79–116, 1998, for the scale normalisation). Bright blobs give maxima of R over
position and scale, dark blobs minima. Straight edges give extrema too; they are told apart by the
Hessian, whose two eigenvalues are equal at a disc's centre and one of which vanishes on an edge (the
edge test of Lowe, Int J Comput Vis 60:91–110, 2004, section 4.1). σ is in mm, so pixels need not be
square.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

FloatImage = npt.NDArray[np.float64]
DISC_RESPONSE = 2.0 / np.e  # R at the best scale per HU of a disc's contrast
NOISE_FACTOR = 6.0  # a blob must stand this many noise SDs of R above the noise
ROUNDNESS = 0.5  # smaller / larger principal curvature at a blob's centre: 1 for a disc, 0 for an edge


@dataclass(frozen=True)
class Blob:
    """A round blob found in an image.

    Attributes:
        i, j: fractional pixel position of its centre (first and second image axes).
        radius_mm: the disc radius its best scale corresponds to (σ·√2), a first estimate.
        contrast_hu: its contrast against the surroundings, estimated as R / 0.74 (signed: dark < 0).
    """

    i: float
    j: float
    radius_mm: float
    contrast_hu: float


def _derivative(
    image: FloatImage, spacing_mm: tuple[float, float], sigma_mm: float, order: tuple[int, int]
) -> FloatImage:
    """A Gaussian-smoothed partial derivative of the image in mm (e.g. order (2, 0): ∂²/∂x²)."""
    sigma_px = (sigma_mm / spacing_mm[0], sigma_mm / spacing_mm[1])
    scale = spacing_mm[0] ** order[0] * spacing_mm[1] ** order[1]
    return np.asarray(ndimage.gaussian_filter(image, sigma_px, order=order, mode="nearest") / scale)


def normalised_log(image: FloatImage, spacing_mm: tuple[float, float], sigma_mm: float) -> FloatImage:
    """R = −σ²·∇²(G_σ ∗ image), with σ and the derivatives in mm (positive on bright blobs)."""
    d2i = _derivative(image, spacing_mm, sigma_mm, (2, 0))
    d2j = _derivative(image, spacing_mm, sigma_mm, (0, 2))
    return np.asarray(-(sigma_mm**2) * (d2i + d2j), np.float64)


def _roundness(image: FloatImage, spacing_mm: tuple[float, float], sigma_mm: float) -> FloatImage:
    """Ratio of the smaller to the larger Hessian eigenvalue magnitude (negative when they differ in sign)."""
    hii, hjj, hij = (_derivative(image, spacing_mm, sigma_mm, o) for o in ((2, 0), (0, 2), (1, 1)))
    mean, spread = (hii + hjj) / 2, np.hypot((hii - hjj) / 2, hij)
    low, high = mean - spread, mean + spread
    larger = np.maximum(np.abs(low), np.abs(high))
    return np.asarray(np.where(larger > 0, low * high / np.maximum(larger, 1e-12) ** 2, 0.0))


def find_blobs(
    image: FloatImage,
    spacing_mm: tuple[float, float],
    radii_mm: npt.ArrayLike,
    min_contrast_hu: float,
    noise: FloatImage | None = None,
) -> list[Blob]:
    """Bright and dark round blobs of the given radii, strongest first, overlapping ones removed.

    Each scale's round local extrema are candidates; of those at one place (at several scales), the
    strongest stays. Its scale gives the radius: one of ``radii_mm``, a first estimate only.

    Args:
        image: (I, J) image in HU.
        spacing_mm: pixel size along I and J.
        radii_mm: disc radii to look for.
        min_contrast_hu: weakest contrast reported.
        noise: an (I, J) image of the noise alone (same statistics as ``image``'s noise; NaN where
            not measured), if known; a blob must then also exceed ``NOISE_FACTOR`` robust SDs of the
            noise's response.
    """
    radii = np.asarray(radii_mm, np.float64)
    stack = np.stack([normalised_log(image, spacing_mm, r / np.sqrt(2.0)) for r in radii])
    threshold = np.full(len(radii), DISC_RESPONSE * min_contrast_hu)
    if noise is not None and np.isfinite(noise).any():
        valid = np.isfinite(noise)
        filled = np.where(valid, noise, 0.0)
        for s, r in enumerate(radii):
            response = normalised_log(filled, spacing_mm, r / np.sqrt(2.0))
            threshold[s] = max(threshold[s], NOISE_FACTOR * _robust_sd(response[valid]))
    blobs = []
    for s, radius in enumerate(radii):
        roundness = _roundness(image, spacing_mm, radius / np.sqrt(2.0))
        for sign in (1.0, -1.0):
            values = sign * stack[s]
            peaks = (values == ndimage.maximum_filter(values, size=3, mode="nearest")) & (
                values > threshold[s]
            )
            peaks &= roundness >= ROUNDNESS
            blobs += [_refined(values, float(radius), sign, (int(i), int(j))) for i, j in np.argwhere(peaks)]
    return _without_overlaps(blobs, spacing_mm)


def _robust_sd(values: FloatImage) -> float:
    """SD as 1.4826·MAD, robust to the few structures left in a noise image."""
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def _parabola_offset(low: float, mid: float, high: float) -> float:
    """Offset (−0.5…0.5) of a parabola's vertex through three equally spaced samples."""
    curvature = low - 2.0 * mid + high
    return 0.0 if curvature >= 0 else float(np.clip(0.5 * (low - high) / curvature, -0.5, 0.5))


def _refined(values: FloatImage, radius_mm: float, sign: float, peak: tuple[int, int]) -> Blob:
    """Sub-pixel position by parabolas through the peak's neighbours."""
    i, j = peak
    di = _parabola_offset(*(values[min(max(i + d, 0), values.shape[0] - 1), j] for d in (-1, 0, 1)))
    dj = _parabola_offset(*(values[i, min(max(j + d, 0), values.shape[1] - 1)] for d in (-1, 0, 1)))
    return Blob(i + di, j + dj, radius_mm, sign * float(values[i, j]) / DISC_RESPONSE)


def _without_overlaps(blobs: list[Blob], spacing_mm: tuple[float, float]) -> list[Blob]:
    """Keep the strongest of same-signed blobs whose centres lie within the larger one's disc."""
    kept: list[Blob] = []
    for blob in sorted(blobs, key=lambda b: -abs(b.contrast_hu)):
        overlaps = any(
            np.hypot((blob.i - k.i) * spacing_mm[0], (blob.j - k.j) * spacing_mm[1])
            < 0.8 * max(blob.radius_mm, k.radius_mm)
            and (blob.contrast_hu > 0) == (k.contrast_hu > 0)
            for k in kept
        )
        if not overlaps:
            kept.append(blob)
    return kept
