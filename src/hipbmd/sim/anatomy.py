"""Assemble a virtual patient's body on a voxel grid: soft tissue, pelvis and both femurs in a joint pose.

The same patient is built twice per case: in the CT's joint pose and in the radiograph's. Femurs are
rigid, so the two builds differ only by the rotation of each femur about its head centre; the body and
pelvis are shared (the radiograph's patient pose relative to the room is the camera's business).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from hipbmd.femur.landmarks import FemurLandmarks, Side
from hipbmd.sim.body import add_body, add_bowel_gas
from hipbmd.sim.femur_bone import canonical_points, femur_fields, femur_surface, femur_texture
from hipbmd.sim.femur_shape import FemurPlacement, femur_frame, femur_landmarks
from hipbmd.sim.grid import Grid, index_points, near_voxels
from hipbmd.sim.pelvis import add_pelvis
from hipbmd.sim.population import Patient
from hipbmd.sim.tissues import LABELS, Tissues
from hipbmd.types import Volume

Array = npt.NDArray[np.float32]
CANAL_FAT_FRACTION = 0.9  # yellow marrow of the adult femoral canal
FEMUR_BOX_LOW_MM = np.array([-45.0, -50.0, -250.0])
FEMUR_BOX_HIGH_MM = np.array([95.0, 50.0, 40.0])


@dataclass(frozen=True)
class JointPose:
    """Hip joint angles of one examination, per side (degrees)."""

    flexion_deg: float = 0.0
    abduction_deg: float = 0.0
    external_rotation_deg: float = 0.0


def placement(patient: Patient, side: Side, joint: JointPose) -> FemurPlacement:
    """Where the femur of ``side`` sits for a joint pose."""
    sign = 1.0 if side == "right" else -1.0
    centre = (sign * patient.body.hip_half_distance_mm, 0.0, 0.0)
    return FemurPlacement(side, centre, joint.flexion_deg, joint.abduction_deg, joint.external_rotation_deg)


def build_surroundings(patient: Patient, grid: Grid, gas_rng: np.random.Generator) -> Tissues:
    """Everything but the femurs: body, bowel gas, pelvis (shared by the CT and the radiograph)."""
    tissues = Tissues.empty(grid)
    add_body(tissues, patient.body)
    add_bowel_gas(tissues, patient.body, gas_rng, int(gas_rng.integers(4, 14)))
    add_pelvis(tissues, patient.pelvis, patient_texture(patient), patient.marrow_fat_fraction)
    return tissues


def patient_texture(patient: Patient) -> Array:
    """The patient's trabecular grain (the same in every build)."""
    return _texture(patient.texture_seed)


@lru_cache(maxsize=2)
def _texture(seed: int) -> Array:
    texture = femur_texture(np.random.default_rng(seed))
    texture.flags.writeable = False
    return texture


def with_femurs(
    surroundings: Tissues, patient: Patient, joints: dict[Side, JointPose], copy: bool = True
) -> tuple[Tissues, dict[Side, FemurLandmarks]]:
    """``surroundings`` plus both femurs in ``joints`` (in a copy, or in place); also their landmarks."""
    tissues = surroundings.copy() if copy else surroundings
    texture = patient_texture(patient)
    landmarks: dict[Side, FemurLandmarks] = {}
    for side in ("right", "left"):
        where = placement(patient, side, joints.get(side, JointPose()))
        add_femur(tissues, patient, where, texture)
        landmarks[side] = femur_landmarks(patient.femur_shapes[side], where)
    return tissues, landmarks


def build_tissues(
    patient: Patient,
    grid: Grid,
    joints: dict[Side, JointPose],
    gas_rng: np.random.Generator,
) -> tuple[Tissues, dict[Side, FemurLandmarks]]:
    """The patient's body on ``grid`` with the femurs in ``joints``; also the femurs' landmarks."""
    return with_femurs(build_surroundings(patient, grid, gas_rng), patient, joints)


def femur_box_mm(where: FemurPlacement) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """World bounding box (mm) of a placed femur's canonical box."""
    corners = np.array(np.meshgrid(*zip(FEMUR_BOX_LOW_MM, FEMUR_BOX_HIGH_MM, strict=True), indexing="ij"))
    world = corners.reshape(3, -1).T @ where.rotation().T + np.asarray(where.head_centre_mm)
    return world.min(axis=0), world.max(axis=0)


def femur_voxels(
    grid: Grid, patient: Patient, where: FemurPlacement, shape_side: Side | None = None
) -> tuple[tuple[npt.NDArray[np.intp], ...], Array]:
    """Index and world points (mm) of the grid voxels the placed femur may touch.

    ``shape_side`` picks whose femur shape to use when it differs from the placement's side.
    """
    shape = patient.femur_shapes[shape_side or where.side]
    frame = femur_frame(shape)
    box = grid.box(*femur_box_mm(where))
    if any(s.stop <= s.start for s in box):
        empty = np.zeros(0, np.intp)
        return (empty, empty, empty), np.zeros((0, 3), np.float32)

    def surface(points: Array) -> Array:
        return femur_surface(canonical_points(points, where), shape, frame)

    index = near_voxels(grid, box, surface)
    return index, index_points(grid, index)


def add_femur(tissues: Tissues, patient: Patient, where: FemurPlacement, texture: Array) -> None:
    """Add one femur to the tissues."""
    index, points = femur_voxels(tissues.grid, patient, where)
    if not len(points):
        return
    fields = femur_fields(
        points,
        patient.femur_shapes[where.side],
        patient.femur_densities[where.side],
        where,
        texture,
        tissues.grid.voxel_mm,
    )
    inside = fields.occupancy > 0
    occupancy = fields.occupancy[inside]
    cavity = fields.marrow_cavity[inside] / np.maximum(occupancy, np.float32(1e-6))
    share = np.float32(patient.marrow_fat_fraction)
    marrow_fat = np.asarray(share + (np.float32(CANAL_FAT_FRACTION) - share) * cavity, np.float32)
    kept = tuple(i[inside] for i in index)
    tissues.add_bone(
        kept, occupancy, fields.mineral_mg_cm3[inside], marrow_fat, LABELS[f"femur_{where.side}"]
    )


def femur_density_volume(patient: Patient, side: Side, joint: JointPose, spacing_mm: float = 1.0) -> Volume:
    """The femur of ``side`` alone as a mineral density Volume (mg/cm³).

    The femur is sampled on a grid of its own canonical frame; the Volume's affine carries the placement
    (rotation, and the mirror of a left femur), so no resampling blurs it whatever the joint pose.
    """
    where = placement(patient, side, joint)
    canonical = FemurPlacement("right", (0.0, 0.0, 0.0))
    grid = Grid.covering(FEMUR_BOX_LOW_MM, FEMUR_BOX_HIGH_MM, (spacing_mm,) * 3)
    index, points = femur_voxels(grid, patient, canonical, shape_side=side)
    values = np.zeros(grid.shape, np.float32)
    fields = femur_fields(
        points,
        patient.femur_shapes[side],
        patient.femur_densities[side],
        canonical,
        patient_texture(patient),
        grid.voxel_mm,
    )
    values[index] = fields.mineral_mg_cm3
    placed = np.eye(4)
    placed[:3, :3] = where.rotation()
    placed[:3, 3] = where.head_centre_mm
    return Volume(values, placed @ grid.affine, "mg/cm3", {"structure": f"femur_{side}"})
