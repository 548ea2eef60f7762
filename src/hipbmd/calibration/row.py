"""A row of equally spaced points: the geometry of a calibration phantom's rods in an axial image.

Rods of a phantom lie on a line at equal centre-to-centre spacing; some may be missing from the detected
points (no contrast against the block), so a row is described by its first slot and its step, and each
found point by its slot number. Points are (x, y) in mm in the image plane.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from itertools import combinations

import numpy as np
import numpy.typing as npt

Points = npt.NDArray[np.float64]
RADIUS_RATIO = 1.7  # radii of one phantom's rods, as found by blob detection, agree within this factor
MIN_GAP = 2.2  # rods' centres are at least this many radii apart


@dataclass(frozen=True)
class Row:
    """Equally spaced points on a line.

    Attributes:
        origin_mm: (x, y) of slot 0 (the first slot holding a found point).
        step_mm: (dx, dy) from one slot to the next, mm.
        members: indices of the found points on the row, in slot order.
        slots: slot number of each member (0 for the first; gaps are missing points).
        rms_mm: RMS distance of the members from their slots.
    """

    origin_mm: Points
    step_mm: Points
    members: tuple[int, ...]
    slots: tuple[int, ...]
    rms_mm: float

    @property
    def span(self) -> int:
        """Number of slots from the first member to the last, missing ones included."""
        return self.slots[-1] + 1

    @property
    def spacing_mm(self) -> float:
        """Centre-to-centre distance of neighbouring slots, mm."""
        return float(np.hypot(*self.step_mm))

    def slot_mm(self, slot: npt.ArrayLike) -> Points:
        """(x, y) of a slot, any number (negative or beyond the last member too); shape (..., 2)."""
        return np.asarray(self.origin_mm + np.asarray(slot, np.float64)[..., None] * self.step_mm, np.float64)


def best_row(
    points_mm: Points,
    radii_mm: npt.ArrayLike,
    max_slots: int,
    min_members: int,
    tolerance_mm: float,
    accept: Callable[[Row], bool] | None = None,
) -> Row | None:
    """The row that holds the most points (then the fewest slots, then the smallest RMS), or None.

    Args:
        points_mm: (n, 2) candidate centres.
        radii_mm: (n,) their radii; the members of a row have similar radii and do not overlap.
        max_slots: most slots a row may span (the phantom's rod count).
        min_members: fewest points a row must hold.
        tolerance_mm: how far a point may lie from its slot, at least (10 % of the spacing is allowed too).
        accept: a further test a row must pass (e.g. that it lies in one block of matter).
    """
    points, radii = np.asarray(points_mm, np.float64), np.asarray(radii_mm, np.float64)
    best: Row | None = None
    for a, b in combinations(range(len(points)), 2):
        if max(radii[a], radii[b]) > RADIUS_RATIO * min(radii[a], radii[b]):
            continue
        for gaps in range(1, max_slots):
            step = (points[b] - points[a]) / gaps
            if np.hypot(*step) < MIN_GAP * max(radii[a], radii[b]):
                break
            rough, _ = _on_slots(points, radii, points[a], step, radii[a], max_slots, tolerance_mm)
            if len(rough) < max(min_members, len(best.members) if best else 0):
                continue
            row = _row_through(points, radii, points[a], step, radii[a], max_slots, tolerance_mm)
            if row is None or len(row.members) < min_members or not _better(row, best):
                continue
            if accept is None or accept(row):
                best = row
    return best


def refit(row: Row, points_mm: Points) -> Row:
    """The row refitted (least squares) to new positions of its members, given in slot order."""
    points = np.asarray(points_mm, np.float64)
    design = np.column_stack([np.ones(len(row.slots)), row.slots])
    (origin, step), *_ = np.linalg.lstsq(design, points, rcond=None)
    offsets = points - (origin + np.outer(row.slots, step))
    rms = float(np.sqrt(np.mean(np.sum(offsets**2, axis=1))))
    return replace(row, origin_mm=np.asarray(origin), step_mm=np.asarray(step), rms_mm=rms)


def _better(row: Row, best: Row | None) -> bool:
    if best is None:
        return True
    return (-len(row.members), row.span, row.rms_mm) < (-len(best.members), best.span, best.rms_mm)


def _row_through(
    points: Points,
    radii: Points,
    start: Points,
    step: Points,
    radius: float,
    max_slots: int,
    tolerance_mm: float,
) -> Row | None:
    """The points that sit on the slots start + m·step (then refined by least squares), or None."""
    for _ in range(2):
        members, slots = _on_slots(points, radii, start, step, radius, max_slots, tolerance_mm)
        if len(set(slots)) < 2 or max(slots) - min(slots) >= max_slots:
            return None
        design = np.column_stack([np.ones(len(slots)), slots])
        (start, step), *_ = np.linalg.lstsq(design, points[members], rcond=None)
    first = min(slots)
    order = np.argsort(slots)
    offsets = points[members] - (start + np.outer(slots, step))
    return Row(
        np.asarray(start + first * step, np.float64),
        np.asarray(step, np.float64),
        tuple(int(members[k]) for k in order),
        tuple(int(slots[k] - first) for k in order),
        float(np.sqrt(np.mean(np.sum(offsets**2, axis=1)))),
    )


def _on_slots(
    points: Points,
    radii: Points,
    start: Points,
    step: Points,
    radius: float,
    max_slots: int,
    tolerance_mm: float,
) -> tuple[list[int], list[int]]:
    """Indices and slot numbers of the points within tolerance of a slot (the nearest point per slot)."""
    along = (points - start) @ step / float(step @ step)
    slots = np.rint(along).astype(int)
    distance = np.hypot(*(points - start - np.outer(slots, step)).T)
    tolerance = max(tolerance_mm, 0.1 * float(np.hypot(*step)))
    similar = (radii < RADIUS_RATIO * radius) & (radii > radius / RADIUS_RATIO)
    fits = (distance <= tolerance) & similar & (np.abs(slots) < max_slots)
    nearest: dict[int, int] = {}
    for index in np.flatnonzero(fits):
        slot = int(slots[index])
        if slot not in nearest or distance[index] < distance[nearest[slot]]:
            nearest[slot] = int(index)
    return list(nearest.values()), list(nearest)
