"""Why a hip is not measured: a head outside the image or a femur cut above the lesser trochanter are
named as such; otherwise the landmark steps' own reason stands."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from hipbmd.bmd.estimate import (
    LESSER_TROCHANTER_BELOW_HEAD_MM,
    HipEstimate,
    _no_femoral_head,
    _placeholder_spacing,
    _why_no_adult_hip,
    _why_not_measured,
)
from hipbmd.decomposition.crop import CropPlacement
from hipbmd.femur.measure_2d import FemurBMD
from hipbmd.io.exposed_field import ExposedField
from hipbmd.localisation.hip_location import HipLocation
from hipbmd.types import Radiograph

SPACING_MM, MAGNIFICATION = 0.5, 1.2


def _reason(rows: int, head: tuple[float, float], lesser: tuple[float, float] | None) -> str:
    location = HipLocation("right", head, lesser, 0.9, 0.9 if lesser else 0.1, "dicom")
    femur = FemurBMD("right", 1.0, {}, None, None, np.zeros((4, 4), bool), (), "landmarks: no neck")
    placement = CropPlacement(head, (SPACING_MM, SPACING_MM), MAGNIFICATION, False)
    hip = HipEstimate("right", location, placement, femur=femur)
    return _why_not_measured(
        hip, Radiograph(np.zeros((rows, 400), np.float32), (SPACING_MM, SPACING_MM), "imager")
    )


def test_a_head_outside_the_image_is_named() -> None:
    assert _reason(400, (-12.0, 200.0), None).startswith("head_outside_image")


def test_a_head_on_a_shutter_fill_is_outside_the_image() -> None:
    location = HipLocation("right", (40.0, 200.0), None, 0.9, 0.1, "dicom")
    femur = FemurBMD("right", 1.0, {}, None, None, np.zeros((4, 4), bool), (), "landmarks: no neck")
    placement = CropPlacement((40.0, 200.0), (SPACING_MM, SPACING_MM), MAGNIFICATION, False)
    hip = HipEstimate("right", location, placement, femur=femur)
    image = Radiograph(np.zeros((400, 400), np.float32), (SPACING_MM, SPACING_MM), "imager")
    shutter = np.zeros((400, 400), dtype=bool)
    shutter[:60] = True  # the top 60 rows are a flat fill
    reason = _why_not_measured(hip, image, ExposedField((400, 400), shutter))
    assert reason.startswith("head_outside_image")


@pytest.mark.parametrize("lesser", [None, (430.0, 210.0)])
def test_a_femur_cut_above_the_lesser_trochanter_is_named(lesser: tuple[float, float] | None) -> None:
    # the head at row 340: the image ends 60 px = 25 mm (patient plane) below it
    assert _reason(400, (340.0, 200.0), lesser).startswith("femur_cut_above_lesser_trochanter")


def test_a_femur_shown_to_below_the_trochanter_keeps_the_landmark_reason() -> None:
    below_px = LESSER_TROCHANTER_BELOW_HEAD_MM * MAGNIFICATION / SPACING_MM
    assert _reason(400, (100.0, 200.0), None) == "landmarks: no neck"  # the trochanter would be in view
    assert 100.0 + below_px < 400
    assert _reason(400, (100.0, 200.0), (230.0, 210.0)) == "landmarks: no neck"


def test_a_hip_without_a_femoral_head_is_named_and_metal_keeps_it_a_hip() -> None:
    location = HipLocation("right", (100.0, 200.0), (230.0, 210.0), 0.45, 0.6, "dicom")
    bone = np.zeros((4, 4), bool)
    femur = FemurBMD("right", 1.0, {}, None, None, bone, (), "landmarks: no bone at the head centre", True)
    placement = CropPlacement((100.0, 200.0), (SPACING_MM, SPACING_MM), MAGNIFICATION, False)
    hip = HipEstimate("right", location, placement, femur=femur)
    image = Radiograph(np.zeros((400, 400), np.float32), (SPACING_MM, SPACING_MM), "imager")
    assert _why_not_measured(hip, image).startswith("no_femoral_head: landmarks: no bone")
    assert _no_femoral_head(hip)
    assert "0.45" in _why_no_adult_hip([hip]) and _why_no_adult_hip([hip]).startswith("no adult femoral head")
    hip.flags.append("implant_suspected: 0.91")  # metal can hide a head: still a hip
    assert not _no_femoral_head(hip)
    hip.flags.pop()
    hip.location = replace(location, confidence=0.8)  # clearly seen: a hip the decomposition failed on
    assert not _no_femoral_head(hip)


def test_a_placeholder_spacing_is_one_mm_from_a_bare_pixel_spacing_tag_only() -> None:
    image = np.zeros((8, 8), np.float32)
    assert _placeholder_spacing(Radiograph(image, (1.0, 1.0), "pixel"))
    assert not _placeholder_spacing(Radiograph(image, (1.0, 1.0), "imager"))  # the detector's own
    assert not _placeholder_spacing(Radiograph(image, (1.0, 1.0), "assumed"))  # given by the user
    assert not _placeholder_spacing(Radiograph(image, (0.5, 0.5), "pixel"))


def test_a_femur_cut_near_the_lesser_trochanter_is_named_before_a_missing_head() -> None:
    location = HipLocation("right", (100.0, 200.0), (230.0, 210.0), 0.45, 0.6, "dicom")
    cut = "femur_cut_near_lesser_trochanter: the image ends 5 mm below the lesser trochanter; …"
    femur = FemurBMD("right", 1.0, {}, None, None, np.zeros((4, 4), bool), (), cut, True)
    placement = CropPlacement((100.0, 200.0), (SPACING_MM, SPACING_MM), MAGNIFICATION, False)
    hip = HipEstimate("right", location, placement, femur=femur)
    image = Radiograph(np.zeros((400, 400), np.float32), (SPACING_MM, SPACING_MM), "imager")
    assert _why_not_measured(hip, image) == cut
    assert _no_femoral_head(hip)  # faint, and the fits saw no head: still not taken for a hip
