"""Image similarity measures for intensity-based 2D/3D registration (higher is more similar, ≤ 1).

* NCC: normalised cross-correlation, invariant to a linear change of intensities.
* Polynomial correlation: the correlation of the fixed image with the best quadratic function of the
  moving one (the square root of the R² of that least-squares fit); it tolerates smooth non-linear tone
  curves, but on its own it leaves flexion and depth poorly determined, so it is not the default.
* Gradient correlation (Penney et al., IEEE TMI 1998;17:586): the mean of the NCCs of the row and column
  gradients; it emphasises edges and ignores smooth background differences.
* Multi-scale: the mean of a measure over Gaussian-smoothed copies of both images.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
from scipy import ndimage

Image = npt.NDArray[np.floating]
Similarity = Callable[[Image, Image, "npt.NDArray[np.bool_] | None"], float]


def ncc(fixed: Image, moving: Image, mask: npt.NDArray[np.bool_] | None = None) -> float:
    """Normalised cross-correlation of two images over ``mask`` (all pixels when None); 0 if flat."""
    a = np.asarray(fixed, np.float64)
    b = np.asarray(moving, np.float64)
    if mask is not None:
        a, b = a[mask], b[mask]
    a = a - a.mean()
    b = b - b.mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denominator) if denominator > 0 else 0.0


def polynomial_correlation(
    fixed: Image, moving: Image, mask: npt.NDArray[np.bool_] | None = None, degree: int = 2
) -> float:
    """√R² of the least-squares fit fixed ≈ Σ_k c_k·moving^k (k ≤ degree); 0 if either image is flat."""
    a = np.asarray(fixed, np.float64)
    b = np.asarray(moving, np.float64)
    if mask is not None:
        a, b = a[mask], b[mask]
    a, b = a.ravel(), b.ravel()
    spread = b.max() - b.min() if b.size else 0.0
    total = ((a - a.mean()) ** 2).sum() if a.size else 0.0
    if spread <= 0 or total <= 0:
        return 0.0
    scaled = (b - b.min()) / spread
    basis = np.stack([scaled**k for k in range(degree + 1)], axis=1)
    coefficients, *_ = np.linalg.lstsq(basis, a, rcond=None)
    residual = ((a - basis @ coefficients) ** 2).sum()
    return float(np.sqrt(max(0.0, 1.0 - residual / total)))


def gradient_correlation(fixed: Image, moving: Image, mask: npt.NDArray[np.bool_] | None = None) -> float:
    """Mean NCC of the Sobel row and column gradients."""
    total = 0.0
    for axis in (0, 1):
        total += ncc(
            ndimage.sobel(np.asarray(fixed, np.float64), axis=axis),
            ndimage.sobel(np.asarray(moving, np.float64), axis=axis),
            mask,
        )
    return total / 2.0


def multiscale(
    measure: Similarity,
    fixed: Image,
    moving: Image,
    mask: npt.NDArray[np.bool_] | None = None,
    sigmas_px: Sequence[float] = (0.0, 1.0, 2.0),
) -> float:
    """Mean of ``measure`` over copies of both images smoothed with Gaussians of these widths (pixels)."""
    values = []
    for sigma in sigmas_px:
        a = ndimage.gaussian_filter(np.asarray(fixed, np.float64), sigma) if sigma > 0 else fixed
        b = ndimage.gaussian_filter(np.asarray(moving, np.float64), sigma) if sigma > 0 else moving
        values.append(measure(a, b, mask))
    return float(np.mean(values))


def tone_mapped(
    fixed: Image, moving: Image, mask: npt.NDArray[np.bool_] | None = None, degree: int = 2
) -> npt.NDArray[np.float64]:
    """The moving image passed through the quadratic intensity map that best fits it to the fixed one."""
    a = np.asarray(fixed, np.float64)
    b = np.asarray(moving, np.float64)
    region = mask if mask is not None else np.ones(a.shape, dtype=bool)
    low, high = float(b[region].min()), float(b[region].max())
    if high <= low:
        return b
    scaled = (b - low) / (high - low)
    basis = np.stack([scaled**k for k in range(degree + 1)], axis=-1)
    coefficients, *_ = np.linalg.lstsq(basis[region], a[region], rcond=None)
    return np.asarray(basis @ coefficients, dtype=np.float64)


def mapped(fixed: Image, moving: Image, mask: npt.NDArray[np.bool_] | None = None) -> float:
    """NCC and gradient correlation (multi-scale) after mapping the moving image's tone onto the fixed one's.

    Radiograph processing applies a smooth tone curve; fitting a quadratic map first keeps it from
    biasing the pose (on simulated radiographs, mostly the depth).
    """
    toned = tone_mapped(fixed, moving, mask)
    return 0.5 * (multiscale(ncc, fixed, toned, mask) + multiscale(gradient_correlation, fixed, toned, mask))


MEASURES: dict[str, Similarity] = {
    "ncc": ncc,
    "gc": gradient_correlation,
    "poly": polynomial_correlation,
    "mapped": mapped,
}


def combined(fixed: Image, moving: Image, mask: npt.NDArray[np.bool_] | None = None) -> float:
    """Mean of NCC and gradient correlation, each over three scales: hipbmd's default measure."""
    return 0.5 * (
        multiscale(ncc, fixed, moving, mask) + multiscale(gradient_correlation, fixed, moving, mask)
    )
