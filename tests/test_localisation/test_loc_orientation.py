"""PatientOrientation decides the display: mirrored or upside-down images are flipped back."""

from __future__ import annotations

import numpy as np

from hipbmd.localisation.orientation import (
    DisplayOrientation,
    display_orientation,
    display_transform,
    to_standard,
)
from hipbmd.types import Radiograph


def _radiograph(orientation: object) -> Radiograph:
    meta = {} if orientation is None else {"patient_orientation": orientation}
    return Radiograph(np.arange(12, dtype=np.float32).reshape(3, 4), (1.0, 1.0), "imager", meta=meta)


def test_orientation_from_dicom_or_assumed() -> None:
    assert display_orientation(_radiograph(["L", "F"])).source == "dicom"
    mirrored = display_orientation(_radiograph(["R", "F"]))
    assert mirrored.mirrored and not mirrored.upside_down and mirrored.source == "dicom"
    assert display_orientation(_radiograph(["LA", "H"])).upside_down
    assert display_orientation(_radiograph(None)).source == "assumed"
    assert display_orientation(_radiograph(["F", "L"])).source == "assumed"  # rotated: not trusted


def test_flips_undo_themselves() -> None:
    radiograph = _radiograph(["R", "H"])
    orientation = display_orientation(radiograph)
    standard = to_standard(radiograph.array, orientation)
    np.testing.assert_array_equal(standard, radiograph.array[::-1, ::-1])
    point = np.array([0.5, 1.0])
    to_display = display_transform(orientation, radiograph.shape)
    flipped = to_display.apply(point)
    np.testing.assert_allclose(flipped, [1.5, 2.0])
    np.testing.assert_allclose(to_display.apply(flipped), point)
    np.testing.assert_allclose(to_display.inverse().matrix, to_display.matrix)
    # the pixel a point lands on holds the same value in the displayed image
    row, col = (int(v) for v in to_display.apply([0.0, 1.0]))
    assert standard[row, col] == radiograph.array[0, 1]


def test_one_flip_mirrors_angles_and_two_keep_them() -> None:
    assert DisplayOrientation().angle_sign == 1.0
    assert DisplayOrientation(mirrored=True).angle_sign == -1.0
    assert DisplayOrientation(upside_down=True).angle_sign == -1.0
    assert DisplayOrientation(mirrored=True, upside_down=True).angle_sign == 1.0
