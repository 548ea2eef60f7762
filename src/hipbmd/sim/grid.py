"""Voxel grids for the simulator: world RAS+ mm coordinates of a box of voxels, and sub-boxes of it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Grid:
    """An axis-aligned RAS+ voxel grid.

    Attributes:
        shape: voxels along x (towards the patient's right), y (anterior), z (superior).
        spacing_mm: voxel size along x, y, z in mm.
        origin_mm: world position of the centre of voxel (0, 0, 0).
    """

    shape: tuple[int, int, int]
    spacing_mm: tuple[float, float, float]
    origin_mm: tuple[float, float, float]

    @classmethod
    def covering(
        cls, low_mm: npt.ArrayLike, high_mm: npt.ArrayLike, spacing_mm: tuple[float, float, float]
    ) -> Grid:
        """The grid with the given spacing whose voxels cover the box [low, high] (mm)."""
        low, high = np.asarray(low_mm, float), np.asarray(high_mm, float)
        shape = np.maximum(np.ceil((high - low) / np.asarray(spacing_mm)).astype(int), 1)
        x, y, z = (int(v) for v in shape)
        ox, oy, oz = (float(v) for v in low + np.asarray(spacing_mm) / 2)
        return cls((x, y, z), spacing_mm, (ox, oy, oz))

    @property
    def affine(self) -> npt.NDArray[np.float64]:
        """Voxel index → world mm."""
        affine = np.diag([*self.spacing_mm, 1.0])
        affine[:3, 3] = self.origin_mm
        return affine

    @property
    def voxel_mm(self) -> float:
        """Geometric mean voxel size (mm), the scale of partial-volume smoothing."""
        return float(np.prod(self.spacing_mm) ** (1.0 / 3.0))

    def box(self, low_mm: npt.ArrayLike, high_mm: npt.ArrayLike) -> tuple[slice, slice, slice]:
        """Index slices of the voxels whose centres fall inside [low, high] (clipped to the grid)."""
        spacing, origin = np.asarray(self.spacing_mm), np.asarray(self.origin_mm)
        first = np.clip(np.ceil((np.asarray(low_mm) - origin) / spacing), 0, self.shape).astype(int)
        last = np.clip(np.floor((np.asarray(high_mm) - origin) / spacing) + 1, 0, self.shape).astype(int)
        sx, sy, sz = (slice(int(a), int(max(a, b))) for a, b in zip(first, last, strict=True))
        return sx, sy, sz

    def points(self, box: tuple[slice, slice, slice]) -> npt.NDArray[np.float32]:
        """World coordinates (mm) of the voxel centres in ``box``, shape (nx, ny, nz, 3)."""
        axes = [
            (np.arange(s.start, s.stop) * step + start).astype(np.float32)
            for s, step, start in zip(box, self.spacing_mm, self.origin_mm, strict=True)
        ]
        x, y, z = np.meshgrid(*axes, indexing="ij")
        return np.stack([x, y, z], axis=-1)


def near_voxels(
    grid: Grid,
    box: tuple[slice, slice, slice],
    distance_fn: Callable[[npt.NDArray[np.float32]], npt.NDArray[np.float32]],
    reach_mm: float = 2.0,
    block: int = 4,
) -> tuple[npt.NDArray[np.intp], ...]:
    """Grid indices of the voxels of ``box`` that a shape may reach, found on a coarse lattice first.

    The signed distance is evaluated at the corners of blocks of ``block``³ voxels; a block is kept when
    any corner is within the block's diagonal plus ``reach_mm`` of the inside, and within it the voxels
    for which the same holds with their own distance to that corner instead of the diagonal (the test
    for the block is the test for its farthest voxel). The shape then needs evaluating only on the kept
    voxels, a few percent of a bone's bounding box.
    """
    size = np.array([s.stop - s.start for s in box])
    start = np.array([s.start for s in box])
    step = np.asarray(grid.spacing_mm)
    counts = -(-size // block)
    axes = [
        ((np.arange(n + 1) * block + first) * d + o).astype(np.float32)
        for n, first, d, o in zip(counts, start, step, grid.origin_mm, strict=True)
    ]
    x, y, z = np.meshgrid(*axes, indexing="ij")
    corner_mm = distance_fn(np.stack([x, y, z], axis=-1))
    near = corner_mm < float(np.linalg.norm(step * block)) + reach_mm
    keep = np.zeros(tuple(counts), dtype=np.bool_)
    for dx in (0, 1):
        for dy in (0, 1):
            for dz in (0, 1):
                keep |= near[dx : dx + counts[0], dy : dy + counts[1], dz : dz + counts[2]]
    blocks = np.nonzero(keep)
    reached = _voxels_within_reach(corner_mm, blocks, step, block, reach_mm)
    # The kept voxels, listed in the grid's memory order (later gathers and scatters run along it).
    kept = np.zeros((counts[0], block, counts[1], block, counts[2], block), dtype=np.bool_)
    kept[blocks[0], :, blocks[1], :, blocks[2], :] = reached
    kept_box = kept.reshape(counts * block)[: size[0], : size[1], : size[2]]
    return tuple(axis + first for axis, first in zip(np.nonzero(kept_box), start, strict=True))


def _voxels_within_reach(
    corner_mm: npt.NDArray[np.float32],
    blocks: tuple[npt.NDArray[np.intp], ...],
    step_mm: npt.NDArray[np.float64],
    block: int,
    reach_mm: float,
) -> npt.NDArray[np.bool_]:
    """Per kept block (K, block, block, block): the voxels near a corner that is near the shape.

    A voxel is kept when some corner of its block has a distance below ``reach_mm`` plus the voxel's
    distance to that corner (mm).
    """
    offsets = np.arange(block)
    nearest = np.full((len(blocks[0]), block, block, block), np.inf, np.float32)
    for corner in np.ndindex(2, 2, 2):
        along = [((offsets - c * block) * d) ** 2 for c, d in zip(corner, step_mm, strict=True)]
        apart = np.sqrt(along[0][:, None, None] + along[1][None, :, None] + along[2][None, None, :])
        at_corner = corner_mm[tuple(b + c for b, c in zip(blocks, corner, strict=True))]
        np.minimum(nearest, at_corner[:, None, None, None] - apart.astype(np.float32), out=nearest)
    return nearest < reach_mm


def index_points(grid: Grid, index: tuple[npt.NDArray[np.intp], ...]) -> npt.NDArray[np.float32]:
    """World coordinates (mm) of the voxels ``index``, shape (N, 3)."""
    voxels = np.stack(index, axis=-1).astype(np.float32)
    return np.asarray(
        voxels * np.asarray(grid.spacing_mm, np.float32) + np.asarray(grid.origin_mm, np.float32), np.float32
    )
