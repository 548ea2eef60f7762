"""An analytic proximal femur (sphere head, hourglass neck, cylinder shaft, two trochanter balls) with
known landmarks, voxelised at 1 mm with partial-volume occupancy, for the DXA pose / ROI / CT-aBMD tests.

Local frame of the right femur (before the CT tilt): shaft axis along +z through the origin, the neck
base at the origin, neck-shaft angle 130°, anteversion 15° (the neck points medially = −x, anteriorly
= +y, superiorly). The neck radius is 14 + 0.02·(t − 32)² mm (capped at 24) at distance t from the head
centre, so its narrowest section is 32 mm from the head centre with a width of 28 mm.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy import ndimage

from hipbmd.drr.geometry import rotation_matrix_deg
from hipbmd.femur.landmarks import FemurLandmarks
from hipbmd.types import Volume

DENSITY_MG_CM3 = 1000.0
HEAD_RADIUS_MM = 22.0
NECK_LENGTH_MM = 60.0  # neck base → head centre
NARROWEST_FROM_HEAD_MM = 32.0
NECK_MIN_RADIUS_MM = 14.0
NECK_CURVATURE_PER_MM = 0.02
SHAFT_RADIUS_MM = 14.0
SHAFT_Z_MM = (-110.0, 5.0)
GREATER = (np.array([16.0, -4.0, 6.0]), 12.0)
LESSER = (np.array([-9.0, -9.0, -30.0]), 7.0)
NECK_SHAFT_ANGLE_DEG = 130.0
ANTEVERSION_DEG = 15.0
CT_TILT_DEG = (5.0, -4.0, 8.0)
CT_OFFSET_MM = np.array([90.0, -30.0, -700.0])
MIRROR = np.diag([-1.0, 1.0, 1.0])


def neck_axis_local() -> np.ndarray:
    """Unit neck axis (base → head) of the right femur in its local frame."""
    tilt = math.radians(180.0 - NECK_SHAFT_ANGLE_DEG)
    ante = math.radians(ANTEVERSION_DEG)
    return np.array([-math.sin(tilt) * math.cos(ante), math.sin(tilt) * math.sin(ante), math.cos(tilt)])


def neck_radius_mm(t_mm: np.ndarray) -> np.ndarray:
    """Neck radius at distance t from the head centre."""
    return np.minimum(NECK_MIN_RADIUS_MM + NECK_CURVATURE_PER_MM * (t_mm - NARROWEST_FROM_HEAD_MM) ** 2, 24.0)


def _inside_local(points: np.ndarray) -> np.ndarray:
    axis = neck_axis_local().astype(np.float32)
    rel = (NECK_LENGTH_MM * axis - points).astype(np.float32)  # from the point to the head centre
    t = rel @ axis
    squared = np.einsum("ij,ij->i", rel, rel)
    radial_sq = squared - t * t
    inside = squared <= HEAD_RADIUS_MM**2
    inside |= (t >= 0) & (t <= NECK_LENGTH_MM) & (radial_sq <= neck_radius_mm(t) ** 2)
    x, y, z = points[:, 0], points[:, 1], points[:, 2]
    inside |= (x * x + y * y <= SHAFT_RADIUS_MM**2) & (z >= SHAFT_Z_MM[0]) & (z <= SHAFT_Z_MM[1])
    for centre, radius in (GREATER, LESSER):
        d = points - centre
        inside |= np.einsum("ij,ij->i", d, d) <= radius**2
    return inside


def _to_world(local: np.ndarray) -> np.ndarray:
    return local @ rotation_matrix_deg(CT_TILT_DEG).T + CT_OFFSET_MM


def _to_local(world: np.ndarray) -> np.ndarray:
    return (world - CT_OFFSET_MM) @ rotation_matrix_deg(CT_TILT_DEG)


def landmarks(side: str = "right") -> FemurLandmarks:
    """Landmarks of the phantom in world RAS+ mm (the left femur mirrors the right in x)."""
    axis = neck_axis_local()
    head = NECK_LENGTH_MM * axis
    lesser_tip = LESSER[0] + LESSER[1] * np.array([-0.6, -0.8, 0.0])
    greater_top = GREATER[0] + np.array([0.0, 0.0, GREATER[1]])
    local_points = np.stack(
        [head, head - NARROWEST_FROM_HEAD_MM * axis, [0, 0, -60.0], lesser_tip, greater_top]
    )
    world = _to_world(local_points)
    rotation = rotation_matrix_deg(CT_TILT_DEG)
    neck, shaft = rotation @ axis, rotation @ np.array([0.0, 0.0, 1.0])
    if side == "left":
        world, neck, shaft = world @ MIRROR, MIRROR @ neck, MIRROR @ shaft
    return FemurLandmarks(side, world[0], HEAD_RADIUS_MM, neck, world[1], shaft, world[2], world[3], world[4])  # type: ignore[arg-type]


def volume(side: str = "right") -> Volume:
    """The phantom as a mg/cm³ volume on a 1 mm world-axis-aligned grid (left: the right one mirrored)."""
    right = _right_volume()
    if side == "right":
        return right
    affine = np.diag([-1.0, 1.0, 1.0, 1.0]) @ right.affine
    return Volume(right.array, affine, "mg/cm3", {"phantom": "analytic femur (left)"})


@functools.lru_cache(maxsize=1)
def _right_volume(spacing_mm: float = 1.0, supersample: int = 3) -> Volume:
    corners = np.array([[x, y, z] for x in (-70, 32) for y in (-20, 36) for z in (-112, 64)], float)
    world = _to_world(corners)
    low, high = world.min(axis=0) - 2.0, world.max(axis=0) + 2.0
    shape = tuple(int(v) for v in np.ceil((high - low) / spacing_mm))
    affine = np.diag([spacing_mm, spacing_mm, spacing_mm, 1.0])
    affine[:3, 3] = low
    index = np.stack(np.meshgrid(*(np.arange(n) for n in shape), indexing="ij"), axis=-1).reshape(-1, 3)
    centres = index * spacing_mm + low
    inside = _inside_local(_to_local(centres)).reshape(shape)
    occupancy = inside.astype(np.float32)
    cube = np.ones((3, 3, 3), bool)
    edge = np.argwhere(ndimage.binary_dilation(inside, cube) & ~ndimage.binary_erosion(inside, cube))
    steps = (np.arange(supersample) + 0.5) / supersample - 0.5
    offsets = np.stack(np.meshgrid(steps, steps, steps, indexing="ij"), axis=-1).reshape(-1, 3)
    for chunk in np.array_split(edge, max(1, len(edge) // 20000)):
        points = (chunk[:, None, :] + offsets[None]) * spacing_mm + low
        hits = _inside_local(_to_local(points.reshape(-1, 3))).reshape(len(chunk), -1)
        occupancy[chunk[:, 0], chunk[:, 1], chunk[:, 2]] = hits.mean(axis=1)
    array = (occupancy * DENSITY_MG_CM3).astype(np.float32)
    return Volume(array, affine, "mg/cm3", {"phantom": "analytic femur (right)"})
