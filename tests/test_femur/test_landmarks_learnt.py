"""Regions placed on learnt points: the analytic femur's own points give its landmarks and its density,
a femur whose shapes defeat the fits is still measured, and the fits check the learnt points."""

from __future__ import annotations

import math

import femur_drr_phantom as phantom
import numpy as np
import pytest

from hipbmd.femur.landmarks_2d import visible_shaft_axis
from hipbmd.femur.landmarks_from_mask import LandmarkError
from hipbmd.femur.landmarks_learnt import head_circle, learnt_landmarks
from hipbmd.femur.measure_2d import measure_femur_drr
from hipbmd.femur.roi import ROI_NAMES

DENSITY_G_CM2 = 0.8
SHAFT_DISTAL_MM = 60.0


def true_points(femur: phantom.Phantom, tilt_deg: float = 0.0) -> dict[str, tuple[float, float]]:
    """The phantom's points as a perfect localiser would place them (pixels)."""
    s = femur.spacing_mm
    head, base = np.array(femur.head_centre_px), np.array(femur.neck_base_px)
    up = (head - base) / np.linalg.norm(head - base)
    turn = math.radians(tilt_deg)
    down = np.array([math.cos(turn), math.sin(turn)])  # the tilted shaft, distal
    (g_row, g_col), g_radius = phantom.GREATER
    points = {
        "head_centre": head,
        "neck_narrowest": head - up * phantom.NECK_WAIST_MM[0] / s,
        "neck_base": base,
        "shaft_distal": base + down * SHAFT_DISTAL_MM / s,
        "lesser_trochanter": np.array(femur.lesser_trochanter_px),
        "greater_trochanter": np.array([(g_row - g_radius) / s, g_col / s]),
    }
    return {name: (float(p[0]), float(p[1])) for name, p in points.items()}


@pytest.mark.parametrize(("angle_deg", "tilt_deg"), [(130.0, 0.0), (120.0, 0.0), (135.0, 8.0)])
def test_the_true_points_give_the_phantoms_head_radius_and_angle(angle_deg: float, tilt_deg: float) -> None:
    femur = phantom.femur(neck_shaft_angle_deg=angle_deg, tilt_deg=tilt_deg)
    marks = learnt_landmarks(femur.image_g_cm2, true_points(femur, tilt_deg), femur.spacing_mm)
    assert marks.head_radius_mm == pytest.approx(phantom.HEAD_RADIUS_MM, abs=femur.spacing_mm)
    assert marks.neck_shaft_angle_deg == pytest.approx(angle_deg, abs=0.5)
    assert math.dist(marks.head_centre_px, femur.head_centre_px) * femur.spacing_mm < 0.25


def test_a_uniform_femur_measured_on_learnt_points_gives_its_density_and_agrees_with_the_fits() -> None:
    femur = phantom.femur(density_g_cm2=DENSITY_G_CM2)
    fitted = measure_femur_drr(femur.image_g_cm2, femur.spacing_mm, "right")
    learnt = measure_femur_drr(
        femur.image_g_cm2, femur.spacing_mm, "right", learnt_points_px=true_points(femur)
    )
    assert learnt.ok and learnt.flags == ("landmarks_learnt",)
    for name in ROI_NAMES:
        assert learnt.abmd_g_cm2[name] == pytest.approx(float(np.float32(DENSITY_G_CM2)), rel=1e-12)
        assert learnt.regions[name].area_cm2 == pytest.approx(fitted.regions[name].area_cm2, rel=0.05)


def test_a_femur_the_fits_cannot_read_is_measured_on_learnt_points() -> None:
    femur = phantom.femur(lesser=False, density_g_cm2=DENSITY_G_CM2)
    assert not measure_femur_drr(femur.image_g_cm2, femur.spacing_mm, "right").ok
    points = true_points(femur)
    result = measure_femur_drr(femur.image_g_cm2, femur.spacing_mm, "right", learnt_points_px=points)
    assert result.ok
    assert result.regions["neck"].bone_pixels > 0


