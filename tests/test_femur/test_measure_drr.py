"""aBMD read from a femur DRR: analytic answers on a uniform femur, region edges, failures without numbers."""

from __future__ import annotations

import json
import math

import femur_drr_phantom as phantom
import numpy as np
import pytest

from hipbmd.femur.measure_2d import FemurBMD, measure_femur_drr
from hipbmd.femur.roi import ROI_NAMES, hip_rois

DENSITY_G_CM2 = 0.8
Measured = tuple[phantom.Phantom, FemurBMD]


@pytest.fixture(scope="module")
def right() -> Measured:
    femur = phantom.femur(density_g_cm2=DENSITY_G_CM2)
    return femur, measure_femur_drr(femur.image_g_cm2, femur.spacing_mm, "right")


@pytest.mark.parametrize(("side", "tilt_deg"), [("right", 0.0), ("left", 0.0), ("right", 8.0)])
def test_a_uniform_femur_gives_its_areal_density_in_every_region(side: str, tilt_deg: float) -> None:
    femur = phantom.femur(density_g_cm2=DENSITY_G_CM2, side=side, tilt_deg=tilt_deg)
    result = measure_femur_drr(femur.image_g_cm2, femur.spacing_mm, side)  # type: ignore[arg-type]
    assert result.ok and result.failure is None
    expected = float(np.float32(DENSITY_G_CM2))
    for name in ROI_NAMES:
        assert result.abmd_g_cm2[name] == pytest.approx(expected, rel=1e-12)
        assert result.regions[name].bone_pixels > 0


def test_area_and_bmc_follow_the_bone_pixels(right: Measured) -> None:
    femur, result = right
    assert result.rois is not None
    for name, region in result.regions.items():
        pixels = int((result.rois.masks[name] & result.bone).sum())
        assert region.bone_pixels == pixels
        assert region.area_cm2 == pytest.approx(pixels * (femur.spacing_mm / 10.0) ** 2)
        assert region.bmc_g == pytest.approx(region.abmd_g_cm2 * region.area_cm2)


def test_neck_box_sits_on_the_waist(right: Measured) -> None:
    _, result = right
    assert result.rois is not None
    waist_mm, half_mm = phantom.NECK_WAIST_MM
    centre_mm = result.rois.narrowest_from_head_mm
    # widths within 0.5 mm of the waist's (hip_rois' near-ties) span ±4.6 mm around it
    assert centre_mm == pytest.approx(waist_mm, abs=2.5)
    width_mm = 2.0 * (half_mm + 0.012 * (centre_mm - waist_mm) ** 2)
    assert result.rois.neck_width_mm == pytest.approx(width_mm, abs=1.0)


@pytest.mark.parametrize("tilt_deg", [0.0, 8.0])
def test_distal_edges_lie_10_and_20_mm_below_the_lesser_trochanter_across_the_shaft(tilt_deg: float) -> None:
    femur = phantom.femur(tilt_deg=tilt_deg)
    result = measure_femur_drr(femur.image_g_cm2, femur.spacing_mm, "right")
    assert result.rois is not None and result.landmarks is not None
    down = np.array(result.landmarks.shaft_axis)
    lesser = np.array(result.landmarks.lesser_trochanter_px)
    for name, below_mm in (("total_hip", 10.0), ("proximal_femur", 20.0)):
        pixels = np.argwhere(result.rois.masks[name] & result.bone)
        depth_mm = (pixels - lesser) @ down * femur.spacing_mm
        assert depth_mm.max() == pytest.approx(below_mm, abs=femur.spacing_mm)
    bone = result.bone
    assert not (result.rois.masks["neck"] & bone & ~result.rois.masks["total_hip"]).any()
    assert not (result.rois.masks["total_hip"] & bone & ~result.rois.masks["proximal_femur"]).any()


def test_with_a_vertical_shaft_the_regions_are_those_of_hip_rois(right: Measured) -> None:
    femur, result = right
    assert result.rois is not None and result.landmarks is not None
    assert result.landmarks.shaft_axis == pytest.approx((1.0, 0.0), abs=1e-9)
    plain = hip_rois(femur.image_g_cm2, result.landmarks.view(), bone=result.bone)
    for name in ROI_NAMES:
        assert np.array_equal(plain.masks[name], result.rois.masks[name])
    assert result.rois.bottom_rows == pytest.approx(plain.bottom_rows)


def test_a_left_femur_measures_as_its_mirror_image(right: Measured) -> None:
    _, result = right
    femur = phantom.femur(density_g_cm2=DENSITY_G_CM2, side="left")
    left = measure_femur_drr(femur.image_g_cm2, femur.spacing_mm, "left")
    assert left.rois is not None and result.rois is not None
    for name in ROI_NAMES:  # the same up to the nearest-pixel sampling of the neck width scan
        overlap = left.rois.masks[name] & result.rois.masks[name][:, ::-1] & left.bone
        assert overlap.sum() >= 0.99 * left.regions[name].bone_pixels
        assert left.regions[name].area_cm2 == pytest.approx(result.regions[name].area_cm2, rel=0.01)
    assert left.neck_shaft_angle_deg == pytest.approx(result.neck_shaft_angle_deg)


def test_a_failed_fit_gives_no_numbers_only_the_reason() -> None:
    femur = phantom.femur(lesser=False)
    result = measure_femur_drr(femur.image_g_cm2, femur.spacing_mm, "right")
    assert not result.ok
    assert result.failure is not None and "lesser trochanter" in result.failure
    assert result.regions == {} and result.abmd_g_cm2 == {}
    assert result.landmarks is None and result.rois is None and result.neck_shaft_angle_deg is None
    summary = json.loads(json.dumps(result.summary()))
    assert summary["regions"] == {} and summary["failure"] == result.failure


def test_summary_is_json_ready(right: Measured) -> None:
    _, result = right
    summary = json.loads(json.dumps(result.summary()))
    assert summary["regions"]["neck"]["abmd_g_cm2"] == pytest.approx(DENSITY_G_CM2, rel=1e-5)
    assert math.isclose(summary["neck_shaft_angle_deg"], 130.0, abs_tol=2.0)
    assert set(summary["landmarks"]["landmarks_px"]) >= {"head_centre", "neck_base", "lesser_trochanter"}


def test_bad_input_is_refused() -> None:
    image = np.zeros((50, 40), np.float32)
    image[3, 3] = np.nan
    with pytest.raises(ValueError, match="finite"):
        measure_femur_drr(image, 0.5, "right")
    with pytest.raises(ValueError):
        measure_femur_drr(np.zeros((4, 50, 40)), 0.5, "right")
    with pytest.raises(ValueError):
        measure_femur_drr(np.zeros((50, 40)), 0.0, "right")
