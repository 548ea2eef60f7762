"""Signed distance to a closed triangle surface, sampled once on a grid and read back trilinearly.

The inside of the surface is found by ray parity: rays along z through every column of voxel centres
count the surface crossings below each voxel (odd: inside). The distance is then the Euclidean distance
transform of the inside and of the outside (scipy.ndimage), corrected near the surface, where a voxel
staircase would show, by the distance to the plane of the nearest triangle (found through dense samples).
Negative inside, positive outside, in mm, as every shape of :mod:`hipbmd.sim.shapes`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage
from scipy.spatial import cKDTree

from hipbmd.sim.grid import Grid

Array = npt.NDArray[np.float32]
Triangles = npt.NDArray[np.int32]
NEAR_SURFACE_MM = 3.0  # band where the distance is measured to the triangles, not to voxel centres
SAMPLE_SPACING_MM = 0.7  # spacing of the points that find a voxel's nearest triangle


@dataclass(frozen=True)
class SampledDistance:
    """A signed distance (mm) sampled on a grid; points outside the grid get a distance at least as far.

    Attributes:
        grid: where the samples lie (mm, the frame of the points it is called with).
        distance_mm: the samples, shape ``grid.shape``.
    """

    grid: Grid
    distance_mm: Array

    def __call__(self, points_mm: Array) -> Array:
        """Trilinear signed distance at points (..., 3) in mm."""
        spacing, origin = np.asarray(self.grid.spacing_mm), np.asarray(self.grid.origin_mm)
        index = ((points_mm.reshape(-1, 3) - origin) / spacing).T
        inside = ndimage.map_coordinates(self.distance_mm, index, order=1, mode="nearest")
        upper = np.asarray(self.grid.shape) - 1
        beyond = np.linalg.norm((np.clip(index.T, 0, upper) - index.T) * spacing, axis=1)
        return np.asarray((inside + beyond).reshape(points_mm.shape[:-1]), np.float32)


def inside_mask(
    vertices_mm: npt.NDArray[np.float64], triangles: Triangles, grid: Grid
) -> npt.NDArray[np.bool_]:
    """Voxel centres of ``grid`` inside the closed surface (ray parity along z)."""
    spacing, origin = np.asarray(grid.spacing_mm), np.asarray(grid.origin_mm)
    local = (vertices_mm - origin) / spacing + np.array([1e-4, 2e-4, 0.0])  # no ray through a vertex
    corners = local[triangles]  # (T, 3, 3) in voxel units
    low = np.clip(np.ceil(corners[:, :, :2].min(axis=1)), 0, None).astype(int)
    high = np.minimum(np.floor(corners[:, :, :2].max(axis=1)), np.asarray(grid.shape[:2]) - 1).astype(int)
    owner, column = _covered_columns(low, np.maximum(high - low + 1, 0))
    z, hit = _crossing_height(corners[owner], column.astype(np.float64))
    crossings = np.zeros((grid.shape[0], grid.shape[1], grid.shape[2] + 1), np.int32)
    level = np.clip(np.ceil(z[hit]), 0, grid.shape[2]).astype(int)
    np.add.at(crossings, (column[hit, 0], column[hit, 1], level), 1)
    return np.asarray(np.cumsum(crossings, axis=2)[:, :, : grid.shape[2]] % 2 == 1)


def _covered_columns(
    low: npt.NDArray[np.int_], counts: npt.NDArray[np.int_]
) -> tuple[npt.NDArray[np.int_], npt.NDArray[np.int_]]:
    """Each triangle's (x, y) columns of voxel centres inside its bounding box: owner triangle, column."""
    sizes = counts[:, 0] * counts[:, 1]
    owner = np.repeat(np.arange(len(counts)), sizes)
    step = np.arange(len(owner)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    return owner, low[owner] + np.stack([step // counts[owner, 1], step % counts[owner, 1]], axis=1)


def _crossing_height(
    corners: npt.NDArray[np.float64], column: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Height (voxel units) where the vertical line at ``column`` (x, y) meets each triangle; if it does."""
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    e1, e2, p = b[:, :2] - a[:, :2], c[:, :2] - a[:, :2], column - a[:, :2]
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    safe = np.where(np.abs(det) > 1e-12, det, 1.0)
    u = (p[:, 0] * e2[:, 1] - p[:, 1] * e2[:, 0]) / safe
    v = (e1[:, 0] * p[:, 1] - e1[:, 1] * p[:, 0]) / safe
    hit = (np.abs(det) > 1e-12) & (u >= 0) & (v >= 0) & (u + v <= 1)
    return a[:, 2] + u * (b[:, 2] - a[:, 2]) + v * (c[:, 2] - a[:, 2]), hit


def surface_samples(
    vertices_mm: npt.NDArray[np.float64], triangles: Triangles, spacing_mm: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.intp]]:
    """Points covering every triangle at about ``spacing_mm`` (barycentric lattices), and their triangles."""
    corners = vertices_mm[triangles]
    longest = np.linalg.norm(corners - np.roll(corners, 1, axis=1), axis=2).max(axis=1)
    divisions = np.ceil(longest / spacing_mm).astype(int)
    samples, owners = [], []
    for n in np.unique(divisions):
        u, v = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
        keep = u + v <= n
        weights = np.stack([n - u[keep] - v[keep], u[keep], v[keep]], axis=1) / n
        chosen = np.nonzero(divisions == n)[0]
        samples.append(np.einsum("wk,tkj->twj", weights, corners[chosen]).reshape(-1, 3))
        owners.append(np.repeat(chosen, len(weights)))
    return np.concatenate(samples), np.concatenate(owners)


def distance_near_surface(
    vertices_mm: npt.NDArray[np.float64], triangles: Triangles, points_mm: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Unsigned distance (mm) from points near the surface: to the plane of the nearest sample's triangle.

    Exact where the foot of the perpendicular falls inside that triangle; near edges and corners the plane
    underestimates by a fraction of the sample spacing, so the nearest sample's distance bounds it.
    """
    samples, owners = surface_samples(vertices_mm, triangles, SAMPLE_SPACING_MM)
    gap, nearest = cKDTree(samples).query(points_mm, distance_upper_bound=NEAR_SURFACE_MM + 2.0)
    found = np.isfinite(gap)
    corners = vertices_mm[triangles[owners[nearest[found]]]]
    normal = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
    plane = np.abs(np.einsum("ij,ij->i", points_mm[found] - corners[:, 0], normal))
    distance = np.full(len(points_mm), NEAR_SURFACE_MM + 2.0)
    distance[found] = np.maximum(plane, gap[found] - SAMPLE_SPACING_MM)
    return distance


def mesh_distance(vertices_mm: npt.NDArray[np.float64], triangles: Triangles, grid: Grid) -> SampledDistance:
    """The closed surface's signed distance sampled on ``grid`` (mm; negative inside)."""
    inside = inside_mask(vertices_mm, triangles, grid)
    spacing = grid.spacing_mm
    outside_mm = ndimage.distance_transform_edt(~inside, sampling=spacing)
    inside_mm = ndimage.distance_transform_edt(inside, sampling=spacing)
    distance = np.where(inside, -inside_mm, outside_mm)
    near = np.nonzero(np.abs(distance) < NEAR_SURFACE_MM + grid.voxel_mm)
    centres = np.stack(near, axis=1) * np.asarray(spacing) + np.asarray(grid.origin_mm)
    exact = distance_near_surface(vertices_mm, triangles, centres)
    distance[near] = np.where(inside[near], -exact, exact)
    return SampledDistance(grid, np.asarray(distance, np.float32))
