"""The implant flag of a hip: the localiser's learnt response when it has one, else the metal plateau."""

from __future__ import annotations

import numpy as np
import pytest

from hipbmd.bmd.estimate import HipEstimate, _implant_flag
from hipbmd.decomposition.crop import CropPlacement
from hipbmd.localisation.hip_location import HipLocation
from hipbmd.types import Radiograph

HEAD_PX = (200.0, 200.0)


def _hip(probability: float | None) -> HipEstimate:
    location = HipLocation("right", HEAD_PX, None, 0.9, 0.0, "dicom", (), probability)
    return HipEstimate("right", location, CropPlacement(HEAD_PX, (0.5, 0.5), 1.15, False))


def _radiograph(metal: bool) -> Radiograph:
    rows, cols = np.indices((400, 400), dtype=np.float32)
    image = 1000.0 + 800.0 * np.exp(-((rows - 200) ** 2 + (cols - 200) ** 2) / (2 * 30.0**2))  # a bony head
    if metal:  # a stem of saturated metal through the head and down the shaft
        image[180:400, 190:215] = 4095.0
    return Radiograph(image.astype(np.float32), (0.5, 0.5), "imager")


@pytest.mark.parametrize(
    ("probability", "flag"),
    [(0.93, "implant_suspected: 0.93"), (0.2, None), (0.45, None), (0.5, "implant_suspected: 0.50")],
)
def test_a_learnt_response_decides_and_is_reported(probability: float, flag: str | None) -> None:
    # The plateau would say the opposite on these images: the learnt response is what counts.
    image = _radiograph(metal=flag is None)
    assert _implant_flag(_hip(probability), image) == flag


def test_without_a_learnt_response_the_metal_plateau_decides() -> None:
    assert _implant_flag(_hip(None), _radiograph(metal=True)) == "implant_suspected"
    assert _implant_flag(_hip(None), _radiograph(metal=False)) is None
