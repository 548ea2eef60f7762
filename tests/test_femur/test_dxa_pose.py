"""The DXA position: neck at true length, shaft vertical, AP display, left mirrors right, JSON pose."""

from __future__ import annotations

import json

import femur_phantom as phantom
import numpy as np
import pytest

from hipbmd.drr.geometry import PoseParameters, project_points
from hipbmd.femur.dxa_pose import dxa_rotation, dxa_view, neck_base_mm
from hipbmd.femur.landmarks import FemurLandmarks


@pytest.mark.parametrize("side", ["right", "left"])
def test_neck_axis_at_true_length_and_shaft_vertical(side: str) -> None:
    landmarks = phantom.landmarks(side)
    view = dxa_view(landmarks)
    spacing = view.pixel_spacing_mm
    head = landmarks.head_centre_mm
    neck = project_points(view.camera, [head, head - 50.0 * landmarks.neck_axis])
    assert np.linalg.norm(neck[0] - neck[1]) * spacing == pytest.approx(50.0, rel=1e-9)  # ratio 1
    shaft = project_points(
        view.camera, [landmarks.shaft_point_mm, landmarks.shaft_point_mm + 50.0 * landmarks.shaft_axis]
    )
    assert shaft[1, 1] == pytest.approx(shaft[0, 1], abs=1e-9)  # same column: vertical
    assert (shaft[1, 0] - shaft[0, 0]) * spacing == pytest.approx(-50.0)  # proximal at the top


def test_neck_shaft_angle_is_seen_undistorted() -> None:
    landmarks = phantom.landmarks("right")
    px = dxa_view(landmarks).landmarks_px
    neck = np.subtract(px["head_centre"], px["neck_base"])
    distal = np.array([1.0, 0.0])  # down the image = distal along the shaft
    angle = np.degrees(np.arccos(neck @ distal / np.linalg.norm(neck)))
    assert angle == pytest.approx(phantom.NECK_SHAFT_ANGLE_DEG, abs=1e-6)


@pytest.mark.parametrize("side", ["right", "left"])
def test_beam_is_perpendicular_to_both_axes_and_posterior(side: str) -> None:
    landmarks = phantom.landmarks(side)
    beam = dxa_view(landmarks).beam_direction
    assert beam @ landmarks.neck_axis == pytest.approx(0.0, abs=1e-12)
    assert beam @ landmarks.shaft_axis == pytest.approx(0.0, abs=1e-12)
    assert beam @ np.array([0.0, -1.0, 0.0]) > 0.9  # antero-posterior in the supine CT


def test_patients_right_is_on_the_viewers_left() -> None:
    right = dxa_view(phantom.landmarks("right")).landmarks_px
    left = dxa_view(phantom.landmarks("left")).landmarks_px
    # the head is medial: towards the patient's left, i.e. the viewer's right, for a right femur
    assert right["head_centre"][1] > right["greater_trochanter"][1]
    assert left["head_centre"][1] < left["greater_trochanter"][1]
    assert right["head_centre"][0] < right["lesser_trochanter"][0]  # head above the trochanter


def test_left_view_mirrors_right_view() -> None:
    right, left = dxa_view(phantom.landmarks("right")), dxa_view(phantom.landmarks("left"))
    assert right.camera.shape == left.camera.shape
    width = right.camera.shape[1]
    for name, (row, col) in right.landmarks_px.items():
        assert left.landmarks_px[name][0] == pytest.approx(row, abs=1e-9)
        assert left.landmarks_px[name][1] == pytest.approx(width - 1 - col, abs=1e-9)


def test_neck_base_projects_where_the_axes_cross() -> None:
    landmarks = phantom.landmarks("right")
    px = dxa_view(landmarks).landmarks_px
    base, head, narrow = (np.array(px[k]) for k in ("neck_base", "head_centre", "neck_narrowest"))
    assert base[1] == pytest.approx(px["shaft_point"][1], abs=1e-9)  # on the (vertical) shaft line
    cross = (head - base)[0] * (narrow - base)[1] - (head - base)[1] * (narrow - base)[0]
    assert cross == pytest.approx(0.0, abs=1e-6)  # on the neck line
    assert np.linalg.norm(neck_base_mm(landmarks) - landmarks.head_centre_mm) == pytest.approx(
        phantom.NECK_LENGTH_MM
    )


def test_frame_holds_the_proximal_femur() -> None:
    landmarks = phantom.landmarks("right")
    view = dxa_view(landmarks, pixel_spacing_mm=0.5)
    rows, cols = view.camera.shape
    px = view.landmarks_px
    head_top = px["head_centre"][0] - landmarks.head_radius_mm / 0.5
    assert 0 < head_top < 60  # above the head, with a margin ≤ 30 mm
    assert (rows - px["lesser_trochanter"][0]) * 0.5 == pytest.approx(60.0, abs=0.5)
    assert all(0 <= c < cols for _, c in px.values())
    assert view.camera.projection == "parallel"


def test_pose_parameters_reproduce_the_camera_from_json() -> None:
    view = dxa_view(phantom.landmarks("left"))
    stored = json.loads(json.dumps(view.summary()))
    pose = PoseParameters.from_dict(stored["pose"]).to_pose()
    assert np.allclose(pose.rotation, view.camera.pose.rotation, atol=1e-12)
    assert np.allclose(pose.translation_mm, view.camera.pose.translation_mm, atol=1e-9)


def test_parallel_neck_and_shaft_are_rejected() -> None:
    landmarks = phantom.landmarks("right")
    broken = FemurLandmarks(
        "right",
        landmarks.head_centre_mm,
        20.0,
        landmarks.shaft_axis,
        landmarks.neck_narrowest_mm,
        landmarks.shaft_axis,
        landmarks.shaft_point_mm,
        landmarks.lesser_trochanter_mm,
        landmarks.greater_trochanter_mm,
    )
    with pytest.raises(ValueError, match="parallel"):
        dxa_rotation(broken)
