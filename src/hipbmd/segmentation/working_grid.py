"""The model's grid: the CT resampled to isotropic voxels, and the way back to the CT's own grid.

Volumes arrive in RAS index order (:func:`hipbmd.io.orientation.to_canonical`), so the working grid keeps
the CT's axes and its first voxel centre and only changes the step: working index w maps to native
index n = w · f with f = working spacing / native spacing per axis. Downsampling is anti-aliased with a
Gaussian whose σ (in native voxels) is 0.5·√(f² − 1), the usual rule for a box-like target footprint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from hipbmd.types import Volume


@dataclass(frozen=True)
class WorkingGrid:
    """A grid of isotropic voxels laid over a native volume.

    Attributes:
        native_shape: shape of the native volume (I, J, K).
        step: native voxels per working voxel along each axis (f above).
        shape: working grid shape.
        affine: working voxel index → world RAS+ mm.
    """

    native_shape: tuple[int, int, int]
    step: tuple[float, float, float]
    shape: tuple[int, int, int]
    affine: npt.NDArray[np.float64]


def voxel_sizes_mm(affine: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Length of each voxel axis of an affine, mm."""
    return np.asarray(np.linalg.norm(affine[:3, :3], axis=0), dtype=np.float64)


def working_grid(volume: Volume, spacing_mm: float) -> WorkingGrid:
    """The isotropic grid of ``spacing_mm`` covering ``volume`` from its first voxel centre."""
    native = tuple(int(n) for n in volume.array.shape)
    step = spacing_mm / voxel_sizes_mm(volume.affine)
    rows, cols, slices = (int(np.floor((n - 1) / f)) + 1 for n, f in zip(native, step, strict=True))
    affine = volume.affine @ np.diag([*step, 1.0])
    steps = (float(step[0]), float(step[1]), float(step[2]))
    return WorkingGrid(volume.shape, steps, (rows, cols, slices), affine)


def to_working(
    values: npt.NDArray[np.floating], grid: WorkingGrid, order: int = 1
) -> npt.NDArray[np.float32]:
    """Native-grid values (I, J, K) sampled on the working grid, anti-aliased when downsampling."""
    sigma = [0.5 * np.sqrt(max(f * f - 1.0, 0.0)) for f in grid.step]
    smooth = ndimage.gaussian_filter(values.astype(np.float32), sigma) if max(sigma) > 0 else values
    resampled = ndimage.affine_transform(
        smooth.astype(np.float32), np.array(grid.step), output_shape=grid.shape, order=order, mode="nearest"
    )
    return np.asarray(resampled, dtype=np.float32)


def to_native(values: npt.NDArray[np.floating], grid: WorkingGrid) -> npt.NDArray[np.float32]:
    """Working-grid values (X, Y, Z) interpolated (trilinear) back onto the native grid."""
    inverse = 1.0 / np.array(grid.step)
    resampled = ndimage.affine_transform(
        values.astype(np.float32), inverse, output_shape=grid.native_shape, order=1, mode="nearest"
    )
    return np.asarray(resampled, dtype=np.float32)
