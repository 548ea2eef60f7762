"""Gaussian smoothing fast enough for wide kernels on 1500 × 1200 images (scatter, unsharp masks, bands).

Narrow kernels are applied directly. A wide one (σ of several pixels) is applied on a block-averaged copy and
interpolated back bilinearly; block averaging (a box of f pixels, variance f²/12) and bilinear interpolation
(a triangle, variance f²/6) add about f²/4 px² of variance, which the kernel on the small image leaves out,
so the result is close to a Gaussian of the requested σ.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import ndimage

Image = npt.NDArray[np.float32]

_DIRECT_MAX_SIGMA_PX = 3.0
_SMALL_SIGMA_PX = 1.5  # σ kept on the reduced image


def gaussian_smooth(image: Image, sigma_px: float) -> Image:
    """Gaussian low-pass of a 2-D image with standard deviation ``sigma_px`` pixels (edges: nearest)."""
    data = np.asarray(image, dtype=np.float32)
    if sigma_px <= 0:
        return data.copy()
    if sigma_px <= _DIRECT_MAX_SIGMA_PX:
        return np.asarray(ndimage.gaussian_filter(data, sigma_px, mode="nearest", truncate=3.0), np.float32)
    factor = max(int(sigma_px / _SMALL_SIGMA_PX), 2)
    small = block_mean(data, factor)
    residual_sigma = np.sqrt(max(sigma_px**2 - factor**2 / 4.0, 0.25 * factor**2)) / factor
    small = ndimage.gaussian_filter(small, residual_sigma, mode="nearest", truncate=3.0)
    return upsample_bilinear(np.asarray(small, np.float32), factor, data.shape)


def block_mean(image: Image, factor: int) -> Image:
    """Mean over factor × factor blocks, the image padded at its far edges by repetition."""
    rows, cols = image.shape
    pad_rows, pad_cols = -rows % factor, -cols % factor
    padded = np.pad(image, ((0, pad_rows), (0, pad_cols)), mode="edge") if pad_rows or pad_cols else image
    shape = (padded.shape[0] // factor, factor, padded.shape[1] // factor, factor)
    return np.asarray(padded.reshape(shape).mean(axis=(1, 3), dtype=np.float32), np.float32)


def upsample_bilinear(small: Image, factor: int, shape: tuple[int, ...]) -> Image:
    """Bilinear interpolation of a block-mean image back onto the full grid of ``shape`` (block centres)."""
    rows = _axis_weights(shape[0], factor, small.shape[0])
    cols = _axis_weights(shape[1], factor, small.shape[1])
    along_rows = small[rows[0]] * rows[2][:, None] + small[rows[1]] * (1.0 - rows[2])[:, None]
    out = along_rows[:, cols[0]] * cols[2][None, :] + along_rows[:, cols[1]] * (1.0 - cols[2])[None, :]
    return np.asarray(out, dtype=np.float32)


def _axis_weights(
    size: int, factor: int, small_size: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.float32]]:
    """Lower and upper small-grid indices and the lower one's weight for each full-grid index.

    Beyond the first and last block centres the two nearest centres are extrapolated linearly.
    """
    if small_size == 1:
        zeros = np.zeros(size, dtype=np.intp)
        return zeros, zeros, np.ones(size, dtype=np.float32)
    position = (np.arange(size, dtype=np.float32) + 0.5) / factor - 0.5  # in small-pixel units
    lower = np.clip(np.floor(position), 0, small_size - 2).astype(np.intp)
    return lower, lower + 1, (1.0 - (position - lower)).astype(np.float32)