def test_learnt_points_far_from_the_fitted_head_are_flagged() -> None:
    femur = phantom.femur()
    points = true_points(femur)
    shift_px = 8.0 / femur.spacing_mm
    points["head_centre"] = (points["head_centre"][0] - shift_px, points["head_centre"][1])
    result = measure_femur_drr(femur.image_g_cm2, femur.spacing_mm, "right", learnt_points_px=points)
    assert any(flag.startswith("landmarks_disagree: head centres 8.") for flag in result.flags)


def test_without_a_learnt_point_the_fits_are_used_and_say_why() -> None:
    femur = phantom.femur()
    points = true_points(femur)
    del points["neck_base"]
    result = measure_femur_drr(femur.image_g_cm2, femur.spacing_mm, "right", learnt_points_px=points)
    assert result.ok
    assert "landmarks_learnt_failed: the localiser gave no neck_base" in result.flags


def test_without_a_greater_trochanter_point_a_femur_the_fits_cannot_read_has_the_same_regions() -> None:
    femur = phantom.femur(lesser=False, density_g_cm2=DENSITY_G_CM2)
    points = true_points(femur)
    full = measure_femur_drr(femur.image_g_cm2, femur.spacing_mm, "right", learnt_points_px=points)
    del points["greater_trochanter"]
    result = measure_femur_drr(femur.image_g_cm2, femur.spacing_mm, "right", learnt_points_px=points)
    assert result.ok and "greater_trochanter_not_placed" in result.flags
    assert result.landmarks is not None and result.landmarks.greater_trochanter_px is None
    assert "greater_trochanter" not in result.summary()["landmarks"]["landmarks_px"]
    assert result.rois is not None and full.rois is not None
    for name in ROI_NAMES:
        assert np.array_equal(result.rois.masks[name], full.rois.masks[name])
        assert result.abmd_g_cm2[name] == full.abmd_g_cm2[name]


def test_without_a_distal_shaft_point_the_fitted_shaft_axis_orients_the_learnt_regions() -> None:
    femur = phantom.femur(density_g_cm2=DENSITY_G_CM2)
    points = true_points(femur)
    del points["shaft_distal"]
    result = measure_femur_drr(femur.image_g_cm2, femur.spacing_mm, "right", learnt_points_px=points)
    assert result.ok
    assert result.flags[:2] == ("landmarks_learnt", "shaft_axis_from_fit")
    assert result.landmarks is not None
    assert result.landmarks.neck_shaft_angle_deg == pytest.approx(130.0, abs=2.0)
    assert result.abmd_g_cm2["total_hip"] == pytest.approx(float(np.float32(DENSITY_G_CM2)), rel=1e-12)


def test_a_femur_cut_at_the_lesser_trochanter_without_a_distal_shaft_point_is_not_measured() -> None:
    femur = phantom.femur(density_g_cm2=DENSITY_G_CM2)
    s = femur.spacing_mm
    image = femur.image_g_cm2.copy()
    image[round((phantom.LESSER_ROW_MM + 5.0) / s) :] = 0.0  # the radiograph ends 5 mm below it
    points = true_points(femur)
    del points["shaft_distal"]  # off the image: the localiser gives none
    result = measure_femur_drr(image, s, "right", learnt_points_px=points)
    assert not result.ok and not result.no_femoral_head
    assert "no shaft to orient the regions by" in str(result.failure)
    assert "shaft too short" in str(result.failure)  # the fit's own reason, beside it


