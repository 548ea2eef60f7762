"""The soft-tissue body around the hips: trunk, thighs, subcutaneous fat and bowel gas.

World frame (RAS+, mm): the hip joint centres at (±hip_half_distance_mm, 0, 0). The trunk's cross-section
is an ellipse; below the crotch it divides into two thighs. Subcutaneous fat is a layer of the body's
surface whose thickness grows with body mass index; the rest is muscle-like soft tissue.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hipbmd.sim import shapes
from hipbmd.sim.tissues import ADIPOSE_G_CM3, SOFT_TISSUE_G_CM3, Tissues

Array = npt.NDArray[np.float32]
BLEND_MM = 40.0  # how far the trunk and the thighs melt into each other
CROTCH_FAT_MM = 10.0  # fat under the skin of the perineum and the inner thighs


@dataclass(frozen=True)
class BodyShape:
    """Soft-tissue dimensions (mm).

    Attributes:
        width_mm: trunk width at the hips (left–right).
        depth_mm: trunk depth at the hips (antero-posterior).
        fat_mm: subcutaneous fat thickness.
        hip_half_distance_mm: distance of each hip joint centre from the midline.
        crotch_mm: height of the crotch below the hip joint centres (negative: below).
        centre_y_mm: antero-posterior position of the trunk's centre relative to the hip centres.
    """

    width_mm: float = 360.0
    depth_mm: float = 240.0
    fat_mm: float = 25.0
    hip_half_distance_mm: float = 90.0
    crotch_mm: float = -85.0
    centre_y_mm: float = -10.0


def _ellipse(points: Array, centre_x: float, centre_y: float, a: float, b: float) -> Array:
    x = (points[..., 0] - centre_x) / a
    y = (points[..., 1] - centre_y) / b
    k0 = np.sqrt(x * x + y * y)
    k1 = np.sqrt((x / a) ** 2 + (y / b) ** 2)
    return np.asarray(k0 * (k0 - 1.0) / np.maximum(k1, 1e-6), np.float32)


def body_surface(points: Array, body: BodyShape) -> Array:
    """Signed distance (mm) to the skin at world points (..., 3)."""
    trunk, thighs = _cross_sections(points, body)
    return _join(trunk, thighs, points[..., 2], body)


def _cross_sections(points: Array, body: BodyShape) -> tuple[Array, Array]:
    """Distances to the trunk's and the thighs' cross-sections (2-D, ignoring height)."""
    trunk = _ellipse(points, 0.0, body.centre_y_mm, body.width_mm / 2, body.depth_mm / 2)
    thigh_x = body.width_mm / 4 + 8.0
    thigh_a, thigh_b = body.width_mm / 4 + 4.0, 0.42 * body.depth_mm
    thighs = np.minimum(
        _ellipse(points, thigh_x, body.centre_y_mm + 10.0, thigh_a, thigh_b),
        _ellipse(points, -thigh_x, body.centre_y_mm + 10.0, thigh_a, thigh_b),
    )
    return trunk, thighs


def _join(trunk: Array, thighs: Array, z_mm: Array | np.float32, body: BodyShape) -> Array:
    """The trunk ends at the crotch and melts into the thighs."""
    below_crotch = np.asarray(np.float32(body.crotch_mm) - z_mm, np.float32)
    return shapes.smooth_union(shapes.intersection(trunk, below_crotch), thighs, BLEND_MM)


def add_body(tissues: Tissues, body: BodyShape) -> None:
    """Fill the grid with the body: fat under the skin, soft tissue inside, air outside.

    The cross-sections are computed once on one slice and the height enters only through the crotch.
    """
    grid = tissues.grid
    plane = (slice(0, grid.shape[0]), slice(0, grid.shape[1]), slice(0, 1))
    trunk, thighs = _cross_sections(grid.points(plane)[:, :, 0], body)
    z_mm = (np.arange(grid.shape[2]) * grid.spacing_mm[2] + grid.origin_mm[2]).astype(np.float32)
    # Far above the crotch every slice is the trunk's, far below the thighs': compute those once.
    settled = np.clip(z_mm, body.crotch_mm - BLEND_MM * 2, body.crotch_mm + BLEND_MM * 2)
    # The fat layer follows the sides of the trunk (above the crotch) or of the thighs (below); along the
    # crotch itself it stays thin, so the perineum is not a block of fat.
    sides_above = shapes.occupancy(shapes.smooth_union(trunk, thighs, BLEND_MM) + body.fat_mm, grid.voxel_mm)
    sides_below = shapes.occupancy(thighs + body.fat_mm, grid.voxel_mm)
    thin = min(body.fat_mm, CROTCH_FAT_MM)
    heights, slice_height = np.unique(settled, return_inverse=True)
    fat_planes = np.empty((len(heights), *trunk.shape), np.float32)
    soft_planes = np.empty_like(fat_planes)
    for number, z in enumerate(heights):
        distance = _join(trunk, thighs, np.float32(z), body)
        inside = shapes.occupancy(distance, grid.voxel_mm)
        above = float(
            np.clip((z - body.crotch_mm) / BLEND_MM + 0.5, 0.0, 1.0)
        )  # the buttocks fade into thighs
        deep_sides = above * sides_above + (1.0 - above) * sides_below
        deep = np.minimum(deep_sides, shapes.occupancy(distance + thin, grid.voxel_mm))
        fat = inside - deep
        fat_planes[number] = fat * ADIPOSE_G_CM3
        soft_planes[number] = (inside - fat) * SOFT_TISSUE_G_CM3
    # Each slice copies its height's plane, gathered along z so that the grid is written in memory order.
    for planes, values in ((fat_planes, tissues.fat_g_cm3), (soft_planes, tissues.soft_g_cm3)):
        np.take(
            np.ascontiguousarray(planes.transpose(1, 2, 0)), slice_height, axis=2, out=values, mode="clip"
        )


def add_bowel_gas(tissues: Tissues, body: BodyShape, rng: np.random.Generator, pockets: int) -> None:
    """Scatter ``pockets`` small gas-filled ellipsoids in the lower abdomen, above and between the hips."""
    half = body.hip_half_distance_mm
    for _ in range(pockets):
        centre = np.array([rng.uniform(-0.8, 0.8) * half, rng.uniform(-20.0, 60.0), rng.uniform(20.0, 150.0)])
        semi = rng.uniform(4.0, 13.0, size=3) * np.array([1.4, 0.8, 1.0])
        add_gas_pocket(tissues, centre, semi)


def add_gas_pocket(
    tissues: Tissues, centre_mm: npt.NDArray[np.float64], semi_mm: npt.NDArray[np.float64], gas: float = 1.0
) -> None:
    """Replace the tissue of an axis-aligned ellipsoid (semi-axes in mm) by a share ``gas`` of gas."""
    grid = tissues.grid
    box = grid.box(centre_mm - semi_mm - 2, centre_mm + semi_mm + 2)
    points = grid.points(box)
    if points.size == 0:
        return
    occupancy = shapes.occupancy(shapes.ellipsoid(points, centre_mm, np.eye(3), semi_mm), grid.voxel_mm)
    index = np.nonzero(occupancy > 0)
    shifted = tuple(i + s.start for i, s in zip(index, box, strict=True))
    tissues.add_air(shifted, occupancy[index] if gas == 1.0 else occupancy[index] * np.float32(gas))
