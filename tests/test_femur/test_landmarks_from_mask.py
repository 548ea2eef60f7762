"""Landmarks measured on femur masks against the simulator's analytic truth, and the refusals."""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pytest

from hipbmd.femur.ct_abmd import ct_abmd
from hipbmd.femur.ct_bmd import measure_side
from hipbmd.femur.landmarks import FemurLandmarks
from hipbmd.femur.landmarks_from_mask import LandmarkError, landmarks_from_mask, measure_landmarks
from hipbmd.io.ct import read_labels
from hipbmd.sim.anatomy import JointPose, patient_femur, placement
from hipbmd.sim.femur_model import FemurModel
from hipbmd.sim.femur_shape import FemurPlacement, femur_landmarks
from hipbmd.sim.population import sample_patient
from hipbmd.types import Side, Volume

POSES = {
    "neutral": JointPose(),
    "flexed": JointPose(flexion_deg=10.0, abduction_deg=5.0, external_rotation_deg=15.0),
    "extended": JointPose(flexion_deg=-10.0, abduction_deg=-3.0, external_rotation_deg=30.0),
}


@functools.lru_cache(maxsize=8)
def _femur(seed: int, side: Side, spacing_mm: float) -> FemurModel:
    return patient_femur(sample_patient(np.random.default_rng(seed)), side, spacing_mm)


def _case(
    seed: int, side: Side, pose: str, spacing_mm: float = 1.0
) -> tuple[Volume, FemurLandmarks, FemurModel, FemurPlacement]:
    """A placed femur mask (label 1), its true landmarks, the femur and its placement."""
    patient = sample_patient(np.random.default_rng(seed))
    where = placement(patient, side, POSES[pose])
    femur = _femur(seed, side, spacing_mm)
    labels = Volume((femur.occupancy > 0.5).astype(np.int16), femur.affine(where), "label")
    return labels, femur_landmarks(patient.femur_shapes[side], where), femur, where


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    return math.degrees(math.acos(float(np.clip(a @ b, -1.0, 1.0))))


def _errors(found: FemurLandmarks, truth: FemurLandmarks) -> dict[str, float]:
    return {
        "head_mm": float(np.linalg.norm(found.head_centre_mm - truth.head_centre_mm)),
        "radius_mm": abs(found.head_radius_mm - truth.head_radius_mm),
        "neck_deg": _angle_deg(found.neck_axis, truth.neck_axis),
        "shaft_deg": _angle_deg(found.shaft_axis, truth.shaft_axis),
        "narrowest_mm": float(np.linalg.norm(found.neck_narrowest_mm - truth.neck_narrowest_mm)),
        "lesser_mm": float(np.linalg.norm(found.lesser_trochanter_mm - truth.lesser_trochanter_mm)),
        "greater_mm": float(np.linalg.norm(found.greater_trochanter_mm - truth.greater_trochanter_mm)),
    }


@pytest.mark.parametrize(
    ("seed", "side", "pose"),
    [(0, "right", "neutral"), (0, "left", "flexed"), (1, "right", "extended"), (2, "left", "neutral")],
)
def test_landmarks_match_the_truth_at_1_mm(seed: int, side: Side, pose: str) -> None:
    labels, truth, _, _ = _case(seed, side, pose)
    fit = measure_landmarks(labels, 1, side)
    assert fit.landmarks is not None and fit.flags == []
    assert fit.landmarks.side == side
    errors = _errors(fit.landmarks, truth)
    limits = {"head_mm": 1.0, "radius_mm": 1.0, "neck_deg": 4.0, "shaft_deg": 1.0}
    limits |= {"narrowest_mm": 5.0, "lesser_mm": 8.0, "greater_mm": 8.0}
    assert all(errors[k] <= limits[k] for k in limits), errors


def test_a_small_head_is_found_where_the_trochanteric_region_is_as_deep() -> None:
    """Seed 15 draws a 19.3 mm head: its trochanteric region's deepest voxel lies deeper than the head's,
    and a sphere fit started there finds no head (RMS 5 mm, radius 28 mm). The head is the fit that
    follows its points most closely."""
    labels, truth, _, _ = _case(15, "right", "neutral")
    assert truth.head_radius_mm < 19.5
    fit = measure_landmarks(labels, 1, "right")
    assert fit.landmarks is not None and fit.flags == []
    errors = _errors(fit.landmarks, truth)
    assert errors["head_mm"] <= 1.0 and errors["radius_mm"] <= 0.5, errors
    assert fit.qc["head_fit_rms_mm"] < 1.0


@pytest.mark.parametrize("spacing_mm", [2.0, 3.0])
def test_landmarks_at_coarse_voxels(spacing_mm: float) -> None:
    labels, truth, _, _ = _case(1, "left", "flexed", spacing_mm)
    errors = _errors(landmarks_from_mask(labels, 1, "left"), truth)
    limits = {"head_mm": 1.5, "radius_mm": 1.0, "neck_deg": 5.0, "shaft_deg": 2.0, "lesser_mm": 8.0}
    assert all(errors[k] <= limits[k] for k in limits), errors


