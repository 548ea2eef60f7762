"""Put the real CT's pelvis and soft tissue into a patient's tissues, blended into the synthetic body.

The synthetic body, thighs and pelvis are built first (:mod:`hipbmd.sim.anatomy`); the scan then takes
their place wherever it reaches. Its materials are resampled trilinearly from 3 mm onto the working grid
(smooth, without staircase steps, but as blurred as a 3 mm scan is), and a weight that rises from 0 to 1
over the scan's lowest 15 mm, and over 6 mm at its sides and top, blends it into the synthetic anatomy:
below the scan (the femoral necks, ischia and pubic rami, the thighs) the synthetic parts continue it.
Each grid voxel the scan outweighs takes the scan's label (the structure filling most of the voxel).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from hipbmd.sim.grid import Grid
from hipbmd.sim.real_ct_anatomy import RealCtAnatomy, RealCtPlacement
from hipbmd.sim.tissues import LABELS, Tissues

Array = npt.NDArray[np.float32]
Box = tuple[slice, slice, slice]
JUNCTION_VOXELS = (0.5, 5.5)  # the weight's ramp above the lowest slice (scan voxels)
EDGE_VOXELS = 2.0  # the weight's ramp at the sides and the top (scan voxels)
SCAN_LABELS = (LABELS["hip_right"], LABELS["hip_left"], LABELS["sacrum"])


def scan_weight(shape: tuple[int, ...]) -> Array:
    """How much each scan voxel counts (0…1): a smooth ramp at the bottom, the sides and the top."""
    ramps = []
    for axis, n in enumerate(shape):
        k = np.arange(n, dtype=np.float64)
        start, length = JUNCTION_VOXELS if axis == 2 else (0.0, EDGE_VOXELS)
        low = np.clip((k - start) / (length - start), 0.0, 1.0)
        high = np.clip((n - 1 - k) / EDGE_VOXELS, 0.0, 1.0)
        ramp = np.minimum(low, high)
        ramps.append(ramp * ramp * (3.0 - 2.0 * ramp))  # smoothstep
    return np.asarray(ramps[0][:, None, None] * ramps[1][None, :, None] * ramps[2][None, None, :], np.float32)


def overlay_real_ct(tissues: Tissues, anatomy: RealCtAnatomy, placement: RealCtPlacement) -> None:
    """Blend the placed scan into ``tissues`` (in place); metal is added after this, if any."""
    grid = tissues.grid
    box = _scan_box(grid, anatomy, placement)
    if any(s.stop <= s.start for s in box):
        return
    sample = _sampler(grid, box, anatomy, placement)
    weight = sample(scan_weight(anatomy.mineral_mg_cm3.shape))
    keep = 1.0 - weight
    tissues.mineral_mg_cm3[box] = keep * tissues.mineral_mg_cm3[box] + weight * sample(anatomy.mineral_mg_cm3)
    tissues.soft_g_cm3[box] = keep * tissues.soft_g_cm3[box] + weight * 1e-3 * sample(anatomy.soft_mg_cm3)
    tissues.fat_g_cm3[box] = keep * tissues.fat_g_cm3[box] + weight * 1e-3 * sample(anatomy.fat_mg_cm3)
    _label(tissues, box, weight, anatomy, sample)


def _label(tissues: Tissues, box: Box, weight: Array, anatomy: RealCtAnatomy, sample: _Sampler) -> None:
    """Where the scan outweighs the synthetic anatomy, the scan's structures (by their voxel shares)."""
    best = np.zeros(weight.shape, np.float32)
    structure = np.zeros(weight.shape, np.uint8)
    for label in SCAN_LABELS:
        share = sample((anatomy.labels == label).astype(np.float32))
        larger = share > best
        best = np.where(larger, share, best)
        structure = np.where(larger, np.uint8(label), structure)
    scan = weight >= 0.5
    tissues.structure[box] = np.where(scan, structure, tissues.structure[box])
    tissues.coverage[box] = np.where(scan, best, tissues.coverage[box])


class _Sampler:
    """Trilinear resampling of scan-grid arrays onto a box of the working grid (0 outside the scan)."""

    def __init__(
        self, matrix: npt.NDArray[np.float64], offset: npt.NDArray[np.float64], shape: tuple[int, ...]
    ):
        self.matrix, self.offset, self.shape = matrix, offset, shape

    def __call__(self, values: Array) -> Array:
        return np.asarray(
            ndimage.affine_transform(
                values, self.matrix, self.offset, self.shape, order=1, mode="constant", cval=0.0
            ),
            np.float32,
        )


def _sampler(grid: Grid, box: Box, anatomy: RealCtAnatomy, placement: RealCtPlacement) -> _Sampler:
    """Box voxel index i → scan voxel index A·(origin + spacing·(start + i)) + b."""
    linear, offset = placement.to_scan_voxels(anatomy)
    spacing = np.asarray(grid.spacing_mm, np.float64)
    first = np.asarray(grid.origin_mm, np.float64) + spacing * np.array([s.start for s in box])
    shape = tuple(s.stop - s.start for s in box)
    return _Sampler(linear * spacing[None, :], linear @ first + offset, shape)


def _scan_box(grid: Grid, anatomy: RealCtAnatomy, placement: RealCtPlacement) -> Box:
    """The working grid's voxels within reach of the placed scan."""
    return grid.box(*placement.world_bounds(anatomy))
