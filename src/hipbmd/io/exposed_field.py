"""The exposed field of a radiograph: every pixel but the flat fills that reach in from its edge.

Many radiographs carry fills that are not anatomy: the collimator's shutters painted black or white by
the modality, a mask added on export, the corners of an image turned on a scanner or in software, a
frame around a digitised film. Such a fill is flat (one grey level), reaches in from the image's edge,
and meets the image with a step. A region of the hip that lies on one shows no more of the femur than
one beyond the image's edge, and the estimate counts it so (:mod:`hipbmd.bmd.region_coverage`). The
pixels themselves are left as they are: the decomposition model was trained on images with such fills.

:func:`exposed_field` finds them on blocks of about ``COARSE_SIDE`` per side: a block is flat when its
grey levels span at most ``FLAT_SHARE`` of the image's range (0.5th–99.5th percentile). For each level
at which flat blocks line the edge, the flat blocks at that level that touch the edge along at least
``MIN_EDGE_SHARE`` of a side form a fill, kept when the median level of the blocks around it differs
from its own by at least ``STEP_SHARE`` of the range. The fill's outline is then refined to the pixel
(pixels at its level within one block of it). Fills that together would leave less than
``MIN_FIELD_SHARE`` of the image are not believed: none is taken, and the whole image is the field.

Air beside the body on a noiseless image is flat too, but it runs into the air inside without a step
and is kept as image; a metal implant is flat on such an image but does not line the edge. Air
saturated to black beside the body does line it with a step, and counts as a fill: no region of the hip
lies there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

COARSE_SIDE = 512
FLAT_SHARE = 0.005
STEP_SHARE = 0.08
MIN_EDGE_SHARE = 0.06
MIN_FIELD_SHARE = 0.2
RING_BLOCKS = 2  # the blocks around a fill whose median level it is compared with
MIN_BLOCK_PX = 3  # a block of one pixel is always flat

BoolImage = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class ExposedField:
    """Which pixels of an image show the patient.

    Attributes:
        shape: the image's (rows, cols).
        outside: True on the pixels of a fill (same shape); None when the whole image is exposed.
    """

    shape: tuple[int, int]
    outside: BoolImage | None = None

    @property
    def whole(self) -> bool:
        """True when no fill was found."""
        return self.outside is None

    @property
    def outside_share(self) -> float:
        """The share of the image's pixels outside the field, 0–1."""
        return 0.0 if self.outside is None else float(self.outside.mean())

    def contains(self, points_px: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Whether (row, col) points (..., 2) lie on the exposed field: within the image (up to its outer
        pixels' outer edges) and not on a fill (nearest pixel)."""
        points = np.asarray(points_px, dtype=np.float64)
        rows, cols = points[..., 0], points[..., 1]
        upper = np.asarray(self.shape, dtype=np.float64) - 0.5
        inside = (rows >= -0.5) & (rows <= upper[0]) & (cols >= -0.5) & (cols <= upper[1])
        if self.outside is None:
            return np.asarray(inside)
        row_index = np.clip(np.round(rows), 0, self.shape[0] - 1).astype(np.intp)
        col_index = np.clip(np.round(cols), 0, self.shape[1] - 1).astype(np.intp)
        return np.asarray(inside & ~self.outside[row_index, col_index])

    def describe(self) -> str:
        """One line for the estimate's flags."""
        return (
            f"border_masked: {100.0 * self.outside_share:.0f} % of the image is a flat fill reaching in "
            "from its edge (a shutter, a mask, a turned image's corners), treated as beyond the image"
        )


def exposed_field(array: npt.NDArray[np.floating]) -> ExposedField:
    """The exposed field of a radiograph (H, W) (module docstring)."""
    values = np.asarray(array, dtype=np.float32)
    shape = (int(values.shape[0]), int(values.shape[1]))
    low, high = np.percentile(values[::2, ::2], [0.5, 99.5])
    span = float(high - low)
    if span <= 0.0:
        return ExposedField(shape)
    step = max(MIN_BLOCK_PX, math.ceil(max(shape) / COARSE_SIDE))
    level, flat = _blocks(values, step, FLAT_SHARE * span)
    outside = np.zeros(shape, dtype=bool)
    for fill_level in _edge_levels(level, flat, FLAT_SHARE * span):
        same = flat & (np.abs(level - fill_level) <= FLAT_SHARE * span)
        for fill in _edge_components(same):
            ring = ndimage.binary_dilation(fill, iterations=RING_BLOCKS) & ~fill
            if ring.any() and abs(float(np.median(level[ring])) - fill_level) >= STEP_SHARE * span:
                outside |= _refined(fill, step, shape, values, fill_level, FLAT_SHARE * span)
    if not outside.any() or 1.0 - outside.mean() < MIN_FIELD_SHARE:
        return ExposedField(shape)
    return ExposedField(shape, outside)


def _blocks(
    values: npt.NDArray[np.float32], step: int, tolerance: float
) -> tuple[npt.NDArray[np.float32], BoolImage]:
    """Mean level and flatness (max − min ≤ ``tolerance``) of ``step``² blocks (edge blocks padded)."""
    rows, cols = (math.ceil(n / step) for n in values.shape)
    padded = np.pad(values, ((0, rows * step - values.shape[0]), (0, cols * step - values.shape[1])), "edge")
    blocks = padded.reshape(rows, step, cols, step)
    spread = blocks.max(axis=(1, 3)) - blocks.min(axis=(1, 3))
    return blocks.mean(axis=(1, 3)), spread <= tolerance


def _edge_levels(level: npt.NDArray[np.float32], flat: BoolImage, tolerance: float) -> list[float]:
    """The levels (apart by more than ``tolerance``) shared by enough flat blocks on the edge to line
    ``MIN_EDGE_SHARE`` of its shortest side: the only levels a fill can have."""
    edge = np.zeros_like(flat)
    edge[0], edge[-1], edge[:, 0], edge[:, -1] = True, True, True, True
    needed = MIN_EDGE_SHARE * min(flat.shape)
    groups: list[list[float]] = []
    for value in np.sort(level[edge & flat]):
        if groups and value - groups[-1][0] <= tolerance:
            groups[-1].append(float(value))
        else:
            groups.append([float(value)])
    return [float(np.median(group)) for group in groups if len(group) >= needed]


def _edge_components(same: BoolImage) -> list[BoolImage]:
    """The 8-connected components of ``same`` that line an edge along ``MIN_EDGE_SHARE`` of its side."""
    labels, count = ndimage.label(same, structure=np.ones((3, 3), dtype=bool))
    if count == 0:
        return []
    sides = (labels[0], labels[-1], labels[:, 0], labels[:, -1])
    lining = set()
    for side in sides:
        numbers, counts = np.unique(side[side > 0], return_counts=True)
        lining |= {int(n) for n, c in zip(numbers, counts, strict=True) if c >= MIN_EDGE_SHARE * side.size}
    return [labels == number for number in sorted(lining)]


def _refined(
    fill: BoolImage,
    step: int,
    shape: tuple[int, int],
    values: npt.NDArray[np.float32],
    fill_level: float,
    tolerance: float,
) -> BoolImage:
    """A block fill brought to the pixel: pixels at its level within one block of it."""
    near = ndimage.binary_dilation(fill, iterations=1)
    pixels = np.kron(near, np.ones((step, step), dtype=bool))[: shape[0], : shape[1]]
    return np.asarray(pixels & (np.abs(values - fill_level) <= tolerance))
