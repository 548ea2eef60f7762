"""Geometry of a stack of CT slices: ordering, spacing, gaps and gantry tilt.

All positions are DICOM patient coordinates (LPS, mm); conversion to RAS+ happens in the series reader.
Slices are ordered by their position along the slice normal, never by file name or instance number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# Tolerances in mm: below these, differences are rounding in the headers, not geometry.
_POSITION_TOLERANCE_MM = 1e-3
_SPACING_TOLERANCE_FRACTION = 0.01
_TILT_TOLERANCE_MM = 0.01


@dataclass(frozen=True)
class StackGeometry:
    """Where the sorted slices lie.

    Attributes:
        order: indices that sort the input slices along the normal.
        normal_positions_mm: sorted slice positions along the normal (first slice at its own value).
        step_mm: the regular slice step (median of the gaps).
        in_plane_offsets_mm: per sorted slice, the (row-direction, column-direction) shift of its origin
            relative to the first slice, in mm; non-zero only under gantry tilt.
        tilt_deg: gantry tilt angle in degrees (0 for an orthogonal stack).
        uneven: True when the gaps differ from ``step_mm`` by more than 1 %.
    """

    order: npt.NDArray[np.intp]
    normal_positions_mm: npt.NDArray[np.float64]
    step_mm: float
    in_plane_offsets_mm: npt.NDArray[np.float64]
    tilt_deg: float
    uneven: bool


class SliceGapError(ValueError):
    """Slices are missing from an otherwise regular stack."""


class DuplicateSliceError(ValueError):
    """Two slices sit at the same position."""


def slice_normal(orientation: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Unit normal (row direction × column direction) of an ImageOrientationPatient value."""
    values = np.asarray(orientation, dtype=np.float64)
    normal = np.cross(values[:3], values[3:])
    return normal / np.linalg.norm(normal)


def stack_geometry(positions_mm: npt.ArrayLike, orientation: npt.ArrayLike) -> StackGeometry:
    """Sort slices along the normal and describe their spacing and tilt.

    Args:
        positions_mm: ImagePositionPatient of each slice, shape (N, 3), LPS mm.
        orientation: the shared ImageOrientationPatient (row direction, column direction).

    Raises:
        DuplicateSliceError: two slices at the same position.
        SliceGapError: gaps that are whole multiples of the regular step (missing slices).
    """
    positions = np.asarray(positions_mm, dtype=np.float64)
    directions = np.asarray(orientation, dtype=np.float64)
    normal = slice_normal(directions)
    along = positions @ normal
    order = np.argsort(along, kind="stable")
    along, positions = along[order], positions[order]
    gaps = np.diff(along)
    if np.any(gaps < _POSITION_TOLERANCE_MM):
        where = float(along[1:][gaps < _POSITION_TOLERANCE_MM][0])
        raise DuplicateSliceError(f"two slices at the same position ({where:.2f} mm along the normal)")
    step = float(np.median(gaps))
    _raise_on_missing_slices(gaps, along, step)
    uneven = bool(np.max(np.abs(gaps - step)) > _SPACING_TOLERANCE_FRACTION * step)
    offsets = _in_plane_offsets(positions, along, normal, directions)
    tilt = _tilt_angle_deg(offsets, along)
    return StackGeometry(order, along, step, offsets, tilt, uneven)


def _raise_on_missing_slices(
    gaps: npt.NDArray[np.float64], along: npt.NDArray[np.float64], step: float
) -> None:
    """Report gaps that look like whole slices left out."""
    multiples = gaps / step
    missing = (multiples > 1.5) & (np.abs(multiples - np.round(multiples)) < 0.1)
    if not np.any(missing):
        return
    first = int(np.argmax(missing))
    count = int(np.sum(np.round(multiples[missing]) - 1))
    raise SliceGapError(
        f"{count} slice(s) missing: a {gaps[first]:.2f} mm gap between {along[first]:.2f} and "
        f"{along[first + 1]:.2f} mm along the normal where the step is {step:.2f} mm"
    )


def _in_plane_offsets(
    positions: npt.NDArray[np.float64],
    along: npt.NDArray[np.float64],
    normal: npt.NDArray[np.float64],
    directions: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Shift of each slice origin within the slice plane relative to the first, (N, 2) mm."""
    displacement = positions - positions[0] - np.outer(along - along[0], normal)
    row_direction, column_direction = directions[:3], directions[3:]
    return np.stack([displacement @ row_direction, displacement @ column_direction], axis=1)


def _tilt_angle_deg(offsets: npt.NDArray[np.float64], along: npt.NDArray[np.float64]) -> float:
    """Angle between the stacking direction and the slice normal, degrees (0 if within tolerance)."""
    shift = float(np.linalg.norm(offsets[-1]))
    if shift < _TILT_TOLERANCE_MM:
        return 0.0
    return math.degrees(math.atan2(shift, float(along[-1] - along[0])))