def test_anisotropic_and_reordered_voxels_give_the_same_femur() -> None:
    labels, truth, _, _ = _case(0, "right", "neutral")
    thick = Volume(labels.array[:, :, ::2], labels.affine @ np.diag([1.0, 1.0, 2.0, 1.0]), "label")
    # Reverse and swap array axes (an LPI-like storage order): the world geometry is unchanged.
    flipped = np.ascontiguousarray(np.transpose(labels.array[::-1, :, ::-1], (1, 0, 2)))
    reorder = np.zeros((4, 4))
    reorder[0, 1] = reorder[1, 0] = reorder[2, 2] = reorder[3, 3] = 1.0
    reverse = np.diag([-1.0, 1.0, -1.0, 1.0])
    reverse[0, 3], reverse[2, 3] = labels.shape[0] - 1, labels.shape[2] - 1
    stored = Volume(flipped, labels.affine @ reverse @ reorder, "label")
    original = landmarks_from_mask(labels, 1, "right")
    same = landmarks_from_mask(stored, 1, "right")
    assert np.allclose(same.head_centre_mm, original.head_centre_mm, atol=0.01)
    assert np.allclose(same.neck_axis, original.neck_axis, atol=1e-3)
    assert np.allclose(same.lesser_trochanter_mm, original.lesser_trochanter_mm, atol=0.01)
    errors = _errors(landmarks_from_mask(thick, 1, "right"), truth)
    assert errors["head_mm"] < 1.0 and errors["neck_deg"] < 4.0 and errors["shaft_deg"] < 1.0, errors


def test_a_mirrored_right_femur_gives_mirrored_left_landmarks() -> None:
    labels, _, _, _ = _case(0, "right", "flexed")
    mirror = np.diag([-1.0, 1.0, 1.0, 1.0])
    right = landmarks_from_mask(labels, 1, "right")
    left = landmarks_from_mask(Volume(labels.array, mirror @ labels.affine, "label"), 1, "left")
    flip = mirror[:3, :3]
    assert left.side == "left"
    # The same voxels in the mirror image; only the sampling of the cross-sections differs.
    assert np.allclose(left.head_centre_mm, flip @ right.head_centre_mm, atol=0.01)
    assert np.allclose(left.neck_axis, flip @ right.neck_axis, atol=1e-3)
    assert np.allclose(left.shaft_axis, flip @ right.shaft_axis, atol=1e-3)
    assert np.allclose(left.greater_trochanter_mm, flip @ right.greater_trochanter_mm, atol=0.01)


def test_wrong_side_is_flagged() -> None:
    labels, _, _, _ = _case(0, "right", "neutral")
    fit = measure_landmarks(labels, 1, "left")
    assert any("side mismatch" in flag for flag in fit.flags)


@pytest.mark.parametrize(("seed", "side"), [(0, "right"), (2, "left")])
def test_ct_abmd_with_found_landmarks_matches_the_truth(seed: int, side: Side) -> None:
    labels, truth, femur, where = _case(seed, side, "flexed")
    density = femur.density(where, proximal_only=True)
    found = ct_abmd(density, landmarks_from_mask(labels, 1, side))
    expected = ct_abmd(density, truth)
    for region in ("neck", "total_hip"):
        assert found.abmd_g_cm2[region] == pytest.approx(expected.abmd_g_cm2[region], rel=0.02)


def test_empty_mask_is_refused() -> None:
    labels = Volume(np.zeros((30, 30, 30), np.int16), np.eye(4), "label")
    with pytest.raises(LandmarkError, match="no femur"):
        landmarks_from_mask(labels, 1, "right")


def test_a_ball_alone_has_no_shaft() -> None:
    offsets = np.indices((60, 60, 60)) - 29.5
    ball = (np.sum(offsets**2, axis=0) <= 24.0**2).astype(np.int16)
    fit = measure_landmarks(Volume(ball, np.eye(4), "label"), 1, "right")
    assert fit.landmarks is None and "no shaft" in fit.flags[0]
    assert fit.qc["head_radius_mm"] == pytest.approx(24.0, abs=1.0)


def test_femur_cut_just_below_the_lesser_trochanter_is_refused() -> None:
    labels, _, femur, _ = _case(0, "right", "neutral")
    cut = labels.array.copy()
    first = int((-106.0 - femur.grid.origin_mm[2]) / femur.grid.spacing_mm[2])  # 106 mm below the head
    cut[:, :, :first] = 0
    fit = measure_landmarks(Volume(cut, labels.affine, "label"), 1, "right")
    assert fit.landmarks is None
    assert "below the lesser trochanter" in fit.flags[0]


def test_real_ct_femur_without_shaft_is_flagged(real: Path) -> None:
    path = real / "totalsegmentator_example_ct" / "example_seg_v1.nii.gz"
    if not path.is_file():
        pytest.skip("real CT labels not bundled")
    fit = measure_landmarks(read_labels(path), 89, "right")  # femur_right, cut below the neck
    assert fit.landmarks is None and "no shaft" in fit.flags[0]


