"""Femur geometry and placement: landmarks of a known shape, joint motions, and the femur's density volume."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.typing as npt
import pytest

from hipbmd.drr.geometry import PoseParameters
from hipbmd.drr.render import render
from hipbmd.femur.landmarks import FemurLandmarks
from hipbmd.sim.anatomy import (
    JointPose,
    add_femur,
    build_tissues,
    patient_femur,
    patient_texture,
    placement,
)
from hipbmd.sim.case import working_grid
from hipbmd.sim.femur_bone import canonical_points, femur_surface
from hipbmd.sim.femur_model import FemurModel, femur_box_mm
from hipbmd.sim.femur_shape import FemurPlacement, FemurShape, femur_frame, femur_landmarks
from hipbmd.sim.grid import Grid
from hipbmd.sim.population import Patient, sample_patient
from hipbmd.sim.tissues import LABELS, SOFT_TISSUE_G_CM3, Tissues
from hipbmd.types import Camera, Side, Volume

SHAPE = FemurShape(neck_shaft_angle_deg=123.0, anteversion_deg=17.0, shaft_adduction_deg=7.0)
HIP_MM = 85.0
SIDES: tuple[Side, Side] = ("right", "left")
POSES = [JointPose(), JointPose(12.0, 6.0, 20.0), JointPose(-8.0, -4.0, -10.0)]
SPACING_MM = 2.0


def _sign(side: Side) -> float:
    return 1.0 if side == "right" else -1.0


def _landmarks(side: Side, joint: JointPose | None = None, shape: FemurShape = SHAPE) -> FemurLandmarks:
    joint = joint or JointPose()
    where = FemurPlacement(
        side,
        (_sign(side) * HIP_MM, 0.0, 0.0),
        joint.flexion_deg,
        joint.abduction_deg,
        joint.external_rotation_deg,
    )
    return femur_landmarks(shape, where)


def _angle_deg(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return math.degrees(math.acos(float(np.clip(a @ b / np.linalg.norm(a) / np.linalg.norm(b), -1, 1))))


def _knee_mm(marks: FemurLandmarks) -> npt.NDArray[np.float64]:
    """A point 150 mm down the shaft axis from the head centre."""
    return np.asarray(marks.head_centre_mm - 150.0 * marks.shaft_axis)


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("joint", POSES)
def test_neck_axis_meets_the_shaft_at_the_neck_shaft_angle(side: Side, joint: JointPose) -> None:
    marks = _landmarks(side, joint)
    assert _angle_deg(marks.neck_axis, -marks.shaft_axis) == pytest.approx(123.0, abs=1e-6)


@pytest.mark.parametrize("side", SIDES)
def test_neck_is_turned_forwards_by_the_anteversion(side: Side) -> None:
    marks = _landmarks(side)
    shaft = marks.shaft_axis
    assert shaft[1] == pytest.approx(0.0, abs=1e-12)  # the shaft stays in the coronal plane
    lateral = np.array([_sign(side), 0.0, 0.0])
    lateral -= (lateral @ shaft) * shaft
    lateral /= np.linalg.norm(lateral)
    neck = marks.neck_axis
    # the neck points medially (towards the head) and forwards
    anteversion = math.degrees(math.atan2(neck @ [0.0, 1.0, 0.0], -(neck @ lateral)))
    assert anteversion == pytest.approx(17.0, abs=1e-6)
    # the shaft leans with its distal end medial by the adduction angle
    assert _angle_deg(shaft, [0.0, 0.0, 1.0]) == pytest.approx(7.0, abs=1e-6)
    assert shaft[0] * _sign(side) > 0


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("joint", POSES)
def test_head_centre_is_the_placement(side: Side, joint: JointPose) -> None:
    marks = _landmarks(side, joint)
    np.testing.assert_allclose(marks.head_centre_mm, [_sign(side) * HIP_MM, 0.0, 0.0], atol=1e-9)
    assert marks.head_radius_mm == SHAPE.head_radius_mm
    assert marks.side == side


def test_landmarks_lie_where_they_say_on_the_bone() -> None:
    frame = femur_frame(SHAPE)
    marks = _landmarks("right")  # neutral right femur at (HIP, 0, 0): world = canonical + offset
    points = np.stack(
        [
            marks.head_centre_mm,
            marks.neck_narrowest_mm,
            marks.shaft_point_mm,
            marks.lesser_trochanter_mm,
            marks.greater_trochanter_mm,
        ]
    ) - [HIP_MM, 0.0, 0.0]
    head, narrowest, shaft, lesser, greater = femur_surface(points.astype(np.float32), SHAPE, frame)
    assert head == pytest.approx(-SHAPE.head_radius_mm, abs=0.5)
    assert narrowest < -5.0 and shaft < -5.0  # inside the neck and the shaft
    assert abs(lesser) < 0.5 and abs(greater) < 0.5  # tips on the surface
    assert marks.greater_trochanter_mm[2] > marks.lesser_trochanter_mm[2] + 40.0
    assert marks.lesser_trochanter_mm[0] < marks.greater_trochanter_mm[0]  # lesser medial, greater lateral


@pytest.mark.parametrize("joint", POSES)
def test_left_femur_is_the_mirror_image_of_the_right(joint: JointPose) -> None:
    right, left = _landmarks("right", joint), _landmarks("left", joint)
    mirror = np.array([-1.0, 1.0, 1.0])
    for name in (
        "head_centre_mm",
        "neck_axis",
        "neck_narrowest_mm",
        "shaft_axis",
        "shaft_point_mm",
        "lesser_trochanter_mm",
        "greater_trochanter_mm",
    ):
        np.testing.assert_allclose(
            getattr(left, name), getattr(right, name) * mirror, atol=1e-9, err_msg=name
        )
    assert left.head_radius_mm == right.head_radius_mm


@pytest.mark.parametrize("side", SIDES)
def test_flexion_moves_the_knee_and_the_lesser_trochanter_forwards(side: Side) -> None:
    neutral, flexed = _landmarks(side), _landmarks(side, JointPose(flexion_deg=20.0))
    knee_shift = _knee_mm(flexed) - _knee_mm(neutral)
    assert knee_shift[1] == pytest.approx(150.0 * math.sin(math.radians(20.0)), rel=0.05)
    assert abs(knee_shift[0]) < 1.0
    assert flexed.lesser_trochanter_mm[1] > neutral.lesser_trochanter_mm[1] + 10.0


@pytest.mark.parametrize("side", SIDES)
def test_abduction_moves_the_knee_laterally(side: Side) -> None:
    neutral, abducted = _landmarks(side), _landmarks(side, JointPose(abduction_deg=15.0))
    lateral_shift = _sign(side) * (_knee_mm(abducted) - _knee_mm(neutral))[0]
    assert lateral_shift > 30.0
    assert abs((_knee_mm(abducted) - _knee_mm(neutral))[1]) < 1.0
    assert _sign(side) * (abducted.lesser_trochanter_mm - neutral.lesser_trochanter_mm)[0] > 5.0


@pytest.mark.parametrize("side", SIDES)
def test_external_rotation_turns_the_greater_trochanter_back_and_the_neck_forwards(side: Side) -> None:
    neutral, rotated = _landmarks(side), _landmarks(side, JointPose(external_rotation_deg=20.0))
    assert rotated.greater_trochanter_mm[1] < neutral.greater_trochanter_mm[1] - 5.0
    assert rotated.neck_axis[1] > neutral.neck_axis[1] + 0.1


# --- the femur's density volume --------------------------------------------------------------------


JOINTS: dict[Side, JointPose] = {"right": JointPose(10.0, 5.0, 15.0), "left": JointPose(-5.0, 8.0, 20.0)}


@pytest.fixture(scope="module")
def patient() -> Patient:
    return dataclasses.replace(sample_patient(np.random.default_rng(3)), implant=None)


@pytest.fixture(scope="module")
def body(patient: Patient) -> tuple[Tissues, dict[Side, FemurLandmarks]]:
    """The whole body on a coarse grid with both femurs in ``JOINTS``."""
    return build_tissues(patient, working_grid(patient, 3.0), JOINTS, np.random.default_rng(0))


@pytest.fixture(scope="module")
def femurs(patient: Patient) -> dict[Side, FemurModel]:
    return {side: patient_femur(patient, side, SPACING_MM) for side in SIDES}


def _voxel_points(volume: Volume) -> npt.NDArray[np.float64]:
    index = np.indices(volume.shape).reshape(3, -1).T
    return np.asarray(index @ volume.affine[:3, :3].T + volume.affine[:3, 3])


def _ap_camera(marks: FemurLandmarks) -> Camera:
    """An AP view of the proximal femur, 3 mm detector pixels."""
    centre = marks.head_centre_mm + np.array([0.0, 0.0, -50.0])
    pose = PoseParameters(isocenter_mm=tuple(float(v) for v in centre), sod_mm=1000.0)  # type: ignore[arg-type]
    return Camera((70, 50), (3.0, 3.0), 1150.0, pose=pose.to_pose())


def _correlation(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


@pytest.mark.parametrize("side", SIDES)
def test_density_is_zero_outside_the_placed_femur(
    side: Side, patient: Patient, femurs: dict[Side, FemurModel]
) -> None:
    where = placement(patient, side, JOINTS[side])
    volume = femurs[side].density(where)
    assert volume.unit == "mg/cm3" and volume.meta["structure"] == f"femur_{side}"
    values = volume.array.reshape(-1)
    shape = patient.femur_shapes[side]
    canonical = canonical_points(_voxel_points(volume).astype(np.float32), where)
    distance = femur_surface(canonical, shape, femur_frame(shape))
    bone = values > 0
    assert bone.sum() > 1000 and np.all(values >= 0)
    # a voxel holds mineral only if the surface passes within half a voxel of its centre
    assert distance[bone].max() < SPACING_MM / 2 + 1e-3
    assert np.all(values[distance > SPACING_MM / 2 + 1e-3] == 0)


@pytest.mark.parametrize("side", SIDES)
def test_density_affine_puts_the_head_at_the_landmark_head_centre(
    side: Side, patient: Patient, femurs: dict[Side, FemurModel]
) -> None:
    where = placement(patient, side, JOINTS[side])
    marks = femur_landmarks(patient.femur_shapes[side], where)
    volume = femurs[side].density(where)
    points, values = _voxel_points(volume), volume.array.reshape(-1)
    head = np.linalg.norm(points - marks.head_centre_mm, axis=1) < 0.7 * marks.head_radius_mm
    expected_count = 4 / 3 * math.pi * (0.7 * marks.head_radius_mm) ** 3 / SPACING_MM**3
    assert head.sum() == pytest.approx(expected_count, rel=0.1)
    assert np.all(values[head] > 0)
    centroid = (points[head] * values[head, None]).sum(axis=0) / values[head].sum()
    assert np.linalg.norm(centroid - marks.head_centre_mm) < 1.5


def test_proximal_only_keeps_the_same_voxels_in_the_same_place(
    patient: Patient, femurs: dict[Side, FemurModel]
) -> None:
    where = placement(patient, "left", JOINTS["left"])
    full, proximal = femurs["left"].density(where), femurs["left"].density(where, proximal_only=True)
    cut = full.shape[2] - proximal.shape[2]
    assert 0 < cut < full.shape[2]
    np.testing.assert_array_equal(proximal.array, full.array[:, :, cut:])
    np.testing.assert_allclose(proximal.voxel_to_world_mm([3, 4, 0]), full.voxel_to_world_mm([3, 4, cut]))


@pytest.mark.parametrize("side", SIDES)
def test_density_renders_like_the_femur_built_on_a_world_grid(
    side: Side, patient: Patient, femurs: dict[Side, FemurModel]
) -> None:
    where = placement(patient, side, JOINTS[side])
    camera = _ap_camera(femur_landmarks(patient.femur_shapes[side], where))
    tissues = Tissues.empty(Grid.covering(*femur_box_mm(where), (SPACING_MM,) * 3))
    add_femur(tissues, patient, where, patient_texture(patient))
    built = render(Volume(tissues.mineral_mg_cm3, tissues.grid.affine, "mg/cm3"), camera).images[0]
    placed = render(femurs[side].density(where), camera).images[0]
    # two different samplings of the same bone: the mass agrees closely, pixels up to grazing cortex
    assert placed.sum() == pytest.approx(built.sum(), rel=0.02)
    assert _correlation(placed, built) > 0.98


@pytest.mark.parametrize("side", SIDES)
def test_density_renders_like_the_femur_labelled_in_the_whole_body(
    side: Side,
    patient: Patient,
    femurs: dict[Side, FemurModel],
    body: tuple[Tissues, dict[Side, FemurLandmarks]],
) -> None:
    tissues, marks = body
    camera = _ap_camera(marks[side])
    mineral = Volume(tissues.mineral_mg_cm3, tissues.grid.affine, "mg/cm3")
    labelled = render(mineral, camera, tissues.label_volume(), [LABELS[f"femur_{side}"]]).images[0]
    placed = render(femurs[side].density(placement(patient, side, JOINTS[side])), camera).images[0]
    # the label keeps voxels at least half inside the femur: partial surface voxels (cortex!) drop out
    assert 0.8 < labelled.sum() / placed.sum() < 1.02
    assert _correlation(placed, labelled) > 0.95


@pytest.mark.parametrize("side", SIDES)
def test_tissue_change_adds_what_the_ct_build_adds(
    side: Side, patient: Patient, femurs: dict[Side, FemurModel]
) -> None:
    """The radiograph's femur (a change to soft tissue) holds the same masses as the CT's femur.

    Compared above 200 mm below the head centre: the two samplings cut the distal shaft differently.
    """
    where = placement(patient, side, JOINTS[side])
    grid = Grid.covering(*femur_box_mm(where), (SPACING_MM,) * 3)
    tissues = Tissues.empty(grid)
    tissues.soft_g_cm3[:] = SOFT_TISSUE_G_CM3
    add_femur(tissues, patient, where, patient_texture(patient))
    world = grid.points(tuple(slice(0, n) for n in grid.shape))  # type: ignore[arg-type]
    kept = canonical_points(world, where)[..., 2] > -200.0
    voxel_cm3 = SPACING_MM**3 / 1000.0
    built = {
        "ha": tissues.mineral_mg_cm3[kept].sum() * voxel_cm3,
        "soft": (tissues.soft_g_cm3[kept] - SOFT_TISSUE_G_CM3).sum() * 1000.0 * voxel_cm3,
        "fat": tissues.fat_g_cm3[kept].sum() * 1000.0 * voxel_cm3,
    }  # mg
    change = femurs[side].tissue_change(where)
    assert set(change) == {"ha", "soft", "fat"}
    model_grid = femurs[side].grid
    canonical_z = model_grid.origin_mm[2] + np.arange(model_grid.shape[2]) * model_grid.spacing_mm[2]
    for material, mass_mg in built.items():
        assert change[material].unit == "mg/cm3"
        placed = change[material].array[:, :, canonical_z > -200.0].sum() * voxel_cm3
        assert placed == pytest.approx(mass_mg, rel=0.02), material
    assert built["soft"] < 0 < built["fat"]  # bone displaces more muscle than it brings collagen
