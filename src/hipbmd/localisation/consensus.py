"""One position from several looks at the same point: the views agree, or the odd one is outvoted.

The localiser looks at a radiograph on its working grid and on two copies turned a few degrees either way
(:mod:`~hipbmd.localisation.locate`). A region point (the neck base, the distal shaft point, a trochanter)
that the network places on a wrong structure in one look, 20–30 mm away, seldom lands there in the
others. The consensus is the mean of the positions that lie within ``agree_mm`` of their medoid (the
position with the least summed distance to the others; the first one, the working grid's own, on a tie):
with three looks a single stray one is left out, and looks that agree are averaged, which also evens out
their millimetre jitter. When no two looks agree (two that disagree, or three all apart) the first is
kept: no look outvotes it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def consensus_point(
    points_px: npt.ArrayLike, spacing_mm: tuple[float, float], agree_mm: float
) -> npt.NDArray[np.float64]:
    """The consensus (row, col) pixel of ``points_px`` (one per look, the first the preferred one),
    distances measured in mm with the pixel ``spacing_mm`` (row, col).

    Raises:
        ValueError: no points.
    """
    points = np.asarray(points_px, dtype=np.float64).reshape(-1, 2)
    if len(points) == 0:
        raise ValueError("consensus of no points")
    scaled = points * np.asarray(spacing_mm, dtype=np.float64)
    distances_mm = np.linalg.norm(scaled[:, None, :] - scaled[None, :, :], axis=-1)
    medoid = int(np.argmin(distances_mm.sum(axis=1)))  # argmin keeps the first on a tie
    agreeing = distances_mm[medoid] <= agree_mm
    if agreeing.sum() < 2:  # no look agrees with another: none outvotes the first
        return np.asarray(points[0], dtype=np.float64)
    return np.asarray(points[agreeing].mean(axis=0), dtype=np.float64)
