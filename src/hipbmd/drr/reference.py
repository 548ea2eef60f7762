"""A small, slow, independent Siddon line integral, written for checking the fast renderer.

Siddon (Med Phys 1985;12:252): the ray s + α(e − s), α ∈ [0, 1], crosses the planes bounding the voxels
at parameters α; between consecutive sorted crossings it lies in one voxel, found from the midpoint.
The integral is Σ value(voxel) · (α_{m+1} − α_m) · |e − s|.
"""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt


def siddon_reference(
    volume: npt.NDArray[np.floating],
    affine: npt.NDArray[np.float64],
    start_mm: npt.ArrayLike,
    end_mm: npt.ArrayLike,
) -> float:
    """Line integral (value unit × mm) of one ray through a volume whose affine maps indices to mm."""
    inverse = np.linalg.inv(affine)
    start = inverse[:3, :3] @ np.asarray(start_mm, float) + inverse[:3, 3] + 0.5
    end = inverse[:3, :3] @ np.asarray(end_mm, float) + inverse[:3, 3] + 0.5
    delta = end - start
    crossings = [np.array([0.0, 1.0])]
    for axis in range(3):
        if delta[axis] != 0.0:
            planes = np.arange(volume.shape[axis] + 1, dtype=float)
            crossings.append((planes - start[axis]) / delta[axis])
    alphas = np.unique(np.clip(np.concatenate(crossings), 0.0, 1.0))
    length_mm = float(np.linalg.norm(np.asarray(end_mm, float) - np.asarray(start_mm, float)))
    total = 0.0
    for low, high in itertools.pairwise(alphas):
        middle = start + 0.5 * (low + high) * delta
        index = np.floor(middle).astype(int)
        if np.all(index >= 0) and np.all(index < volume.shape):
            total += float(volume[tuple(index)]) * (high - low)
    return total * length_mm
