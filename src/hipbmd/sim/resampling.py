"""Trilinear resampling of a volume at the points of an axis-aligned lattice, one axis at a time.

When the new voxel centres form a lattice (evenly spaced along each axis of the old grid), trilinear
interpolation is the product of three one-dimensional linear interpolations, so it can be done one axis
after the other: each pass reads two neighbours per output value instead of eight, and passes that shrink
an axis go first. The result is that of ``scipy.ndimage.affine_transform`` with a diagonal matrix and
``order=1`` (up to float32 rounding); outside the volume the edge value is repeated ("nearest").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float32]


def linear_on_lattice(volume: Array, positions: Sequence[npt.NDArray[np.float64]]) -> Array:
    """``volume`` interpolated (trilinear, edges repeated) at the lattice ``positions``.

    Args:
        volume: (X, Y, Z) values on voxel centres 0, 1, … along each axis.
        positions: per axis, the coordinates of the new voxel centres in voxel index units.

    Returns:
        (len(positions[0]), len(positions[1]), len(positions[2])) float32 values.
    """
    result = np.asarray(volume, np.float32)
    order = sorted(range(result.ndim), key=lambda axis: len(positions[axis]) / result.shape[axis])
    for axis in order:
        result = _linear_along(result, np.asarray(positions[axis], np.float64), axis)
    return result


def _linear_along(values: Array, coordinates: npt.NDArray[np.float64], axis: int) -> Array:
    """Linear interpolation of ``values`` along one axis at ``coordinates`` (index units, edges repeated)."""
    size = values.shape[axis]
    clipped = np.clip(coordinates, 0.0, size - 1)
    lower = np.minimum(np.floor(clipped).astype(np.intp), max(size - 2, 0))
    upper = np.minimum(lower + 1, size - 1)
    weight_shape = [1] * values.ndim
    weight_shape[axis] = len(coordinates)
    upper_weight = (clipped - lower).astype(np.float32).reshape(weight_shape)
    result = np.take(values, lower, axis=axis)
    step = np.take(values, upper, axis=axis)
    step -= result  # below + (above − below)·w, in place: two arrays of the output's size at most
    step *= upper_weight
    result += step
    return result
