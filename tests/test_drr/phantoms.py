"""Analytic phantoms on voxel grids, for renderer tests with known answers."""

from __future__ import annotations

import numpy as np

from hipbmd.types import Volume


def _odd(count: float) -> int:
    """Smallest odd integer ≥ count: a voxel centre then sits on the world origin."""
    size = int(np.ceil(count))
    return size + 1 - size % 2


def grid(shape: tuple[int, int, int], spacing_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Affine centred on the world origin and the world coordinates (I, J, K, 3) of voxel centres."""
    affine = np.diag([spacing_mm, spacing_mm, spacing_mm, 1.0])
    affine[:3, 3] = -spacing_mm * (np.array(shape) - 1) / 2.0
    index = np.stack(np.meshgrid(*(np.arange(n) for n in shape), indexing="ij"), axis=-1)
    return affine, index @ affine[:3, :3].T + affine[:3, 3]


def sphere(radius_mm: float, spacing_mm: float, density: float = 1000.0) -> Volume:
    """A uniform ball (mg/cm³) centred at the world origin."""
    size = _odd(2 * radius_mm / spacing_mm + 4)
    affine, centres = grid((size, size, size), spacing_mm)
    inside = np.linalg.norm(centres, axis=-1) <= radius_mm
    return Volume((inside * density).astype(np.float32), affine, "mg/cm3")


def cylinder_z(radius_mm: float, height_mm: float, spacing_mm: float, density: float = 1000.0) -> Volume:
    """A uniform cylinder along world z (superior–inferior), centred at the origin."""
    size_xy = _odd(2 * radius_mm / spacing_mm + 4)
    size_z = round(height_mm / spacing_mm)
    affine, centres = grid((size_xy, size_xy, size_z), spacing_mm)
    inside = np.hypot(centres[..., 0], centres[..., 1]) <= radius_mm
    return Volume((inside * density).astype(np.float32), affine, "mg/cm3")


def box(shape: tuple[int, int, int], spacing_mm: float, density: float = 1000.0) -> Volume:
    """A volume entirely filled with one density: a box whose faces are voxel faces."""
    affine, _ = grid(shape, spacing_mm)
    return Volume(np.full(shape, density, np.float32), affine, "mg/cm3")
