"""The landmark steps of :mod:`hipbmd.femur.landmarks_2d` on the bone mask of a right femur (AP view).

Pixels are (row, column); rows run superior → inferior and the medial side is +column (a right femur as
an AP radiograph is displayed; a left femur is mirrored first). Lengths in pixels unless named ``_mm``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage, optimize, signal

from hipbmd.femur.landmarks_from_mask import LandmarkError, NoFemoralHeadError, ShaftTooShortError
from hipbmd.femur.roi import neck_widths_mm

Point = npt.NDArray[np.float64]  # (row, col) px
BoolImage = npt.NDArray[np.bool_]
# head
HEAD_SEARCH_MM = 45.0  # the head centre lies within this of the most medial point of the upper femur
UPPER_FEMUR_MM = 100.0  # the head lies within this of the femur's top row
HEAD_RADIUS_RANGE_MM = (12.0, 40.0)
HEAD_FIT_RMS_FLAG_MM = 1.0  # flag: osteophytes of the simulated cohort reach ~1.7 mm
HEAD_FIT_RMS_FAIL_MM = 2.5  # fail: no head (an implant, a resected head)
HEAD_COVERAGE_FLAG = 0.5  # flag when the fitted outline covers less of the circle
# shaft
FIRST_SHAFT_START_HEAD_RADII = 3.5  # first pass, below the head centre
SHAFT_START_BELOW_LESSER_TROCHANTER_MM = 12.0  # second pass: past the lesser trochanter's bulge
MIN_SHAFT_FIT_MM = 10.0
MIN_SHAFT_BELOW_LESSER_TROCHANTER_MM = 30.0  # 20 mm for the proximal femur region, 10 mm for the fit
# neck
NECK_SEARCH_DEG = 35.0  # section normals searched around the direction of the bone next to the head
NECK_SEARCH_HEAD_RADII = (1.0, 2.0)  # section distances from the head centre
MIN_NECK_WIDTH_HEAD_RADII = 0.7  # shorter runs graze a corner of the outline
MAX_NARROWEST_HEAD_RADII = 1.6  # a narrowest section farther out is the trochanters', not the neck's
NECK_SHAFT_ANGLE_RANGE_DEG = (100.0, 160.0)  # flag outside
# trochanters
LESSER_BAND_HEAD_RADII = (0.3, 3.2)  # below the neck base along the shaft axis
LESSER_MIN_PROMINENCE_MM = 0.75
GREATER_OFF_HEAD_MM = 3.0  # greater trochanter candidates lie this far outside the head circle


def fit_circle(points: npt.NDArray[np.float64]) -> tuple[Point, float, float]:
    """Least-squares circle through (N, 2) points: (centre, radius, RMS radial residual).

    An algebraic fit (|p|² = 2 c·p + r² − |c|²) starts a geometric fit minimising Σ (|p − c| − r)².
    """
    design = np.column_stack([2.0 * points, np.ones(len(points))])
    solution, *_ = np.linalg.lstsq(design, np.einsum("ij,ij->i", points, points), rcond=None)
    start = np.append(solution[:2], np.sqrt(max(solution[2] + solution[:2] @ solution[:2], 1e-6)))

    def residuals(params: Point) -> Point:
        return np.asarray(np.linalg.norm(points - params[:2], axis=1) - params[2], np.float64)

    fit = optimize.least_squares(residuals, start, method="lm")
    return np.asarray(fit.x[:2], np.float64), float(abs(fit.x[2])), float(np.sqrt(np.mean(fit.fun**2)))


def outline_points(mask: BoolImage) -> npt.NDArray[np.float64]:
    """Midpoints (row, col) of the pixel edges between the mask and the outside (unbiased outline)."""
    padded = np.pad(mask, 1)
    found = []
    for axis in (0, 1):
        for step in (-1, 1):
            index = np.argwhere(padded & ~np.roll(padded, -step, axis=axis)).astype(np.float64) - 1.0
            index[:, axis] += 0.5 * step
            found.append(index)
    return np.concatenate(found)


@dataclass
class OutlineLandmarks:
    """Landmarks measured on a femur's mask: (row, col) points, unit directions, QC flags and figures.

    Attributes:
        points: "head_centre", "neck_narrowest", "neck_base", "lesser_trochanter", "greater_trochanter".
        head_radius_px: head circle radius.
        shaft_down: shaft axis direction, distal; neck_up: neck axis direction, neck base → head.
        neck_shaft_angle_deg: angle between neck_up and shaft_down.
        flags, qc: see :class:`hipbmd.femur.landmarks_2d.Landmarks2D`.
    """

    points: dict[str, Point]
    head_radius_px: float
    shaft_down: Point
    neck_up: Point
    neck_shaft_angle_deg: float
    flags: list[str]
    qc: dict[str, float]

    def mirrored(self, width: int) -> OutlineLandmarks:
        """The same landmarks on the image mirrored left ↔ right (``width`` columns)."""
        flip = np.array([1.0, -1.0])
        points = {k: np.array([v[0], width - 1.0 - v[1]]) for k, v in self.points.items()}
        return OutlineLandmarks(
            points,
            self.head_radius_px,
            self.shaft_down * flip,
            self.neck_up * flip,
            self.neck_shaft_angle_deg,
            self.flags,
            self.qc,
        )


class RightFemurOutline:
    """The landmark steps (see :mod:`hipbmd.femur.landmarks_2d`) on the filled bone mask of a right femur
    (medial = +column); :meth:`measure` raises :class:`LandmarkError` when a step fails."""

    def __init__(self, mask: BoolImage, spacing_mm: float) -> None:
        self.mask = mask
        self.spacing = spacing_mm
        self.outline = outline_points(mask)
        rows = np.nonzero(mask.any(axis=1))[0]
        self.top, self.bottom = int(rows[0]), int(rows[-1])
        self.qc: dict[str, float] = {}

    def measure(self) -> OutlineLandmarks:
        """All landmarks, in the order each needs the previous ones."""
        s = self.spacing
        head, radius = self._head()
        point, down = self.fit_shaft(head[0] + FIRST_SHAFT_START_HEAD_RADII * radius)
        if _medial_offset(head - point, down) <= 0:
            raise LandmarkError("the head lies lateral to the shaft axis: is the side right?")
        neck, narrowest = self._neck(head, radius)  # direction from the head towards the neck base
        base = self._neck_base(head, neck, radius, point, down)
        lesser = self._lesser_trochanter(base, point, down, radius)
        start = lesser[0] + SHAFT_START_BELOW_LESSER_TROCHANTER_MM / s
        point, down = self.fit_shaft(start, (point, down))
        base = self._neck_base(head, neck, radius, point, down)
        lesser = self._lesser_trochanter(base, point, down, radius)
        below_mm = float(np.max((np.argwhere(self.mask) - lesser) @ down)) * s
        self.qc["shaft_below_lesser_trochanter_mm"] = below_mm
        if below_mm < MIN_SHAFT_BELOW_LESSER_TROCHANTER_MM:
            raise ShaftTooShortError(
                f"shaft too short to fit: {below_mm:.0f} mm below the lesser trochanter "
                f"(needs {MIN_SHAFT_BELOW_LESSER_TROCHANTER_MM:.0f} mm)"
            )
        angle = math.degrees(math.acos(float(np.clip(-neck @ down, -1.0, 1.0))))
        points = {
            "head_centre": head,
            "neck_narrowest": narrowest,
            "neck_base": base,
            "lesser_trochanter": lesser,
            "greater_trochanter": self._greater_trochanter(head, radius, base, down),
        }
        return OutlineLandmarks(points, radius, down, -neck, angle, self._flags(angle), self.qc)

    def _flags(self, neck_shaft_angle_deg: float) -> list[str]:
        """QC codes of landmarks that stand but deserve a second look."""
        flags = []
        if self.qc["head_fit_rms_mm"] > HEAD_FIT_RMS_FLAG_MM:
            flags.append("head_not_circular")
        if self.qc["head_coverage"] < HEAD_COVERAGE_FLAG:
            flags.append("head_outline_partial")
        low, high = NECK_SHAFT_ANGLE_RANGE_DEG
        if not low <= neck_shaft_angle_deg <= high:
            flags.append("neck_shaft_angle_implausible")
        return flags

    def _head(self) -> tuple[Point, float]:
        """Head centre (px) and radius (px) from a trimmed circle fit to the outline."""
        s = self.spacing
        upper = np.argwhere(self.mask[: self.top + int(UPPER_FEMUR_MM / s)])
        medial = upper[upper[:, 1] == upper[:, 1].max()].mean(axis=0)
        depth = ndimage.distance_transform_edt(self.mask)
        rows, cols = np.indices(self.mask.shape)
        window = (rows - medial[0]) ** 2 + (cols - medial[1]) ** 2 <= (HEAD_SEARCH_MM / s) ** 2
        deepest = np.unravel_index(int(np.argmax(np.where(window, depth, -1.0))), depth.shape)
        centre, radius = np.array(deepest, np.float64), float(depth[deepest]) - 0.5
        tolerance, rms = 0.3 * radius, 0.0
        for _ in range(6):
            near = np.abs(np.linalg.norm(self.outline - centre, axis=1) - radius) < tolerance
            if near.sum() < 20:
                raise NoFemoralHeadError("no circular femoral head found")
            centre, radius, rms = fit_circle(self.outline[near])
            tolerance = max(0.7 * tolerance, 1.5, 3.0 * rms)
        rel = self.outline[near] - centre
        bins = np.floor((np.arctan2(rel[:, 0], rel[:, 1]) + math.pi) / (2 * math.pi) * 72).astype(int)
        self.qc.update(head_fit_rms_mm=rms * s, head_coverage=len(np.unique(bins % 72)) / 72.0)
        if rms * s > HEAD_FIT_RMS_FAIL_MM:
            raise NoFemoralHeadError(
                f"no circular femoral head (circle fit RMS {rms * s:.1f} mm): an implant or a resected head?"
            )
        low, high = HEAD_RADIUS_RANGE_MM
        if not low <= radius * s <= high:
            raise NoFemoralHeadError(
                f"head circle fit gave radius {radius * s:.1f} mm, outside {low}–{high} mm"
            )
        return centre, radius

    def _run(self, row: int, hint: float | None) -> tuple[float, float] | None:
        """Outer edges (columns) of the bone run in ``row`` holding column ``hint`` (nearest run to it;
        the longest when ``hint`` is None), or None when the row has no bone."""
        return bone_run(self.mask[row], hint)

    def fit_shaft(self, start_row: float, axis: tuple[Point, Point] | None = None) -> tuple[Point, Point]:
        """A point on the shaft axis and its unit direction (distal), from edge midpoints below ``start_row``.

        In each row the bone run nearest the previous ``axis`` (point, direction) is used, or the longest.
        Records the length of shaft it had to fit (rows of shaft × pixel size) as
        ``qc["shaft_fit_length_mm"]``.

        Raises:
            LandmarkError: fewer than ``MIN_SHAFT_FIT_MM`` of shaft below ``start_row``.
        """
        rows = np.arange(max(math.ceil(start_row), self.top), self.bottom + 1)
        hints = [None] * len(rows) if axis is None else list(_axis_cols(rows, *axis))
        edges = np.array([self._run(int(r), h) or (np.nan, np.nan) for r, h in zip(rows, hints, strict=True)])
        edges = edges.reshape(-1, 2)
        widths, mids = edges[:, 1] - edges[:, 0], edges.mean(axis=1)
        keep = np.isfinite(widths)
        if keep.any():
            keep[keep] = widths[keep] >= 0.6 * np.median(widths[keep])  # drops the rounded end of a bone
        self.qc["shaft_fit_length_mm"] = float(keep.sum()) * self.spacing  # rows of shaft, as checked
        if keep.sum() * self.spacing < MIN_SHAFT_FIT_MM:
            raise ShaftTooShortError(
                f"shaft too short to fit: the image shows {keep.sum() * self.spacing:.0f} mm of it "
                f"(needs {MIN_SHAFT_FIT_MM:.0f} mm)"
            )
        for _ in range(3):
            slope, intercept = np.polyfit(rows[keep], mids[keep], 1)
            residual = mids - (intercept + slope * rows)
            spread = 1.4826 * float(np.median(np.abs(residual[keep])))
            keep &= np.abs(residual) <= max(3.0 * spread, 1.0)
        down = np.array([1.0, slope]) / math.hypot(1.0, slope)
        self.qc["shaft_fit_rms_mm"] = float(np.sqrt(np.mean(residual[keep] ** 2)) * down[0] * self.spacing)
        centre_row = float(rows[keep].mean())
        return np.array([centre_row, intercept + slope * centre_row]), down

    def _neck(self, head: Point, radius: float) -> tuple[Point, Point]:
        """Neck axis direction (from the head centre towards the base) and the narrowest section's middle.

        The narrowest section is the shortest bone run across the neck on the lines 1–2 head radii from
        the head centre whose normal lies within ``NECK_SEARCH_DEG`` of the direction to the bone just
        outside the head (3° steps, then 1° around the best); runs shorter than
        ``MIN_NECK_WIDTH_HEAD_RADII`` radii (lines grazing a corner of the outline) are ignored. The
        neck axis runs from the head centre through the section's middle.
        """
        s = self.spacing
        rel = np.argwhere(self.mask) - head
        distance = np.linalg.norm(rel, axis=1)
        shell = (distance > radius + 2.0 / s) & (distance < radius + 10.0 / s)
        if not shell.any():
            raise LandmarkError("no neck next to the head")
        start = math.atan2(*(rel[shell] / distance[shell, None]).mean(axis=0)[::-1])
        coarse = np.radians(np.arange(-NECK_SEARCH_DEG, NECK_SEARCH_DEG + 0.5, 3.0))
        best = min((self._narrowest_across(head, radius, start + a) for a in coarse), key=lambda x: x[0])
        fine = np.radians(np.arange(-2.0, 2.5, 1.0))
        width, middle, from_head = min(
            (self._narrowest_across(head, radius, best[3] + a) for a in fine), key=lambda x: x[0]
        )[:3]
        if not np.isfinite(width):
            raise LandmarkError("no neck section found next to the head")
        self.qc.update(neck_width_mm=width, neck_narrowest_from_head_radii=from_head / radius)
        if from_head > MAX_NARROWEST_HEAD_RADII * radius:
            raise LandmarkError(
                f"no distinct femoral neck: the narrowest section lies {from_head / radius:.1f} head radii "
                "from the head centre (a neck foreshortened by rotation?)"
            )
        return _unit(middle - head), middle

    def _narrowest_across(
        self, head: Point, radius: float, angle_rad: float
    ) -> tuple[float, Point, float, float]:
        """The shortest run (mm; inf if none) across the lines perpendicular to the direction
        ``angle_rad`` (atan2 of (col, row)) at 1–2 head radii: width, its middle, distance, angle."""
        s = self.spacing
        direction = np.array([math.cos(angle_rad), math.sin(angle_rad)])
        low, high = (f * radius * s for f in NECK_SEARCH_HEAD_RADII)
        distances = np.arange(low, high, 0.5)
        widths, mids = neck_widths_mm(self.mask, head, -direction, distances, s, 2.0 * radius * s)
        widths = np.where(widths >= MIN_NECK_WIDTH_HEAD_RADII * radius * s, widths, np.inf)
        smooth = np.convolve(np.pad(widths, 1, mode="edge"), np.ones(3) / 3.0, mode="valid")
        index = int(np.argmin(smooth))
        across = np.array([direction[1], -direction[0]])
        middle = head + (distances[index] * direction + mids[index] * across) / s
        return float(smooth[index]), middle, float(distances[index] / s), angle_rad

    def _neck_base(self, head: Point, neck: Point, radius: float, point: Point, down: Point) -> Point:
        """Where the neck axis crosses the shaft axis."""
        matrix = np.column_stack([neck, -down])
        if abs(float(np.linalg.det(matrix))) < math.sin(math.radians(5.0)):
            raise LandmarkError("the neck axis runs parallel to the shaft axis")
        t, _ = np.linalg.solve(matrix, point - head)
        if not 1.0 * radius <= t <= 4.0 * radius:
            raise LandmarkError(
                f"the neck axis meets the shaft axis {t / radius:.1f} head radii from the head centre"
            )
        return np.asarray(head + t * neck, np.float64)

    def _lesser_trochanter(self, base: Point, point: Point, down: Point, radius: float) -> Point:
        """The most prominent bulge of the medial outline (distance from the shaft axis) below the neck."""
        first, last = (base[0] + f * radius * down[0] for f in LESSER_BAND_HEAD_RADII)
        rows = np.arange(math.ceil(first), min(int(last), self.bottom) + 1)
        axis_cols = _axis_cols(rows, point, down)
        runs = [self._run(int(r), c) for r, c in zip(rows, axis_cols, strict=True)]
        medial = np.array([np.nan if run is None else run[1] for run in runs])
        offsets = (medial - axis_cols) * down[0]
        if np.isfinite(offsets).sum() < 3:
            raise LandmarkError("no lesser trochanter: the femur ends at the neck base")
        offsets = np.where(np.isfinite(offsets), offsets, np.nanmin(offsets))
        size = max(1, round(1.0 / self.spacing)) | 1
        smooth = ndimage.uniform_filter1d(offsets, size, mode="nearest")
        peaks, props = signal.find_peaks(smooth, prominence=max(LESSER_MIN_PROMINENCE_MM / self.spacing, 1.0))
        if not len(peaks):
            raise LandmarkError("no lesser trochanter: the medial outline below the neck has no bulge")
        best = int(np.argmax(props["prominences"]))
        self.qc["lesser_trochanter_prominence_mm"] = float(props["prominences"][best]) * self.spacing
        row = int(peaks[best])
        return np.array([float(rows[row]), medial[row]])

    def _greater_trochanter(self, head: Point, radius: float, base: Point, down: Point) -> Point:
        """Mean of the outline points within half a pixel of the most proximal one lateral to the shaft
        (outside the head: a short or tilted neck can put the top of the head lateral to the axis)."""
        rel = self.outline - base
        off_head = np.linalg.norm(self.outline - head, axis=1) > radius + GREATER_OFF_HEAD_MM / self.spacing
        height = np.where((_medial_offset(rel, down) < 0) & off_head, -(rel @ down), -np.inf)
        if not np.isfinite(height.max()):
            raise LandmarkError("no greater trochanter: no bone lateral to the shaft axis")
        return np.asarray(self.outline[height >= height.max() - 0.5].mean(axis=0), np.float64)


def bone_run(row: BoolImage, hint: float | None) -> tuple[float, float] | None:
    """Outer edges (columns, pixel edges) of the run of True in ``row`` holding column ``hint`` (the
    nearest run to it; the longest when ``hint`` is None), or None when the row has none."""
    line = np.concatenate([[False], row, [False]]).astype(np.int8)
    change = np.diff(line)
    starts, ends = np.nonzero(change == 1)[0], np.nonzero(change == -1)[0] - 1
    if not len(starts):
        return None
    if hint is None:
        pick = int(np.argmax(ends - starts))
    else:
        pick = int(np.argmin(np.maximum(starts - hint, 0) + np.maximum(hint - ends, 0)))
    return float(starts[pick]) - 0.5, float(ends[pick]) + 0.5


def _axis_cols(rows: npt.NDArray[np.int64], point: Point, down: Point) -> npt.NDArray[np.float64]:
    """Column where the line through ``point`` along ``down`` crosses each row."""
    return np.asarray(point[1] + (rows - point[0]) * down[1] / down[0], np.float64)


def _unit(vector: Point) -> Point:
    return np.asarray(vector / np.linalg.norm(vector), np.float64)


def _medial_offset(vectors: npt.NDArray[np.float64], down: Point) -> npt.NDArray[np.float64]:
    """Component of (..., 2) ``vectors`` towards the medial side (+column), across the shaft ``down``."""
    return np.asarray(vectors[..., 1] * down[0] - vectors[..., 0] * down[1], np.float64)