@pytest.mark.parametrize(("tilt_deg", "below_mm"), [(0.0, 22.0), (8.0, 25.0), (-6.0, 28.0)])
def test_a_femur_cut_20_to_30_mm_below_the_lesser_trochanter_is_oriented_by_its_short_shaft(
    tilt_deg: float, below_mm: float
) -> None:
    """Too little shaft for the full fit (30 mm below the trochanter), enough for an axis: the regions
    stand on the learnt points with the axis of the shaft the image shows."""
    femur = phantom.femur(density_g_cm2=DENSITY_G_CM2, tilt_deg=tilt_deg)
    s = femur.spacing_mm
    on_image = np.ones(femur.image_g_cm2.shape, dtype=bool)
    on_image[round((phantom.LESSER_ROW_MM + below_mm) / s) :] = False
    points = true_points(femur, tilt_deg)
    del points["shaft_distal"]
    result = measure_femur_drr(femur.image_g_cm2, s, "right", learnt_points_px=points, on_image=on_image)
    assert result.ok and result.landmarks is not None
    assert any(flag.startswith("shaft_axis_from_short_fit: ") for flag in result.flags)
    axis_deg = math.degrees(math.atan2(result.landmarks.shaft_axis[1], result.landmarks.shaft_axis[0]))
    assert axis_deg == pytest.approx(tilt_deg, abs=1.0)
    with_axis = measure_femur_drr(
        femur.image_g_cm2, s, "right", learnt_points_px=true_points(femur, tilt_deg)
    )
    assert result.abmd_g_cm2["total_hip"] == pytest.approx(with_axis.abmd_g_cm2["total_hip"], rel=0.01)


@pytest.mark.parametrize(("tilt_deg", "edge_deg"), [(3.0, 0.0), (3.0, 10.0), (-5.0, -12.0)])
def test_the_short_shaft_axis_holds_on_the_crop_grid_under_a_slanted_edge(
    tilt_deg: float, edge_deg: float
) -> None:
    """At the model's 1.25 mm pixels, with the radiograph's edge crossing the shaft at a slant (a levelled
    crop), rows the edge cuts through are left out of the fit."""
    femur = phantom.femur(spacing_mm=1.25, density_g_cm2=DENSITY_G_CM2, tilt_deg=tilt_deg)
    s = femur.spacing_mm
    rows, cols = np.indices(femur.image_g_cm2.shape) * s
    edge_row, edge_col = phantom.LESSER_ROW_MM + 24.0, phantom.SHAFT_COL_MM
    turn = math.radians(edge_deg)
    on_image = (rows - edge_row) * math.cos(turn) - (cols - edge_col) * math.sin(turn) < 0.0
    (row, col), length_mm = visible_shaft_axis(
        femur.image_g_cm2, s, femur.lesser_trochanter_px, femur.neck_base_px, on_image
    )
    assert math.degrees(math.atan2(col, row)) == pytest.approx(tilt_deg, abs=1.5)
    assert length_mm >= 10.0


def test_a_femur_whose_fit_fails_with_shaft_enough_gets_no_short_axis() -> None:
    """The short fit stands in only for a femur the image cuts too close below the trochanter: a shaft the
    full fit could read (here, no lesser trochanter bulge defeats that fit) does not orient the regions."""
    femur = phantom.femur(density_g_cm2=DENSITY_G_CM2, lesser=False)
    points = true_points(femur)
    del points["shaft_distal"]
    on_image = np.ones(femur.image_g_cm2.shape, dtype=bool)
    result = measure_femur_drr(
        femur.image_g_cm2, femur.spacing_mm, "right", learnt_points_px=points, on_image=on_image
    )
    assert not result.ok and not result.no_femoral_head
    assert str(result.failure).startswith("landmarks: no shaft to orient the regions by")


