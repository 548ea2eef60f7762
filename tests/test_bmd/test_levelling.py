"""Levelling the crops of a tilted radiograph: analytic head lines and shafts with known angles."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hipbmd.bmd.levelling import (
    HEAD_LINE_TOLERANCE_DEG,
    SHAFT_LEVEL_DEG,
    SHAFT_RANGE_DEG,
    SHAFT_TRUSTED_DEG,
    levelling,
    shaft_angle_deg,
)
from hipbmd.decomposition.crop import CropGrid, CropPlacement, crop_frame
from hipbmd.localisation.head_line import head_line_tilt_deg
from hipbmd.localisation.hip_location import HipLocation

SPACING_MM = (0.2, 0.25)  # anisotropic on purpose: angles are taken in millimetres
CENTRE_PX = np.array([1000.0, 800.0])


def _turned(offset_mm: tuple[float, float], degrees: float) -> tuple[float, float]:
    """The image point (px) at ``offset_mm`` (row, col) from the image centre, the whole image turned
    counter-clockwise as displayed by ``degrees``."""
    angle = math.radians(degrees)
    row, col = offset_mm
    turned = (math.cos(angle) * row - math.sin(angle) * col, math.sin(angle) * row + math.cos(angle) * col)
    return (CENTRE_PX[0] + turned[0] / SPACING_MM[0], CENTRE_PX[1] + turned[1] / SPACING_MM[1])


def _hip(side: str, head_mm: tuple[float, float], degrees: float, shaft_deg: float = 6.0) -> HipLocation:
    """A hip whose head sits at ``head_mm`` from the centre and whose shaft runs ``shaft_deg`` from the
    vertical toward the head's side (as on an untilted image), the image turned by ``degrees``."""
    toward_head = 1.0 if side == "right" else -1.0  # a right hip's head lies toward +col (the midline)
    base = (head_mm[0] + 30.0, head_mm[1] - toward_head * 30.0)
    length, angle = 80.0, math.radians(shaft_deg)
    distal = (base[0] + length * math.cos(angle), base[1] + toward_head * length * math.sin(angle))
    return HipLocation(
        side,  # type: ignore[arg-type]
        _turned(head_mm, degrees),
        None,
        0.9,
        0.9,
        "assumed",
        region_points_px={"neck_base": _turned(base, degrees), "shaft_distal": _turned(distal, degrees)},
    )


def _pair(degrees: float) -> list[HipLocation]:
    return [_hip("right", (0.0, -90.0), degrees), _hip("left", (0.0, 90.0), degrees)]


def _tilt(hips: list[HipLocation]) -> float | None:
    return head_line_tilt_deg([hip.head_centre_px for hip in hips], SPACING_MM)


@pytest.mark.parametrize("degrees", [-25.0, -4.0, 0.0, 7.5, 20.0])
def test_the_head_line_tilt_is_the_image_turn(degrees: float) -> None:
    assert _tilt(_pair(degrees)) == pytest.approx(degrees)
    assert _tilt(_pair(degrees)[:1]) is None


def test_two_hips_turn_their_crops_by_the_tilt_opposite_when_mirrored_flagged_beyond_the_tolerance() -> None:
    right, left = _pair(12.0)
    tilt = _tilt([right, left])
    assert levelling(right, tilt, SPACING_MM, mirror=False).turn_deg == pytest.approx(12.0)
    assert levelling(left, tilt, SPACING_MM, mirror=True).turn_deg == pytest.approx(-12.0)
    assert "crop_levelled" in str(levelling(right, tilt, SPACING_MM, mirror=False).flag())
    within = _pair(HEAD_LINE_TOLERANCE_DEG - 1.0)
    level = levelling(within[0], _tilt(within), SPACING_MM, mirror=False)
    assert level.turn_deg == pytest.approx(HEAD_LINE_TOLERANCE_DEG - 1.0)
    assert level.flag() is None  # a tilt training held: turned, not flagged


