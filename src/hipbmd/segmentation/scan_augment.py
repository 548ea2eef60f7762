"""Training patches made to look like other scans: coarser voxels, and a scan that ends inside the patch.

Real hip CTs come with 0.6–5 mm slices and are often cut just below the femoral heads; the simulated
training CTs have 0.9–1 mm voxels in plane, 1.5–2 mm slices and whole proximal femurs. Two changes of the
CT patch (in HU, on the working grid) close that gap; the target keeps the true class fractions.

* **Coarser scan**: each axis is given a native voxel size drawn from ``COARSE_INPLANE_FACTOR`` (axes 0 and 1)
  and ``COARSE_SLICE_FACTOR`` (axis 2, the slice direction of a RAS-ordered CT). The patch is blurred with a
  Gaussian of the box-footprint σ = 0.5·√(f² − 1) working voxels (f = voxel size / working spacing, as in
  :mod:`hipbmd.segmentation.working_grid`), sampled at that voxel size from a random phase and
  interpolated back linearly: the partial-volume blur and staircase of thick slices.
* **Scan edge**: the scan ends at a random plane across the slice axis, inside the middle half of the
  patch; beyond it the CT is air (−1000 HU, the value inference pads with) and the target background.

Both are off by default (``hipbmd seg-train --coarse-scans P --cut-scans P`` turns them on). A model
trained with 0.5 and 0.2 on the shipped model's 40 simulated CTs was no better on the real CT
(femur Dice 0.71 on the right, as before; 0.0 instead of 0.23 on the left, which holds a screw): the
real CT's gap to the simulated ones is not its voxel size alone.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import ndimage

COARSE_INPLANE_FACTOR = (0.6, 1.8)  # native in-plane voxel size as a multiple of the working spacing
COARSE_SLICE_FACTOR = (0.6, 2.5)  # native slice spacing as a multiple of the working spacing
OUTSIDE_HU = -1000.0
SLICE_AXIS = 2

FloatArray = npt.NDArray[np.float32]


def coarser_scan(hu: FloatArray, factors: tuple[float, float, float], phase: tuple[float, ...]) -> FloatArray:
    """``hu`` (X, Y, Z) as seen by a scan whose voxels are ``factors`` working voxels per axis.

    Factors at or below 1 leave that axis as it is. ``phase`` (each in [0, 1)) places the coarse grid.
    """
    sigma = [0.5 * np.sqrt(max(f * f - 1.0, 0.0)) for f in factors]
    blurred = ndimage.gaussian_filter(hu, sigma, mode="nearest") if max(sigma) > 0 else hu
    axes = []
    for length, factor, offset in zip(hu.shape, factors, phase, strict=True):
        step, shift = (factor, offset * factor) if factor > 1.0 else (1.0, 0.0)
        coarse = np.arange(shift - step, length + step, step)  # coarse voxel centres, covering the patch
        fine = np.arange(length, dtype=np.float64)
        axes.append((coarse, np.interp(fine, coarse, np.arange(len(coarse)))))
    grids = np.meshgrid(*[coarse for coarse, _ in axes], indexing="ij")
    samples = ndimage.map_coordinates(blurred, grids, order=1, mode="nearest")
    back = np.meshgrid(*[position for _, position in axes], indexing="ij")
    return np.asarray(ndimage.map_coordinates(samples, back, order=1, mode="nearest"), dtype=np.float32)


def cut_scan(
    hu: FloatArray, targets: FloatArray, plane: int, keep_below: bool
) -> tuple[FloatArray, FloatArray]:
    """The patch of a scan that ends at slice ``plane`` of the slice axis (kept below or above it).

    Args:
        hu: CT patch (X, Y, Z), HU.
        targets: class fractions (C, X, Y, Z), class 0 the background.
        plane: first removed slice (``keep_below``) or first kept slice (otherwise).
        keep_below: keep slices ``< plane``; else keep slices ``>= plane``.
    """
    hu, targets = hu.copy(), targets.copy()
    removed = slice(plane, None) if keep_below else slice(0, plane)
    hu[:, :, removed] = OUTSIDE_HU
    targets[:, :, :, removed] = 0.0
    targets[0, :, :, removed] = 1.0
    return hu, targets


def random_coarser_scan(hu: FloatArray, rng: np.random.Generator) -> FloatArray:
    """:func:`coarser_scan` with voxel sizes and phase drawn from the module's ranges."""
    inplane = float(rng.uniform(*COARSE_INPLANE_FACTOR))
    factors = (inplane, inplane, float(rng.uniform(*COARSE_SLICE_FACTOR)))
    return coarser_scan(hu, factors, tuple(float(v) for v in rng.random(3)))


def random_cut_scan(
    hu: FloatArray, targets: FloatArray, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """:func:`cut_scan` at a plane in the middle half of the patch, on a random side."""
    length = hu.shape[SLICE_AXIS]
    plane = int(rng.integers(length // 4, 3 * length // 4 + 1))
    return cut_scan(hu, targets, plane, bool(rng.random() < 0.5))
