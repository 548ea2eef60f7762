"""Assemble a virtual patient's body on a voxel grid: soft tissue, pelvis and both femurs in a joint pose.

The surroundings (body, bowel gas, pelvis) are built once per case. The CT adds the femurs in the CT's
joint pose into the grid; the radiograph renders the surroundings and adds each femur from its own
canonical grid in the radiograph's joint pose (:mod:`hipbmd.sim.femur_model`), since femurs are rigid and
a hip's pose only turns the femur about its head centre.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from hipbmd.femur.landmarks import FemurLandmarks
from hipbmd.sim import sdf_program as sdf
from hipbmd.sim import shapes
from hipbmd.sim.body import add_body, add_bowel_gas
from hipbmd.sim.femur_bone import femur_fields, femur_texture
from hipbmd.sim.femur_model import CANAL_FAT_FRACTION, FemurModel, femur_model, femur_voxels
from hipbmd.sim.femur_shape import FemurPlacement, femur_landmarks
from hipbmd.sim.grid import Grid, index_points, near_voxels
from hipbmd.sim.implants import Implant, acetabular_shell
from hipbmd.sim.pelvis import add_pelvis
from hipbmd.sim.pelvis_mesh import add_mesh_pelvis
from hipbmd.sim.population import Patient
from hipbmd.sim.real_ct_anatomy import load_real_ct_anatomy
from hipbmd.sim.real_ct_overlay import overlay_real_ct
from hipbmd.sim.tissues import LABELS, Tissues
from hipbmd.sim.wide_gas import add_wide_bowel_gas
from hipbmd.types import Side

Array = npt.NDArray[np.float32]


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
    """Everything but the femurs: body, bowel gas, pelvis (shared by the CT and the radiograph).

    A ``real_ct`` patient's scan then replaces them wherever it reaches (:mod:`hipbmd.sim.real_ct_overlay`).
    """
    tissues = Tissues.empty(grid)
    add_body(tissues, patient.body)
    if patient.anatomy_source == "parametric_wide":
        add_wide_bowel_gas(tissues, patient.body, gas_rng)
    elif patient.real_ct is None:  # a real CT brings its own gas
        add_bowel_gas(tissues, patient.body, gas_rng, int(gas_rng.integers(3, 16)))
    if patient.anatomy_source == "shape_model":
        add_mesh_pelvis(tissues, patient.pelvis, patient_texture(patient), patient.marrow_fat_fraction)
    else:
        add_pelvis(tissues, patient.pelvis, patient_texture(patient), patient.marrow_fat_fraction)
    if patient.real_ct is not None:
        overlay_real_ct(tissues, load_real_ct_anatomy(), patient.real_ct)
    if patient.implant is not None and patient.implant.kind == "arthroplasty":
        _add_shell(tissues, patient, patient.implant)
    return tissues


def _add_shell(tissues: Tissues, patient: Patient, implant: Implant) -> None:
    """The arthroplasty's acetabular shell, lining the socket."""
    sign = 1.0 if implant.side == "right" else -1.0
    centre = np.array([sign * patient.body.hip_half_distance_mm, 0.0, 0.0])
    socket = patient.pelvis.head_radius_mm + patient.pelvis.joint_space_mm
    parts = acetabular_shell(implant, centre, socket)
    box = tissues.grid.box(centre - socket - 4.0, centre + socket + 4.0)
    index = near_voxels(tissues.grid, box, lambda p: sdf.evaluate(p, parts))
    fraction = shapes.occupancy(sdf.evaluate(index_points(tissues.grid, index), parts), tissues.grid.voxel_mm)
    present = fraction > 0
    tissues.add_metal(tuple(i[present] for i in index), fraction[present], "titanium")


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


def add_femur(tissues: Tissues, patient: Patient, where: FemurPlacement, texture: Array) -> None:
    """Add one femur to the tissues."""
    index, points = femur_voxels(tissues.grid, patient.femur_shapes[where.side], where)
    if not len(points):
        return
    fields = femur_fields(
        points,
        patient.femur_shapes[where.side],
        patient.femur_densities[where.side],
        where,
        texture,
        tissues.grid.voxel_mm,
        patient_implant(patient, where.side),
    )
    inside = fields.occupancy > 0
    occupancy = fields.occupancy[inside]
    cavity = fields.marrow_cavity[inside] / np.maximum(occupancy, np.float32(1e-6))  # same as FemurModel
    share = np.float32(patient.marrow_fat_fraction)
    marrow_fat = np.asarray(share + (np.float32(CANAL_FAT_FRACTION) - share) * cavity, np.float32)
    kept = tuple(i[inside] for i in index)
    tissues.add_bone(
        kept, occupancy, fields.mineral_mg_cm3[inside], marrow_fat, LABELS[f"femur_{where.side}"]
    )
    for metal, fraction in fields.metal.items():
        present = fraction > 0
        tissues.add_metal(tuple(i[present] for i in index), fraction[present], metal)


def patient_implant(patient: Patient, side: Side) -> Implant | None:
    """The patient's implant in the femur of ``side``, if any."""
    implant = patient.implant
    return implant if implant is not None and implant.side == side else None


def patient_femur(patient: Patient, side: Side, spacing_mm: float = 1.0) -> FemurModel:
    """The patient's femur of ``side`` sampled on its canonical grid."""
    return femur_model(
        side,
        patient.femur_shapes[side],
        patient.femur_densities[side],
        patient_texture(patient),
        patient.marrow_fat_fraction,
        spacing_mm,
        patient_implant(patient, side),
    )