def test_a_shaft_that_fades_before_the_radiographs_edge_is_oriented_by_what_is_drawn() -> None:
    """The radiograph reaches far below the trochanter but the decomposed femur ends 24 mm below it: the
    full fit finds too little shaft, and the short one stands in."""
    femur = phantom.femur(density_g_cm2=DENSITY_G_CM2, tilt_deg=4.0)
    s = femur.spacing_mm
    image = femur.image_g_cm2.copy()
    image[round((phantom.LESSER_ROW_MM + 24.0) / s) :] = 0.0
    points = true_points(femur, 4.0)
    del points["shaft_distal"]
    on_image = np.ones(image.shape, dtype=bool)
    result = measure_femur_drr(image, s, "right", learnt_points_px=points, on_image=on_image)
    assert result.ok and result.landmarks is not None
    assert any(flag.startswith("shaft_axis_from_short_fit: ") for flag in result.flags)
    axis_deg = math.degrees(math.atan2(result.landmarks.shaft_axis[1], result.landmarks.shaft_axis[0]))
    assert axis_deg == pytest.approx(4.0, abs=1.0)


@pytest.mark.parametrize("missing", ["lesser_trochanter", "neck_base"])
def test_a_short_shaft_without_the_points_it_hangs_on_is_not_measured(missing: str) -> None:
    femur = phantom.femur(density_g_cm2=DENSITY_G_CM2)
    s = femur.spacing_mm
    image = femur.image_g_cm2.copy()
    image[round((phantom.LESSER_ROW_MM + 24.0) / s) :] = 0.0  # too little shaft for the full fit
    points = true_points(femur)
    del points["shaft_distal"], points[missing]
    result = measure_femur_drr(
        image, s, "right", learnt_points_px=points, on_image=np.ones(image.shape, bool)
    )
    assert not result.ok and f"the localiser gave no {missing}" in str(result.failure)


def test_a_shaft_axis_needs_10_mm_of_shaft_past_the_trochanters_bulge() -> None:
    femur = phantom.femur(density_g_cm2=DENSITY_G_CM2)
    s = femur.spacing_mm
    for below_mm, fits in ((17.0, False), (19.0, True)):
        image = femur.image_g_cm2.copy()
        image[round((phantom.LESSER_ROW_MM + below_mm) / s) :] = 0.0
        if fits:
            (row, col), length_mm = visible_shaft_axis(
                image, s, femur.lesser_trochanter_px, femur.neck_base_px
            )
            assert (row, col) == pytest.approx((1.0, 0.0), abs=1e-3) and length_mm >= 10.0
        else:
            with pytest.raises(LandmarkError, match="shaft too short"):
                visible_shaft_axis(image, s, femur.lesser_trochanter_px, femur.neck_base_px)


def test_a_shaft_drawn_beyond_the_radiographs_edge_does_not_orient_the_regions() -> None:
    """The crop repeats the edge of a radiograph that ends below the lesser trochanter, and the model may
    draw the shaft on there: the fitted shaft axis must not stand on that invented bone."""
    femur = phantom.femur(density_g_cm2=DENSITY_G_CM2)
    s = femur.spacing_mm
    on_image = np.ones(femur.image_g_cm2.shape, dtype=bool)
    on_image[round((phantom.LESSER_ROW_MM + 5.0) / s) :] = False  # the radiograph ends 5 mm below it
    points = true_points(femur)
    del points["shaft_distal"]
    whole = measure_femur_drr(femur.image_g_cm2, s, "right", learnt_points_px=points)
    assert whole.ok and "shaft_axis_from_fit" in whole.flags
    result = measure_femur_drr(femur.image_g_cm2, s, "right", learnt_points_px=points, on_image=on_image)
    assert not result.ok and not result.no_femoral_head
    assert str(result.failure).startswith("femur_cut_near_lesser_trochanter: the image ends 5 mm below")
    with_shaft_point = measure_femur_drr(
        femur.image_g_cm2, s, "right", learnt_points_px=true_points(femur), on_image=on_image
    )
    unmasked = measure_femur_drr(femur.image_g_cm2, s, "right", learnt_points_px=true_points(femur))
    assert with_shaft_point.ok  # the learnt axis needs no fit; the regions are measured on the whole image
    for name in ROI_NAMES:
        assert with_shaft_point.regions[name].bone_pixels == unmasked.regions[name].bone_pixels > 0
    with pytest.raises(ValueError, match="on-image mask"):
        measure_femur_drr(femur.image_g_cm2, s, "right", on_image=on_image[1:])


