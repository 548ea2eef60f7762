"""The head centre reported for a measured hip is the one its regions stand on, when near the localiser's."""

from __future__ import annotations

import numpy as np
import pytest

from hipbmd.bmd.estimate import (
    HEAD_REFINEMENT_MM,
    HEAD_SHIFT_FLAG_MM,
    HipEstimate,
    _head_outline_centre,
    _refine_head_centre,
)
from hipbmd.decomposition.crop import CropGrid, CropPlacement
from hipbmd.decomposition.predict import PredictedDRR
from hipbmd.femur.landmarks_2d import Landmarks2D
from hipbmd.femur.measure_2d import FemurBMD
from hipbmd.localisation.hip_location import HipLocation

GRID = CropGrid((64, 64), 1.5, (0.3, 0.6))
HEAD_PX = (300.0, 200.0)


def _hip(shift_crop_px: tuple[float, float], mirror: bool) -> HipEstimate:
    head = np.asarray(GRID.head_px) + np.asarray(shift_crop_px)
    marks = Landmarks2D(
        "right", GRID.shape, 1.5, (float(head[0]), float(head[1])), 20.0, *[(0.0, 0.0)] * 4,
        (1.0, 0.0), (-1.0, 0.0), 130.0,
    )  # fmt: skip
    femur = FemurBMD("right", 1.5, {}, marks, None, np.zeros(GRID.shape, bool))
    location = HipLocation("left" if mirror else "right", HEAD_PX, None, 0.9, 0.0, "dicom")
    return HipEstimate(location.side, location, CropPlacement(HEAD_PX, (0.5, 0.5), 1.2, mirror), femur=femur)


@pytest.mark.parametrize("mirror", [False, True])
def test_a_nearby_centre_replaces_the_localisers(mirror: bool) -> None:
    hip = _hip((2.0, 1.0), mirror)  # crop pixels of 1.5 mm at the hip = 1.8 mm at the detector = 3.6 px
    _refine_head_centre(hip, GRID, _outline(hip))
    sign = -1.0 if mirror else 1.0
    assert hip.location.head_centre_px == pytest.approx((HEAD_PX[0] + 7.2, HEAD_PX[1] + sign * 3.6))
    assert hip.flags == []  # 4.0 mm: within the localiser's usual error, not flagged


def test_a_larger_shift_is_flagged() -> None:
    shift_px = (HEAD_SHIFT_FLAG_MM + 1.0) / (1.5 * 1.2)
    hip = _hip((shift_px, 0.0), False)
    _refine_head_centre(hip, GRID, _outline(hip))
    assert hip.flags == [f"head_centre_refined: {HEAD_SHIFT_FLAG_MM + 1.0:.1f} mm"]


def test_a_far_centre_leaves_the_localisers() -> None:
    far_px = (HEAD_REFINEMENT_MM + 1.0) / (1.5 * 1.2)
    hip = _hip((far_px, 0.0), False)
    _refine_head_centre(hip, GRID, _outline(hip))
    assert hip.location.head_centre_px == HEAD_PX and hip.flags == []


def _outline(hip: HipEstimate) -> tuple[float, float]:
    assert hip.femur is not None and hip.femur.landmarks is not None
    return hip.femur.landmarks.head_centre_px


def _projected_head(centre_px: tuple[float, float], radius_mm: float) -> PredictedDRR:
    """A decomposed image holding only a projected sphere (g/cm²: 2·√(r² − d²) × 0.5 g/cm³)."""
    rows, cols = np.indices(GRID.shape, dtype=np.float64)
    distance_mm = np.hypot(rows - centre_px[0], cols - centre_px[1]) * GRID.spacing_mm
    image = (0.1 * np.sqrt(np.clip(radius_mm**2 - distance_mm**2, 0.0, None))).astype(np.float32)
    return PredictedDRR(image, np.zeros_like(image), image[None])


@pytest.mark.parametrize("learnt", [None, {"head_centre": (19.5, 37.0), "neck_base": (40.0, 20.0)}])
def test_an_unmeasured_hips_head_is_read_off_the_decomposed_image(
    learnt: dict[str, tuple[float, float]] | None,
) -> None:
    true_centre = (GRID.head_px[0] + 3.0, GRID.head_px[1] - 2.0)
    hip = _hip((0.0, 0.0), False)
    hip.drr = _projected_head(true_centre, 22.0)
    centre = _head_outline_centre(hip, GRID, learnt)
    assert centre is not None
    assert np.hypot(centre[0] - true_centre[0], centre[1] - true_centre[1]) * GRID.spacing_mm < 0.75


def test_no_round_head_gives_no_outline_centre() -> None:
    hip = _hip((0.0, 0.0), False)
    empty = np.zeros(GRID.shape, np.float32)
    hip.drr = PredictedDRR(empty, empty, empty[None])
    assert _head_outline_centre(hip, GRID, None) is None
