"""The bony pelvis around the hips: acetabulum with its rim, ilium, ischium, pubic rami, and the sacrum.

Shapes are given for the right half in the world frame of :mod:`hipbmd.sim.body` (hip centres at
(±h, 0, 0)) and mirrored for the left. Proportions follow adult pelvic anatomy: the acetabulum opens
about 45° from horizontal and 15–20° forward; the iliac wing runs from the sacroiliac joint (posterior,
medial) to the anterior superior iliac spine (anterior, lateral); the pubic rami and the ischium frame the
obturator foramen. Each part is cortical shell around trabecular bone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hipbmd.sim import sdf_program as sdf
from hipbmd.sim import shapes
from hipbmd.sim.femur_bone import sample_texture
from hipbmd.sim.grid import Grid, index_points, near_voxels
from hipbmd.sim.tissues import LABELS, Tissues

Array = npt.NDArray[np.float32]


@dataclass(frozen=True)
class PelvisShape:
    """Pelvic dimensions and densities.

    Attributes:
        hip_half_distance_mm: distance of each hip joint centre from the midline.
        head_radius_mm: femoral head radius (the acetabulum fits it).
        joint_space_mm: cartilage gap between the head and the acetabulum.
        scale: overall size factor.
        cortical_mg_cm3, trabecular_mg_cm3: mineral density of the pelvis (HA mg/cm³).
    """

    hip_half_distance_mm: float = 90.0
    head_radius_mm: float = 24.0
    joint_space_mm: float = 3.5
    scale: float = 1.0
    cortical_mg_cm3: float = 850.0
    trabecular_mg_cm3: float = 170.0


def _unit(vector: tuple[float, float, float]) -> npt.NDArray[np.float64]:
    values = np.asarray(vector, np.float64)
    return values / np.linalg.norm(values)


def hip_bone_parts(pelvis: PelvisShape) -> list[sdf.Part]:
    """The right hip bone as a program of primitives."""
    s, h = pelvis.scale, pelvis.hip_half_distance_mm
    hip = np.array([h, 0.0, 0.0])
    inner = pelvis.head_radius_mm + pelvis.joint_space_mm
    opening = _unit((0.68, 0.3, -0.67))
    along, up = _unit((0.8, 0.6, 0.0)), _unit((0.3, 0.0, 1.0))
    wing_axes = np.stack([along, up, np.cross(along, up)])
    pubic_body = s * np.array([16.0, 40.0, -48.0])
    tuberosity = s * np.array([58.0, -28.0, -88.0])
    sacroiliac = s * np.array([42.0, -58.0, 62.0])
    brim = s * np.array([62.0, -12.0, 22.0])  # the arcuate line: the ring of the pelvic inlet
    ramus_start = hip + s * np.array([-24.0, 16.0, -6.0])
    return [
        sdf.cup(hip, inner, inner + 11.0 * s, opening, 0.2 * inner),
        sdf.ellipsoid(
            hip + s * np.array([-8.0, -8.0, 30.0]), np.eye(3), s * np.array([24.0, 30.0, 26.0]), 8.0
        ),
        sdf.ellipsoid(s * np.array([88.0, -20.0, 66.0]), wing_axes, s * np.array([66.0, 64.0, 5.5]), 12.0),
        sdf.capsule(sacroiliac, brim, 8.0 * s, 7.0 * s, 6.0),
        sdf.capsule(brim, ramus_start, 7.0 * s, 8.0 * s, 6.0),
        sdf.capsule(ramus_start, pubic_body, 10.0 * s, 8.0 * s, 6.0),
        sdf.capsule(hip + s * np.array([-6.0, -22.0, -22.0]), tuberosity, 14.0 * s, 12.0 * s, 6.0),
        sdf.capsule(pubic_body - s * np.array([-2.0, 8.0, 20.0]), tuberosity, 7.0 * s, 8.0 * s, 6.0),
        sdf.ellipsoid(pubic_body, np.eye(3), s * np.array([12.0, 9.0, 20.0]), 6.0),
    ]


def sacrum_parts(pelvis: PelvisShape) -> list[sdf.Part]:
    """The sacrum (wide alae narrowing to the coccyx) with the bodies of the two lowest lumbar vertebrae."""
    s = pelvis.scale
    return [
        sdf.ellipsoid(s * np.array([0.0, -58.0, 74.0]), np.eye(3), s * np.array([54.0, 17.0, 20.0])),
        sdf.capsule(
            s * np.array([0.0, -62.0, 70.0]), s * np.array([0.0, -84.0, 2.0]), 30.0 * s, 9.0 * s, 10.0
        ),
        sdf.ellipsoid(s * np.array([0.0, -38.0, 108.0]), np.eye(3), s * np.array([26.0, 18.0, 13.0]), 4.0),
        sdf.ellipsoid(s * np.array([0.0, -34.0, 140.0]), np.eye(3), s * np.array([25.0, 17.0, 13.0])),
    ]


def add_pelvis(tissues: Tissues, pelvis: PelvisShape, texture: Array, marrow_fat_fraction: float) -> None:
    """Add both hip bones and the sacrum to the tissues."""
    half = pelvis.hip_half_distance_mm * pelvis.scale
    for side, sign in (("right", 1.0), ("left", -1.0)):
        low = np.array([-2.0, -130.0, -130.0]) * pelvis.scale  # from the midline: the symphysis
        high = np.array([half + 60.0, 90.0, 160.0]) * pelvis.scale
        box_low, box_high = (
            (low, high)
            if sign > 0
            else (np.array([-high[0], low[1], low[2]]), np.array([-low[0], high[1], high[2]]))
        )

        parts = hip_bone_parts(pelvis)

        def surface(p: Array, sign: float = sign, parts: list[sdf.Part] = parts) -> Array:
            return sdf.evaluate(p * np.array([sign, 1.0, 1.0], np.float32), parts)

        add_bone_part(
            tissues, box_low, box_high, surface, pelvis, texture, marrow_fat_fraction, LABELS[f"hip_{side}"]
        )
    reach = np.array([60.0, 150.0, 190.0]) * pelvis.scale
    add_bone_part(
        tissues,
        np.array([-60.0, -150.0, -20.0]) * pelvis.scale,
        reach,
        lambda p: sdf.evaluate(p, sacrum_parts(pelvis)),
        pelvis,
        texture,
        marrow_fat_fraction,
        LABELS["sacrum"],
    )


def add_bone_part(
    tissues: Tissues,
    low_mm: npt.NDArray[np.float64],
    high_mm: npt.NDArray[np.float64],
    surface: Callable[[Array], Array],
    pelvis: PelvisShape,
    texture: Array,
    marrow_fat_fraction: float,
    label: int,
) -> None:
    """Add one bone of signed distance ``surface`` within [low, high] (world mm): cortex over trabecula."""
    grid: Grid = tissues.grid
    box = grid.box(low_mm, high_mm)
    if any(s.stop <= s.start for s in box):
        return
    index = near_voxels(grid, box, surface)
    points = index_points(grid, index)
    distance = surface(points)
    occupancy = shapes.occupancy(distance, grid.voxel_mm)
    keep = occupancy > 0
    index = tuple(i[keep] for i in index)
    distance, occupancy, points = distance[keep], occupancy[keep], points[keep]
    interior = shapes.occupancy(distance + 1.3, grid.voxel_mm)
    grain = np.clip(
        1.0 + 0.4 * sample_texture(texture, np.abs(points) * np.float32(0.9), wrap=True), 0.0, None
    )
    mineral = (occupancy - interior) * pelvis.cortical_mg_cm3 + interior * pelvis.trabecular_mg_cm3 * grain
    tissues.add_bone(index, occupancy, mineral, marrow_fat_fraction, label)