def _cut_scan(labels: Volume, below_z_mm: float, like: Volume | None = None) -> Volume:
    """The label map of a scan that ends at world z = ``below_z_mm`` (the slices below it removed), or,
    with ``like``, that volume cut to the same slices."""
    index = np.indices(labels.array.shape).reshape(3, -1).T
    z = (index @ labels.affine[:3, :3].T + labels.affine[:3, 3])[:, 2].reshape(labels.array.shape)
    kept = np.where(z >= below_z_mm, labels.array, 0)
    axis = int(np.argmax(np.abs(labels.affine[2, :3])))
    filled = np.flatnonzero(np.moveaxis(kept, axis, 0).any(axis=(1, 2)))
    first, last = int(filled.min()), int(filled.max())
    box = [slice(None)] * 3
    box[axis] = slice(first, last + 1)
    affine = labels.affine.copy()
    shift = np.zeros(3)
    shift[axis] = first
    affine[:3, 3] += labels.affine[:3, :3] @ shift
    if like is not None:
        return Volume(np.ascontiguousarray(like.array[tuple(box)]), affine, like.unit)
    return Volume(np.ascontiguousarray(kept[tuple(box)]), affine, "label")


@pytest.mark.parametrize("pose", ["neutral", "flexed", "extended"])
def test_a_scan_ending_above_the_shaft_gives_the_neck_on_an_assumed_shaft(pose: str) -> None:
    labels, truth, femur, where = _case(0, "right", pose)
    cut = _cut_scan(labels, truth.head_centre_mm[2] - 75.0)  # below the lesser trochanter, above the shaft
    strict = measure_landmarks(cut, 1, "right")
    assert strict.landmarks is None and "no shaft" in strict.flags[0]
    fit = measure_landmarks(cut, 1, "right", allow_assumed_shaft=True)
    assert fit.landmarks is not None and fit.regions == ("neck",)
    assert fit.flags[0].startswith("shaft_axis_assumed")
    errors = _errors(fit.landmarks, truth)
    assert errors["head_mm"] <= 1.0 and errors["neck_deg"] <= 4.0 and errors["narrowest_mm"] <= 5.0, errors
    density = femur.density(where, proximal_only=True)
    neck = ct_abmd(density, fit.landmarks).abmd_g_cm2["neck"]
    expected = ct_abmd(density, truth).abmd_g_cm2["neck"]
    assert neck == pytest.approx(expected, rel=0.04)


def test_a_scan_ending_inside_the_neck_is_refused_even_with_an_assumed_shaft() -> None:
    labels, truth, _, _ = _case(0, "right", "neutral")
    cut = _cut_scan(labels, truth.head_centre_mm[2] - 15.0)
    fit = measure_landmarks(cut, 1, "right", allow_assumed_shaft=True)
    assert fit.landmarks is None and "no shaft" in fit.flags[0]
    assert "the scan ends inside the femoral neck" in fit.flags[1]


def test_a_short_mask_inside_the_scan_gets_no_assumed_shaft() -> None:
    offsets = np.indices((60, 60, 60)) - 29.5
    ball = (np.sum(offsets**2, axis=0) <= 24.0**2).astype(np.int16)  # does not reach the scan's ends
    fit = measure_landmarks(Volume(ball, np.eye(4), "label"), 1, "right", allow_assumed_shaft=True)
    assert fit.landmarks is None and "no shaft" in fit.flags[0]


def test_ct_bmd_of_a_scan_ending_above_the_shaft_reports_the_neck_alone(tmp_path: Path) -> None:
    labels, truth, femur, where = _case(1, "left", "neutral")
    bottom = truth.head_centre_mm[2] - 75.0
    cut = _cut_scan(labels, bottom)
    density = _cut_scan(labels, bottom, like=femur.density(where))
    hu = Volume(np.zeros_like(density.array), density.affine, "HU")
    result = measure_side(hu, density, cut, 1, "left", tmp_path / "dxa_left.png")
    assert set(result.abmd_g_cm2) == {"neck"} and set(result.vbmd_mg_cm3) == {"neck"}
    assert {"not_measured:total_hip", "not_measured:proximal_femur"} <= set(result.flags)
    assert any(flag.startswith("shaft_axis_assumed") for flag in result.flags)
    assert result.landmarks["regions"] == ["neck"]
    assert (tmp_path / "dxa_left.png").stat().st_size > 5000


def test_a_short_femur_that_does_not_reach_the_scans_inferior_end_gets_no_assumed_shaft() -> None:
    labels, truth, _, _ = _case(0, "right", "neutral")
    cut = _cut_scan(labels, truth.head_centre_mm[2] - 75.0)
    assert cut.affine[2, 2] > 0  # slices run inferior → superior
    moved = np.zeros_like(cut.array)
    moved[:, :, 3:] = cut.array[:, :, :-3]  # three empty slices below it: the scan did not cut it
    fit = measure_landmarks(Volume(moved, cut.affine, "label"), 1, "right", allow_assumed_shaft=True)
    assert fit.landmarks is None and "no shaft" in fit.flags[0]
