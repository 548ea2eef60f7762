"""Signed-distance shapes for the anatomy: negative inside, positive outside, in millimetres.

Each function takes points as an (..., 3) array in mm and returns the (approximate) signed distance to
the surface. Shapes combine with :func:`smooth_union`, which blends surfaces within ``blend_mm`` the way
bone flares into bone (the polynomial smooth minimum of Quilez, https://iquilezles.org/articles/smin/).
:func:`occupancy` turns a distance into the fraction of a voxel inside the shape, so surfaces are
partial-volume smooth at any grid spacing.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float32]


def sphere(points_mm: Array, centre_mm: npt.ArrayLike, radius_mm: float) -> Array:
    """Distance to a sphere."""
    offset = points_mm - np.asarray(centre_mm, np.float32)
    return np.asarray(np.linalg.norm(offset, axis=-1) - radius_mm, np.float32)


def ellipsoid(
    points_mm: Array, centre_mm: npt.ArrayLike, axes: npt.ArrayLike, semi_axes_mm: npt.ArrayLike
) -> Array:
    """Approximate distance to an ellipsoid with orthonormal ``axes`` (rows) and semi-axes in mm.

    Uses the first-order bound k0·(k0 − 1)/k1, which is exact on the surface and close nearby.
    """
    local = (points_mm - np.asarray(centre_mm, np.float32)) @ np.asarray(axes, np.float32).T
    scaled = local / np.asarray(semi_axes_mm, np.float32)
    k0 = np.linalg.norm(scaled, axis=-1)
    k1 = np.linalg.norm(scaled / np.asarray(semi_axes_mm, np.float32), axis=-1)
    return np.asarray(k0 * (k0 - 1.0) / np.maximum(k1, 1e-6), np.float32)


def tapered_capsule(
    points_mm: Array,
    start_mm: npt.ArrayLike,
    end_mm: npt.ArrayLike,
    start_radius_mm: float,
    end_radius_mm: float,
    flattening: float = 1.0,
    flat_direction: npt.ArrayLike | None = None,
) -> Array:
    """Distance to a segment swept by a radius varying linearly from start to end.

    ``flattening`` < 1 squeezes the cross-section along ``flat_direction`` (perpendicular to the segment),
    giving an elliptic cross-section such as the femoral neck's.
    """
    start = np.asarray(start_mm, np.float32)
    axis = np.asarray(end_mm, np.float32) - start
    length = float(np.linalg.norm(axis))
    direction = axis / length
    offset = points_mm - start
    along = np.clip(offset @ direction, 0.0, length)
    radial = offset - along[..., None] * direction
    if flattening != 1.0 and flat_direction is not None:
        flat = np.asarray(flat_direction, np.float32)
        flat = flat - (flat @ direction) * direction
        flat /= np.linalg.norm(flat)
        radial = radial + ((1.0 / flattening - 1.0) * (radial @ flat))[..., None] * flat
    radius = start_radius_mm + (end_radius_mm - start_radius_mm) * along / length
    return np.asarray(np.linalg.norm(radial, axis=-1) - radius, np.float32)


def slab(points_mm: Array, point_mm: npt.ArrayLike, normal: npt.ArrayLike) -> Array:
    """Distance to the half-space on the side of ``point_mm`` opposite to ``normal``."""
    unit = np.asarray(normal, np.float32) / np.linalg.norm(normal)
    return np.asarray((points_mm - np.asarray(point_mm, np.float32)) @ unit, np.float32)


def smooth_union(first: Array, second: Array, blend_mm: float) -> Array:
    """Union whose surfaces melt together within ``blend_mm`` (polynomial smooth minimum)."""
    if blend_mm <= 0.0:
        return np.minimum(first, second)
    h = np.clip(0.5 + 0.5 * (second - first) / blend_mm, 0.0, 1.0)
    return np.asarray(second * (1 - h) + first * h - blend_mm * h * (1 - h), np.float32)


def intersection(first: Array, second: Array) -> Array:
    """Points inside both shapes."""
    return np.maximum(first, second)


def subtraction(shape: Array, removed: Array) -> Array:
    """Points inside ``shape`` but not inside ``removed``."""
    return np.maximum(shape, -removed)


def occupancy(distance_mm: Array, voxel_mm: float) -> Array:
    """Fraction (0–1) of a voxel of side ``voxel_mm`` inside the shape, from the signed distance."""
    return np.asarray(np.clip(0.5 - distance_mm / voxel_mm, 0.0, 1.0), np.float32)


def segment_distance(points_mm: Array, start_mm: npt.ArrayLike, end_mm: npt.ArrayLike) -> Array:
    """Unsigned distance to a line segment (for density bands such as trabecular groups)."""
    return tapered_capsule(points_mm, start_mm, end_mm, 0.0, 0.0)


FAR_MM = 1.0e3


def within(
    points_mm: Array,
    low_mm: npt.ArrayLike,
    high_mm: npt.ArrayLike,
    shape: Callable[[Array], Array],
) -> Array:
    """``shape`` evaluated only at the points inside the box [low, high]; elsewhere "far" (FAR_MM).

    Shapes joined by a union only matter near themselves, so evaluating each inside its bounding box
    (grown by the blend distance) gives the same union at a fraction of the cost.
    """
    flat = points_mm.reshape(-1, 3)
    inside = np.all(
        (flat >= np.asarray(low_mm, np.float32)) & (flat <= np.asarray(high_mm, np.float32)), axis=1
    )
    out = np.full(len(flat), FAR_MM, np.float32)
    if inside.any():
        out[inside] = shape(flat[inside])
    return out.reshape(points_mm.shape[:-1])


def blended_union(
    points_mm: Array,
    parts: list[
        tuple[tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]], Callable[[Array], Array], float]
    ],
) -> Array:
    """Smooth union of parts, each ``(bounding box, shape, blend_mm)``, evaluated only inside its box.

    The first part's blend is ignored; every later part melts into the union so far within its blend.
    """
    distance: Array | None = None
    blends = [blend for _, _, blend in parts]
    for index, ((low, high), shape, blend) in enumerate(parts):
        grow = max([blend, *blends[index + 1 :]])  # later parts melt in within their blend
        part = within(points_mm, low - grow, high + grow, shape)
        distance = part if distance is None else smooth_union(distance, part, blend)
    if distance is None:
        raise ValueError("a union needs at least one part")
    return distance
