"""Which way a radiograph is displayed, from DICOM PatientOrientation (0020,0020), and the flips to undo it.

PatientOrientation gives the patient direction of increasing column index, then of increasing row
index (PS3.3 §C.7.6.1.1.1). The standard AP display is ["L", "F"]: the patient's left towards the
viewer's right, the feet at the bottom. The localiser works in that display; an image recorded as
mirrored (row direction containing "R") or upside down (column direction containing "H") is flipped
into it first. Without a usable PatientOrientation the standard display is assumed, and every side
found from the image is flagged as assumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from hipbmd.frames import Affine2D
from hipbmd.types import Radiograph

SideSource = Literal["dicom", "assumed", "user"]


@dataclass(frozen=True)
class DisplayOrientation:
    """How an image departs from the standard AP display, and whether the file said so."""

    mirrored: bool = False
    upside_down: bool = False
    source: SideSource = "assumed"

    @property
    def angle_sign(self) -> float:
        """−1 when the display is one flip of the file (an angle in the file reads mirrored), else 1."""
        return -1.0 if self.mirrored != self.upside_down else 1.0


def display_orientation(radiograph: Radiograph) -> DisplayOrientation:
    """Orientation from ``meta["patient_orientation"]`` (as read from DICOM), else the assumed AP display."""
    codes = radiograph.meta.get("patient_orientation")
    if not isinstance(codes, list | tuple) or len(codes) != 2:
        return DisplayOrientation()
    across, down = (str(code).upper() for code in codes)
    if ("L" in across) == ("R" in across) or ("F" in down) == ("H" in down):
        return DisplayOrientation()  # axes swapped (a rotated image) or unreadable: not trusted
    return DisplayOrientation(mirrored="R" in across, upside_down="H" in down, source="dicom")


def to_standard(
    image: npt.NDArray[np.floating[Any]], orientation: DisplayOrientation
) -> npt.NDArray[np.float32]:
    """The image (H, W) flipped into the standard AP display (its own inverse)."""
    flipped = np.asarray(image, dtype=np.float32)
    if orientation.mirrored:
        flipped = flipped[:, ::-1]
    if orientation.upside_down:
        flipped = flipped[::-1, :]
    return np.ascontiguousarray(flipped)


def display_transform(orientation: DisplayOrientation, shape: tuple[int, int]) -> Affine2D:
    """The frame change file pixels → standard display of an image of ``shape`` (its own inverse)."""
    return Affine2D.flips(shape, rows=orientation.upside_down, cols=orientation.mirrored)
