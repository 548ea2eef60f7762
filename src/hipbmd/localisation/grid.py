"""The localiser's working grid: a radiograph resampled to a fixed pitch at the detector, and back.

Pixel coordinates are (row, col) with integer values at pixel centres. A working pixel of pitch
``p`` mm covers ``step = p / spacing`` original pixels along each axis, so

    original = origin + working × step,   origin = (step − 1) / 2,

which puts working pixel 0 at the centre of the first ``step`` original pixels. Resampling low-passes
the image first (Gaussian, σ = 0.4 step original pixels) so that the coarse grid is not aliased.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from hipbmd.frames import Affine2D

AA_SIGMA_PER_STEP = 0.4
PointArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class GridMap:
    """Affine map between original pixels and working pixels (per axis: scale and offset, no rotation).

    Attributes:
        origin_px: original (row, col) of working pixel (0, 0).
        step_px: original pixels per working pixel, (row, col).
        shape: working grid size (rows, cols).
    """

    origin_px: tuple[float, float]
    step_px: tuple[float, float]
    shape: tuple[int, int]

    @property
    def working_to_original(self) -> Affine2D:
        """The frame change working pixels → original pixels."""
        return Affine2D.scale_shift(self.step_px, self.origin_px)

    @property
    def original_to_working(self) -> Affine2D:
        """The frame change original pixels → working pixels."""
        return self.working_to_original.inverse()

    def to_original(self, points: npt.ArrayLike) -> PointArray:
        """Working (row, col) points (..., 2) → original pixels."""
        return self.working_to_original.apply(points)

    def to_working(self, points: npt.ArrayLike) -> PointArray:
        """Original (row, col) points (..., 2) → working pixels."""
        return self.original_to_working.apply(points)


def grid_map(image_shape: tuple[int, int], spacing_mm: tuple[float, float], pitch_mm: float) -> GridMap:
    """The working grid covering an image of ``image_shape`` pixels of ``spacing_mm`` (row, col) each."""
    step = (pitch_mm / spacing_mm[0], pitch_mm / spacing_mm[1])
    shape = (max(1, math.ceil(image_shape[0] / step[0])), max(1, math.ceil(image_shape[1] / step[1])))
    origin = ((step[0] - 1.0) / 2.0, (step[1] - 1.0) / 2.0)
    return GridMap(origin, step, shape)


def to_working_grid(
    image: npt.NDArray[np.floating[Any]],
    spacing_mm: tuple[float, float],
    pitch_mm: float,
    smooth: npt.NDArray[np.float32] | None = None,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_], GridMap]:
    """Resample ``image`` (H, W) to the working pitch (``smooth``: the image already low-passed for it,
    :func:`low_passed`, when several grids are cut from one image).

    Returns:
        the working image, a mask of the working pixels whose centres fall inside the original image,
        and the :class:`GridMap`.
    """
    mapping = grid_map((int(image.shape[0]), int(image.shape[1])), spacing_mm, pitch_mm)
    smooth = _anti_aliased(image, mapping) if smooth is None else smooth
    rows = mapping.origin_px[0] + np.arange(mapping.shape[0]) * mapping.step_px[0]
    cols = mapping.origin_px[1] + np.arange(mapping.shape[1]) * mapping.step_px[1]
    grid_rows, grid_cols = np.meshgrid(rows, cols, indexing="ij")
    working = ndimage.map_coordinates(smooth, [grid_rows, grid_cols], order=1, mode="nearest")
    valid = (grid_rows <= image.shape[0] - 0.5) & (grid_cols <= image.shape[1] - 0.5)
    return working.astype(np.float32), valid, mapping


def to_turned_grid(
    image: npt.NDArray[np.floating[Any]],
    spacing_mm: tuple[float, float],
    pitch_mm: float,
    turn_deg: float,
    smooth: npt.NDArray[np.float32] | None = None,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_], Affine2D]:
    """Resample ``image`` (H, W) to the working pitch on a grid turned about the image's centre by
    ``turn_deg`` (counter-clockwise as displayed, in millimetres): an image tilted by that angle comes out
    level. The grid has the axis-aligned one's shape; corners it turns in from beyond the image are
    invalid. ``smooth``: as for :func:`to_working_grid`.

    Returns:
        the working image, a mask of the working pixels whose centres fall inside the original image,
        and the frame change working pixels → original pixels.
    """
    shape = (int(image.shape[0]), int(image.shape[1]))
    mapping = grid_map(shape, spacing_mm, pitch_mm)
    centre = ((shape[0] - 1) / 2.0, (shape[1] - 1) / 2.0)
    to_mm = Affine2D.scale_shift(spacing_mm, (-centre[0] * spacing_mm[0], -centre[1] * spacing_mm[1]))
    turn = to_mm.then(Affine2D.turn(math.radians(turn_deg))).then(to_mm.inverse())
    working_to_original = mapping.working_to_original.then(turn)
    rows, cols = np.indices(mapping.shape, dtype=np.float64)
    points = working_to_original.apply(np.stack([rows, cols], axis=-1))
    smooth = _anti_aliased(image, mapping) if smooth is None else smooth
    working = ndimage.map_coordinates(smooth, [points[..., 0], points[..., 1]], order=1, mode="nearest")
    upper = np.asarray(shape, dtype=np.float64) - 0.5
    valid = np.all((points >= -0.5) & (points <= upper), axis=-1)
    return working.astype(np.float32), valid, working_to_original


def low_passed(
    image: npt.NDArray[np.floating[Any]], spacing_mm: tuple[float, float], pitch_mm: float
) -> npt.NDArray[np.float32]:
    """``image`` low-passed for sampling at the working pitch (what every working grid samples)."""
    return _anti_aliased(image, grid_map((int(image.shape[0]), int(image.shape[1])), spacing_mm, pitch_mm))


def _anti_aliased(image: npt.NDArray[np.floating[Any]], mapping: GridMap) -> npt.NDArray[np.float32]:
    """The image low-passed for sampling at the grid's step (Gaussian, σ = 0.4 step, where it shrinks)."""
    sigma = [max(0.0, AA_SIGMA_PER_STEP * s) if s > 1.0 else 0.0 for s in mapping.step_px]
    return np.asarray(
        ndimage.gaussian_filter(np.asarray(image, dtype=np.float32), sigma, mode="nearest"), dtype=np.float32
    )
