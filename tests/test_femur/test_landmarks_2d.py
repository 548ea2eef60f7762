"""2-D femur landmarks on analytic areal-density images: known head, neck angle, lesser trochanter."""

from __future__ import annotations

import math

import femur_drr_phantom as phantom
import numpy as np
import pytest

from hipbmd.femur.landmarks_2d import Landmarks2D, femur_mask, find_landmarks_2d
from hipbmd.femur.landmarks_from_mask import LandmarkError
from hipbmd.femur.outline_2d import fit_circle
from hipbmd.femur.roi import hip_rois


def _distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


@pytest.mark.parametrize(
    ("angle_deg", "spacing_mm", "tilt_deg"),
    [(130.0, 0.5, 0.0), (118.0, 0.5, 0.0), (142.0, 0.5, 0.0), (130.0, 0.8, 0.0), (128.0, 0.5, 8.0)],
)
def test_landmarks_match_the_analytic_femur(angle_deg: float, spacing_mm: float, tilt_deg: float) -> None:
    femur = phantom.femur(spacing_mm, neck_shaft_angle_deg=angle_deg, tilt_deg=tilt_deg)
    found = find_landmarks_2d(femur.image_g_cm2, spacing_mm, "right")
    assert _distance(found.head_centre_px, femur.head_centre_px) <= 1.0
    assert found.head_radius_mm == pytest.approx(phantom.HEAD_RADIUS_MM, abs=0.5)
    assert found.neck_shaft_angle_deg == pytest.approx(angle_deg, abs=2.0)
    assert found.lesser_trochanter_px[0] == pytest.approx(femur.lesser_trochanter_px[0], abs=2.0)
    assert _distance(found.neck_base_px, femur.neck_base_px) <= 3.0
    tilt = math.degrees(math.atan2(found.shaft_axis[1], found.shaft_axis[0]))
    assert tilt == pytest.approx(tilt_deg, abs=0.5)
    assert found.flags == ()


def test_narrowest_neck_and_greater_trochanter_are_where_the_shapes_put_them() -> None:
    femur = phantom.femur()
    found = find_landmarks_2d(femur.image_g_cm2, femur.spacing_mm, "right")
    head, up = np.array(femur.head_centre_px), np.array(found.neck_axis)
    waist_mm, _ = phantom.NECK_WAIST_MM
    from_head_mm = float((head - np.array(found.neck_narrowest_px)) @ up) * femur.spacing_mm
    assert from_head_mm == pytest.approx(waist_mm, abs=5.0)  # the hourglass is flat near its waist
    (row_mm, col_mm), radius_mm = phantom.GREATER
    top = ((row_mm - radius_mm) / femur.spacing_mm, col_mm / femur.spacing_mm)
    assert _distance(found.greater_trochanter_px, top) <= 1.0


def test_a_left_femur_gives_the_mirrored_landmarks() -> None:
    right = phantom.femur(neck_shaft_angle_deg=125.0)
    left = phantom.femur(neck_shaft_angle_deg=125.0, side="left")
    found_right = find_landmarks_2d(right.image_g_cm2, right.spacing_mm, "right")
    found_left = find_landmarks_2d(left.image_g_cm2, left.spacing_mm, "left")
    width = left.image_g_cm2.shape[1]
    for name, (row, col) in found_right.points_px().items():
        assert found_left.points_px()[name] == pytest.approx((row, width - 1 - col), abs=1e-9)
    assert found_left.shaft_axis == pytest.approx((found_right.shaft_axis[0], -found_right.shaft_axis[1]))
    assert found_left.neck_shaft_angle_deg == pytest.approx(found_right.neck_shaft_angle_deg)
    assert _distance(found_left.head_centre_px, left.head_centre_px) <= 1.0
    assert found_left.neck_axis[1] < 0  # a left femur's head lies to the viewer's left of its shaft


def test_the_view_holds_what_hip_rois_needs() -> None:
    femur = phantom.femur()
    found = find_landmarks_2d(femur.image_g_cm2, femur.spacing_mm, "right")
    view = found.view()
    assert view.pixel_spacing_mm == femur.spacing_mm
    assert view.camera.shape == femur.image_g_cm2.shape
    assert view.landmarks_px["neck_base"] == found.neck_base_px
    assert view.head_radius_mm == found.head_radius_mm
    rois = hip_rois(femur.image_g_cm2, view)
    row, col = np.rint(rois.neck_centre_px).astype(int)
    assert rois.masks["neck"][row, col] and femur.image_g_cm2[row, col] > 0
    assert isinstance(found, Landmarks2D) and found.summary()["side"] == "right"


def test_stray_specks_do_not_move_the_landmarks() -> None:
    femur = phantom.femur()
    speckled = femur.image_g_cm2.copy()
    speckled[5:9, 5:9] = 2.0  # a bright speck far from the femur
    clean = find_landmarks_2d(femur.image_g_cm2, femur.spacing_mm, "right")
    found = find_landmarks_2d(speckled, femur.spacing_mm, "right")
    assert found.points_px() == clean.points_px()
    assert not femur_mask(speckled)[6, 6]


def test_femur_without_a_lesser_trochanter_bulge_gives_no_landmarks() -> None:
    femur = phantom.femur(lesser=False)
    with pytest.raises(LandmarkError, match="no lesser trochanter"):
        find_landmarks_2d(femur.image_g_cm2, femur.spacing_mm, "right")


def test_too_little_shaft_gives_no_landmarks() -> None:
    femur = phantom.femur(height_mm=phantom.LESSER_ROW_MM + 15.0)
    with pytest.raises(LandmarkError, match="shaft too short"):
        find_landmarks_2d(femur.image_g_cm2, femur.spacing_mm, "right")


def test_empty_image_and_wrong_side_give_no_landmarks() -> None:
    with pytest.raises(LandmarkError, match="no femur"):
        find_landmarks_2d(np.zeros((200, 150), np.float32), 0.5, "right")
    femur = phantom.femur()
    with pytest.raises(LandmarkError):
        find_landmarks_2d(femur.image_g_cm2, femur.spacing_mm, "left")


def test_implausible_neck_shaft_angle_is_flagged() -> None:
    femur = phantom.femur(neck_shaft_angle_deg=97.0)
    found = find_landmarks_2d(femur.image_g_cm2, femur.spacing_mm, "right")
    assert found.neck_shaft_angle_deg == pytest.approx(97.0, abs=2.0)
    assert "neck_shaft_angle_implausible" in found.flags


def test_circle_fit_recovers_a_circle() -> None:
    angles = np.linspace(0.0, 1.5 * math.pi, 50)
    points = np.column_stack([3.0 + 7.0 * np.cos(angles), -2.0 + 7.0 * np.sin(angles)])
    centre, radius, rms = fit_circle(points)
    assert centre == pytest.approx((3.0, -2.0)) and radius == pytest.approx(7.0) and rms < 1e-9
