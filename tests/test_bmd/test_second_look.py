"""A hip whose head the first decomposition found well away from the crop's head position is decomposed
again on a crop centred on that head; the second look is kept when it measured the hip."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from hipbmd.bmd import estimate as estimate_module
from hipbmd.bmd.estimate import SECOND_LOOK_MM, EstimateSettings, HipEstimate, estimate_hips
from hipbmd.decomposition.crop import CropPlacement
from hipbmd.localisation import locate
from hipbmd.localisation.hip_location import HipLocation
from hipbmd.localisation.locate import HipSearch
from hipbmd.types import Radiograph

SPACING_MM = 0.5
LOCALISER_HEAD = (200.0, 150.0)


def _radiograph() -> Radiograph:
    return Radiograph(np.zeros((400, 400), np.float32), (SPACING_MM, SPACING_MM), "imager")


def _run(
    monkeypatch: pytest.MonkeyPatch, head_found_mm: float, second_measures: bool
) -> tuple[HipEstimate, list[CropPlacement]]:
    """estimate_hips with a stand-in measurement: every look reports the head ``head_found_mm`` below the
    localiser's; the first look measures nothing, the second measures when ``second_measures``."""
    location = HipLocation("right", LOCALISER_HEAD, None, 0.9, 0.0, "dicom")
    monkeypatch.setattr(locate, "find_hips", lambda *args, **kwargs: HipSearch([location], 0.9, 0.3))
    placements: list[CropPlacement] = []
    true_head = (LOCALISER_HEAD[0] + head_found_mm / SPACING_MM, LOCALISER_HEAD[1])

    def measure(hip: HipEstimate, *args: object) -> None:
        assert hip.placement is not None
        placements.append(hip.placement)
        hip.location = replace(hip.location, head_centre_px=true_head)
        if len(placements) == 2 and second_measures:
            hip.measurements.append(SimpleNamespace(roi="neck"))  # type: ignore[arg-type]

    monkeypatch.setattr(estimate_module, "_measure", measure)
    model = SimpleNamespace(manifest={})
    result = estimate_hips(_radiograph(), model, None, EstimateSettings())  # type: ignore[arg-type]
    return result.hips[0], placements


def test_a_head_found_far_from_the_crops_is_decomposed_again_centred_on_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hip, placements = _run(monkeypatch, SECOND_LOOK_MM + 2.0, second_measures=True)
    assert len(placements) == 2
    assert placements[0].head_px == LOCALISER_HEAD
    assert placements[1].head_px == pytest.approx((LOCALISER_HEAD[0] + 14.0, LOCALISER_HEAD[1]))
    assert hip.second_look and hip.measurements
    assert hip.localiser_head_px == LOCALISER_HEAD  # the shift is still measured from the localiser's
    assert hip.crop_head_shift_mm == pytest.approx(0.0)


def test_a_second_look_that_measures_nothing_leaves_the_first(monkeypatch: pytest.MonkeyPatch) -> None:
    hip, placements = _run(monkeypatch, SECOND_LOOK_MM + 2.0, second_measures=False)
    assert len(placements) == 2 and not hip.second_look
    assert hip.placement == placements[0]


def test_a_head_near_the_crops_is_not_looked_at_again(monkeypatch: pytest.MonkeyPatch) -> None:
    hip, placements = _run(monkeypatch, SECOND_LOOK_MM - 1.0, second_measures=True)
    assert len(placements) == 1 and not hip.second_look
    assert hip.crop_head_shift_mm == pytest.approx(SECOND_LOOK_MM - 1.0)