def test_a_cut_femur_without_a_head_for_the_fits_keeps_both_reasons() -> None:
    """The learnt points stop at the missing shaft axis before looking at the head; the fits see no head.
    The failure names the cut, and the hip still counts as showing no femoral head (which lets a
    radiograph of no hip be refused)."""
    femur = phantom.femur(density_g_cm2=DENSITY_G_CM2)
    s = femur.spacing_mm
    rows, cols = np.indices(femur.image_g_cm2.shape)
    head_row, head_col = femur.head_centre_px
    image = femur.image_g_cm2.copy()
    image[np.hypot(rows - head_row, cols - head_col) * s < phantom.HEAD_RADIUS_MM + 1.0] = 0.0
    on_image = rows < round((phantom.LESSER_ROW_MM + 5.0) / s)
    points = true_points(femur)
    del points["shaft_distal"]
    result = measure_femur_drr(image, s, "right", learnt_points_px=points, on_image=on_image)
    assert not result.ok and result.no_femoral_head
    assert str(result.failure).startswith("femur_cut_near_lesser_trochanter: ")


def test_no_bone_at_the_head_or_no_edge_gives_no_landmarks() -> None:
    femur = phantom.femur()
    empty = np.zeros_like(femur.image_g_cm2, dtype=np.float64)
    with pytest.raises(LandmarkError, match="no bone at the head centre"):
        head_circle(empty, np.array(femur.head_centre_px), np.array([-1.0, 0.0]), femur.spacing_mm)
    full = np.ones_like(empty)
    with pytest.raises(LandmarkError, match="no femoral head edge"):
        head_circle(full, np.array(femur.head_centre_px), np.array([-1.0, 0.0]), femur.spacing_mm)


def test_axes_that_meet_implausibly_give_no_landmarks() -> None:
    femur = phantom.femur()
    points = true_points(femur)
    points["shaft_distal"] = points["head_centre"]
    with pytest.raises(LandmarkError, match="meet at"):
        learnt_landmarks(femur.image_g_cm2, points, femur.spacing_mm)


def test_a_femur_without_a_head_is_told_apart_from_other_failures() -> None:
    # an infant's femur: the shaft and metaphysis, no ossified head or neck
    femur = phantom.femur()
    image = np.zeros_like(femur.image_g_cm2)
    s = femur.spacing_mm
    rows, cols = np.indices(image.shape)
    image[(rows * s >= 70.0) & (np.abs(cols * s - phantom.SHAFT_COL_MM) <= 12.0)] = 0.8
    points = true_points(femur)  # a localiser that expects an adult femur puts them where it would be
    result = measure_femur_drr(image, s, "right", learnt_points_px=points)
    assert not result.ok and result.no_femoral_head
    assert "no femoral head edge" in str(result.failure) or "no bone at the head" in str(result.failure)
    # a femur with a head whose other landmarks fail is not "no femoral head"
    no_lesser = phantom.femur(lesser=False)
    plain = measure_femur_drr(no_lesser.image_g_cm2, s, "right")
    assert not plain.ok and not plain.no_femoral_head


def test_a_head_centre_placed_off_the_head_moves_onto_it() -> None:
    femur = phantom.femur()
    points = true_points(femur)
    s = femur.spacing_mm
    points["head_centre"] = (points["head_centre"][0] - 3.0 / s, points["head_centre"][1] + 3.0 / s)
    marks = learnt_landmarks(femur.image_g_cm2, points, s)
    offset_mm = math.dist(marks.head_centre_px, femur.head_centre_px) * s
    assert offset_mm < 0.5
    assert marks.head_radius_mm == pytest.approx(phantom.HEAD_RADIUS_MM, abs=s)