@pytest.mark.parametrize(("side", "mirror"), [("right", False), ("left", True)])
@pytest.mark.parametrize("degrees", [-20.0, 0.0, 15.0])
def test_the_shaft_angle_is_read_in_the_crop_frame(side: str, mirror: bool, degrees: float) -> None:
    head = (0.0, -90.0) if side == "right" else (0.0, 90.0)
    hip = _hip(side, head, degrees, shaft_deg=6.0)
    # the crop frame shows every hip as a right hip: an image turn reads as -turn in a mirrored crop
    expected = 6.0 + (-degrees if mirror else degrees)
    assert shaft_angle_deg(hip, SPACING_MM, mirror) == pytest.approx(expected)


@pytest.mark.parametrize(("side", "mirror"), [("right", False), ("left", True)])
@pytest.mark.parametrize("degrees", [-25.0, 0.0, 25.0])
def test_a_single_hip_crop_shows_its_shaft_at_the_training_median(
    side: str, mirror: bool, degrees: float
) -> None:
    head = (0.0, -90.0) if side == "right" else (0.0, 90.0)
    hip = _hip(side, head, degrees, shaft_deg=6.0)
    level = levelling(hip, None, SPACING_MM, mirror)
    grid = CropGrid((128, 128), 1.25, (0.3, 0.62))
    placement = CropPlacement(hip.head_centre_px, SPACING_MM, 1.2, mirror, level.turn_deg)
    to_crop = crop_frame(grid, placement).inverse()
    base, distal = (to_crop.apply(hip.region_points_px[name]) for name in ("neck_base", "shaft_distal"))
    seen = math.degrees(math.atan2(distal[1] - base[1], distal[0] - base[0]))
    measured = 6.0 + (-degrees if mirror else degrees)
    assert seen == pytest.approx(SHAFT_LEVEL_DEG, abs=1e-6)
    assert (level.flag() is None) == (SHAFT_RANGE_DEG[0] <= measured <= SHAFT_RANGE_DEG[1])


@pytest.mark.parametrize("steep", [SHAFT_TRUSTED_DEG[0] - 5.0, SHAFT_TRUSTED_DEG[1] + 5.0])
def test_a_shaft_too_steep_for_a_turned_image_is_not_trusted(steep: float) -> None:
    hip = _hip("right", (0.0, -90.0), steep - 6.0, shaft_deg=6.0)
    level = levelling(hip, None, SPACING_MM, mirror=False)
    assert level.measured_deg == pytest.approx(steep)
    assert level.turn_deg == 0.0
    assert str(level.flag()).startswith("crop_not_levelled")
    trusted = levelling(_hip("right", (0.0, -90.0), 20.0, shaft_deg=6.0), None, SPACING_MM, mirror=False)
    assert str(trusted.flag()).startswith("crop_levelled")


def test_a_two_hip_crop_shows_the_head_line_level() -> None:
    right, left = _pair(-18.0)
    grid = CropGrid((128, 128), 1.25, (0.3, 0.62))
    for hip, mirror in ((right, False), (left, True)):
        level = levelling(hip, _tilt([right, left]), SPACING_MM, mirror)
        placement = CropPlacement(hip.head_centre_px, SPACING_MM, 1.2, mirror, level.turn_deg)
        to_crop = crop_frame(grid, placement).inverse()
        # both heads seen from this crop: the line through them tilts by the tolerance at most
        near, far = to_crop.apply(right.head_centre_px), to_crop.apply(left.head_centre_px)
        first, second = sorted([near, far], key=lambda p: p[1])
        tilt = -math.degrees(math.atan2(second[0] - first[0], second[1] - first[1]))
        assert tilt == pytest.approx(0.0, abs=1e-6)


def test_two_heads_too_close_or_too_steep_are_not_a_pelvis() -> None:
    close = [_hip("right", (0.0, -30.0), 10.0), _hip("left", (0.0, 30.0), 10.0)]
    assert _tilt(close) is None
    assert _tilt(_pair(50.0)) is None
    # each is then levelled by its own shaft, as a single hip would be
    assert levelling(close[0], _tilt(close), SPACING_MM, mirror=False).source == "shaft"


def test_a_hip_without_shaft_points_is_not_turned() -> None:
    hip = HipLocation("right", (100.0, 100.0), None, 0.9, 0.9, "assumed")
    level = levelling(hip, None, SPACING_MM, mirror=False)
    assert level.turn_deg == 0.0 and level.measured_deg is None and level.flag() is None
