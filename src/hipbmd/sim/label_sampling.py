"""A label map moved from the fine anatomy grid to a scanner's coarser voxels: each voxel gets the
structure that fills most of it.

The anatomy is drawn on a fine grid (1 mm); a CT's voxels are 0.9–1 mm in plane and 1.5–2 mm thick, and
their centres fall between the fine voxels at a phase that, for a slice twice the fine step, is the same
on every slice. Taking the nearest fine voxel's label then moves the whole label by up to half a fine
voxel along the slice axis, away from the CT numbers it should outline, and the moved label shifts the
bone's outline and the regions placed on it. A segmentation drawn on the scan itself marks a voxel as bone
when bone fills most of it; this module does the same: per structure, the share of each CT voxel it
fills (the share of each fine voxel it fills, averaged over a box of the CT voxel's size and interpolated
to the voxel's centre), and the structure with the largest share, background included, labels the voxel.
The fine shares are the anatomy's own partial volumes, so a boundary halfway between fine voxels is not
a tie.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from hipbmd.sim.resampling import linear_on_lattice

LabelArray = npt.NDArray[np.uint8]


def box_weights(width: float) -> npt.NDArray[np.float64]:
    """Taps of a box ``width`` fine voxels wide centred on a fine voxel: each tap's overlap with the box,
    normalised to sum 1 (a box narrower than one voxel is the identity)."""
    reach = int(np.ceil(width / 2.0 - 0.5)) if width > 1.0 else 0
    taps = np.arange(-reach, reach + 1, dtype=np.float64)
    overlap = np.clip(np.minimum(taps + 0.5, width / 2.0) - np.maximum(taps - 0.5, -width / 2.0), 0.0, None)
    return np.asarray(overlap / overlap.sum(), np.float64)


def plurality_labels(
    structure: LabelArray,
    coverage: npt.NDArray[np.float32],
    positions: Sequence[npt.NDArray[np.float64]],
    widths: Sequence[float],
) -> LabelArray:
    """Labels of a coarse grid from the structures covering a fine grid.

    Args:
        structure: per fine voxel (X, Y, Z), the label of the structure covering it (0: none).
        coverage: per fine voxel, the share of it that structure fills (0…1).
        positions: per axis, the coarse voxel centres in fine voxel index units (evenly spaced).
        widths: per axis, the coarse voxel size in fine voxels.

    Returns:
        The coarse label array (len(positions[0]), len(positions[1]), len(positions[2])): per voxel the
        structure with the largest share of it, background included.
    """
    shape = tuple(len(p) for p in positions)
    shares = []
    present = np.flatnonzero(np.bincount(structure.ravel(), minlength=1))  # the labels present, sorted
    for label in present[present > 0].tolist():
        share, coarse_box = _share(structure == label, coverage, positions, widths)
        if share is not None:
            shares.append((label, share, coarse_box))
    background = np.ones(shape, np.float32)
    for _, share, box in shares:
        background[box] -= share
    best_share = np.maximum(background, np.float32(0.0))  # a structure must fill more than the rest
    best = np.zeros(shape, np.uint8)
    for value, share, box in shares:
        wins = share > best_share[box]
        best_share[box] = np.where(wins, share, best_share[box])
        best[box] = np.where(wins, np.uint8(value), best[box])
    return best


def _share(
    inside: npt.NDArray[np.bool_],
    coverage: npt.NDArray[np.float32],
    positions: Sequence[npt.NDArray[np.float64]],
    widths: Sequence[float],
) -> tuple[npt.NDArray[np.float32] | None, tuple[slice, ...]]:
    """The structure's share of each coarse voxel near it, and the coarse box those voxels fill."""
    kernels = [box_weights(w) for w in widths]
    first, last = _extent(inside)
    low = np.maximum(first - [len(k) for k in kernels] - 1, 0)
    high = np.minimum(last + [len(k) for k in kernels] + 2, inside.shape)
    coarse = []
    for p, lo, hi in zip(positions, low, high, strict=True):
        chosen = np.flatnonzero((p >= lo) & (p <= hi - 1))
        if not len(chosen):
            return None, ()
        coarse.append(slice(int(chosen[0]), int(chosen[-1]) + 1))
    box = tuple(slice(int(a), int(b)) for a, b in zip(low, high, strict=True))
    region = np.where(inside[box], coverage[box], np.float32(0.0)).astype(np.float32, copy=False)
    for axis, kernel in enumerate(kernels):
        if len(kernel) > 1:  # filtered in place: one region-sized array
            ndimage.convolve1d(region, kernel.astype(np.float32), axis=axis, output=region, mode="constant")
    share = linear_on_lattice(region, [p[c] - lo for p, c, lo in zip(positions, coarse, low, strict=True)])
    return share, tuple(coarse)


def _extent(inside: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """First and last index of a non-empty mask along each axis."""
    spans = []
    for axis in range(inside.ndim):
        present = np.flatnonzero(inside.any(axis=tuple(a for a in range(inside.ndim) if a != axis)))
        spans.append((present[0], present[-1]))
    first, last = zip(*spans, strict=True)
    return np.array(first, np.int64), np.array(last, np.int64)
