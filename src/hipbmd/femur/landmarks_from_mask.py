"""Proximal femur landmarks measured on a segmentation mask (world RAS+ mm, any voxel size or orientation).

Steps, each on the voxel centres (or voxel-face centres for the surface) in world mm:

1. Long axis: the principal axis of the mask, pointing superiorly (+z, as a femur does in any CT pose).
2. Head: the deepest voxels (Euclidean distance transform) in the top part each start a least-squares
   sphere fit to the surface points near that ball, repeated while keeping the points close to the
   sphere; the fit that follows its points most closely is the head (in a small femur the trochanteric
   region can be as deep as the head).
3. Shaft axis: a line fitted to the centroids of cross-sections perpendicular to the axis, from 4 head
   radii below the head centre down the shaft (at most 120 mm), refitted twice; pointing proximally.
4. Neck axis: the line through the head centre that best fits the centroids of neck cross-sections
   (0.9–1.3 head radii from the head centre: past the head, short of the trochanters, whose blend into
   the neck pulls the centroids); the narrowest neck is the smallest cross-section along it
   between the head and the neck base (where the neck axis passes closest to the shaft axis).
5. Lesser trochanter: the surface point farthest from the shaft axis on the medial side, in a height
   band below the neck base; greater trochanter: the most proximal surface point lateral to the shaft.

Medial is the side of the shaft the head lies on; ``side`` is checked against it (a right femur's head
lies towards the patient's left, −x). A mask that does not hold a head and at least
``MIN_SHAFT_BELOW_LESSER_TROCHANTER_MM`` of shaft below the lesser trochanter gives no landmarks, only
flags: the DXA position needs the shaft axis, and a guessed one would give a plausible wrong number.

One exception, on request (``allow_assumed_shaft``): a femur that the scan cuts off above its shaft (the
mask reaches the CT's inferior end slice, and too little of it lies below the head for step 3),
as hip-and-pelvis CTs often do. Its neck can still be measured if the shaft is assumed to run along the
CT's long axis (world +z: a supine patient's femoral shaft lies within about 10° of it) through the
centroid of the lowest 10 mm of the mask. The neck and the narrowest neck come from the mask as usual;
there is no lesser trochanter, so the fit is for the femoral neck only (``regions``), and it carries the
flag ``shaft_axis_assumed``. On 18 simulated femurs (3 patients, both sides, neutral and with up to 10°
of flexion or extension, 5° of abduction and 30° of external rotation) cut 75 mm below the head centre,
the neck aBMD stayed within 2.4 % of its value at the true landmarks in 17 and within 5.4 % in all
(median 0.7 %). When the scan ends inside the neck itself, or the fit on the assumed axis raises any
flag (neck-shaft angle, side, head shape), nothing is measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from hipbmd.femur.landmarks import FemurLandmarks, unit_vector
from hipbmd.femur.mask_geometry import BoneMask, Points, cross_section, fit_line, fit_sphere
from hipbmd.femur.roi import ROI_NAMES, ROISettings
from hipbmd.types import Side, Volume

Vector = npt.NDArray[np.float64]
HEAD_SEARCH_MM = 70.0  # the head's centre lies within this of the mask's top along its long axis
HEAD_SEEDS = 4  # sphere fits tried from the deepest points of the top part
HEAD_SEED_DEPTH_FRACTION = 0.7  # a seed at least this deep, relative to the deepest point
HEAD_SEED_SEPARATION_MM = 15.0  # seeds this far apart (within a head radius would start the same fit)
MIN_HEAD_RADIUS_MM = 12.0
MAX_HEAD_RADIUS_MM = 40.0
SHAFT_START_HEAD_RADII = 4.0  # shaft sections start this far below the head centre (below the trochanters)
SHAFT_LENGTH_MM = 120.0
SHAFT_STEP_MM = 5.0
MIN_SHAFT_BELOW_LESSER_TROCHANTER_MM = 40.0
NECK_SECTIONS_HEAD_RADII = (0.9, 1.3)
NECK_HALF_WIDTH = 1.0  # head radii
LESSER_BAND_HEAD_RADII = (1.0, 2.6)  # below the neck base along the shaft axis (simulated femurs: 1.35–2.1)
LESSER_TIP_TOLERANCE_MM = 1.0  # surface points this close to the farthest reach make the tip
NECK_SHAFT_ANGLE_RANGE_DEG = (105.0, 155.0)
MAX_AXES_SKEW_MM = 15.0  # neck and shaft axes nearly meet in a femur
ASSUMED_SHAFT_AXIS = np.array([0.0, 0.0, 1.0])  # world RAS+ superior: the CT's long axis
ASSUMED_SHAFT_BASE_MM = 10.0  # the assumed shaft passes through the centroid of the mask's lowest 10 mm
ALL_REGIONS = ROI_NAMES
NECK_ONLY = ("neck",)


class LandmarkError(ValueError):
    """The mask does not give trustworthy femur landmarks; the message lists the reasons."""


class NoFemoralHeadError(LandmarkError):
    """The image shows no femoral head where one should be: no round bone about the head centre (an
    unossified head, a resected one, or no femur there at all)."""


class ShaftTooShortError(LandmarkError):
    """The image shows too little of the femoral shaft to fit its axis."""


class NoShaftAxisError(LandmarkError):
    """Nothing gives the femoral shaft's direction: no distal shaft point and no shaft line to fit."""


@dataclass
class LandmarkFit:
    """Landmarks measured on a mask with the quality figures behind them.

    Attributes:
        landmarks: the landmarks, or None when the mask cannot give them (see ``flags``).
        flags: reasons to distrust or refuse the landmarks (empty when none).
        qc: figures of the fit: "head_radius_mm", "head_fit_rms_mm", "head_inlier_fraction" (surface
            points on the sphere / those of a whole sphere, approximate), "shaft_fit_rms_mm",
            "shaft_below_lesser_trochanter_mm", "neck_shaft_angle_deg", "axes_skew_mm", "voxels".
        regions: the DXA regions these landmarks can place: all three, or only the neck when the shaft
            axis was assumed (the lesser trochanter is then outside the scan, and ``lesser_trochanter_mm``
            is only the lowest medial point of the mask).
    """

    landmarks: FemurLandmarks | None
    flags: list[str] = field(default_factory=list)
    qc: dict[str, float] = field(default_factory=dict)
    regions: tuple[str, ...] = ALL_REGIONS

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary for a report (written, not read back)."""
        return {
            "landmarks": None if self.landmarks is None else self.landmarks.to_dict(),
            "flags": list(self.flags),
            "qc": {k: round(float(v), 4) for k, v in self.qc.items()},
            "regions": list(self.regions),
        }


def landmarks_from_mask(labels: Volume, label_value: int, side: Side) -> FemurLandmarks:
    """The femur landmarks of the voxels of ``labels`` equal to ``label_value``.

    Raises :class:`LandmarkError` (naming the flags) when the mask cannot give them; use
    :func:`measure_landmarks` for the flags and quality figures of an accepted fit.
    """
    fit = measure_landmarks(labels, label_value, side)
    if fit.landmarks is None:
        raise LandmarkError(f"femur_{side} (label {label_value}): " + "; ".join(fit.flags))
    return fit.landmarks


def measure_landmarks(
    labels: Volume, label_value: int, side: Side, allow_assumed_shaft: bool = False
) -> LandmarkFit:
    """Landmarks, flags and quality figures of one femur mask (see the module docstring for the method).

    With ``allow_assumed_shaft``, a femur cut off by the scan above its shaft gets neck-only landmarks
    on an assumed shaft axis (flag ``shaft_axis_assumed``) instead of none.
    """
    mask = BoneMask.from_labels(labels, label_value)
    points = mask.points_mm() if mask.inside.size else np.zeros((0, 3))
    qc: dict[str, float] = {"voxels": float(len(points))}
    if len(points) < 100:
        return LandmarkFit(None, [f"mask has {len(points)} voxels with label {label_value}: no femur"], qc)
    long_axis = _long_axis(points)
    surface = mask.surface_mm()
    head = _fit_head(mask, points, surface, long_axis, qc)
    if isinstance(head, str):
        return LandmarkFit(None, [head], qc)
    centre, radius = head
    shaft = _fit_shaft(mask, points, centre, radius, long_axis, qc)
    if isinstance(shaft, str):
        if not (allow_assumed_shaft and _cut_below(labels, label_value)):
            return LandmarkFit(None, [shaft], qc)
        assumed = _finish(mask, points, surface, side, centre, radius, *_assumed_shaft(points), qc, True)
        if assumed.landmarks is None or assumed.flags:  # an assumed axis is used only on a clean fit
            tried = "; ".join(assumed.flags) or "no landmarks"
            return LandmarkFit(
                None, [shaft, f"a shaft assumed along the CT's long axis fits no better: {tried}"], qc
            )
        assumed.flags.insert(0, f"shaft_axis_assumed: {shaft}; the scan ends there")
        return assumed
    shaft_point, shaft_axis = shaft
    return _finish(mask, points, surface, side, centre, radius, shaft_point, shaft_axis, qc)


def _cut_below(labels: Volume, label_value: int) -> bool:
    """Whether the femur reaches the CT's inferior end slice (along the axis nearest to world z)."""
    slice_axis = int(np.argmax(np.abs(labels.affine[2, :3])))
    inside = np.moveaxis(np.asarray(labels.array) == label_value, slice_axis, 0)
    inferior = inside[0] if labels.affine[2, slice_axis] > 0 else inside[-1]
    return bool(inferior.any())


def _assumed_shaft(points: Points) -> tuple[Vector, Vector]:
    """A point and direction for a shaft outside the scan: world +z through the lowest part's centroid."""
    lowest = points[points[:, 2] <= points[:, 2].min() + ASSUMED_SHAFT_BASE_MM]
    return np.asarray(lowest.mean(axis=0), np.float64), ASSUMED_SHAFT_AXIS.astype(np.float64)


def _long_axis(points: Points) -> Vector:
    """Principal axis of the mask, pointing superiorly."""
    _, direction, _ = fit_line(points)
    return direction if direction[2] >= 0 else -direction


def _fit_head(
    mask: BoneMask, points: Points, surface: Points, axis: Vector, qc: dict[str, float]
) -> tuple[Vector, float] | str:
    """Head centre and radius (mm), or the reason there is no head.

    Each of the deepest points of the mask's top part (:func:`_head_seeds`) starts a sphere fit; the head
    is the fit of a plausible radius that follows its surface points most closely (smallest RMS). In a
    small femur the trochanteric region can lie as deep as the head, and a fit started there does not
    find a sphere.
    """
    fits = [_sphere_from(mask, surface, centre, radius) for centre, radius in _head_seeds(mask, points, axis)]
    found = [fit for fit in fits if not isinstance(fit, str)]
    if not found:
        return str(fits[0])
    sized = [fit for fit in found if MIN_HEAD_RADIUS_MM <= fit[1] <= MAX_HEAD_RADIUS_MM]
    centre, radius, rms, tolerance = min(sized or found, key=lambda fit: fit[2])
    inliers = np.abs(np.linalg.norm(surface - centre, axis=1) - radius) < tolerance
    qc.update(head_radius_mm=radius, head_fit_rms_mm=rms)
    qc["head_inlier_fraction"] = float(inliers.sum()) / (4.0 * math.pi * radius**2 / _face_area(mask))
    if not MIN_HEAD_RADIUS_MM <= radius <= MAX_HEAD_RADIUS_MM:
        return (
            f"head sphere fit gave radius {radius:.1f} mm, outside {MIN_HEAD_RADIUS_MM}–{MAX_HEAD_RADIUS_MM}"
        )
    return centre, radius


def _head_seeds(mask: BoneMask, points: Points, axis: Vector) -> list[tuple[Vector, float]]:
    """Candidate head centres (mm) and their depth (mm): the deepest voxel of the mask's top part, then
    other local depth maxima there at least :data:`HEAD_SEED_DEPTH_FRACTION` as deep and
    :data:`HEAD_SEED_SEPARATION_MM` apart, deepest first (at most :data:`HEAD_SEEDS`)."""
    depth = ndimage.distance_transform_edt(mask.inside, sampling=mask.spacing_mm)
    size = np.maximum(np.rint(HEAD_SEED_SEPARATION_MM / mask.spacing_mm).astype(int), 1) | 1
    peak = (depth == ndimage.maximum_filter(depth, size=tuple(size))) & mask.inside
    index = tuple(np.argwhere(mask.inside).T)
    height = points @ axis
    top = height >= height.max() - HEAD_SEARCH_MM
    depths = np.where(top, depth[index], -1.0)
    values = np.where(peak[index], depths, -1.0)
    deepest = int(np.argmax(depths))
    seeds = [(points[deepest], float(depths[deepest]))]
    for k in np.argsort(values)[::-1]:
        if len(seeds) == HEAD_SEEDS or values[k] < HEAD_SEED_DEPTH_FRACTION * seeds[0][1]:
            break
        if min(float(np.linalg.norm(points[k] - seed)) for seed, _ in seeds) >= HEAD_SEED_SEPARATION_MM:
            seeds.append((points[k], float(values[k])))
    return seeds


def _sphere_from(
    mask: BoneMask, surface: Points, centre: Vector, radius: float
) -> tuple[Vector, float, float, float] | str:
    """Sphere fit (centre, radius, RMS, final inlier tolerance; mm) to the surface points near a ball,
    repeated while keeping the points close to the sphere; or why there is none."""
    tolerance, rms = 0.3 * radius, 0.0
    for _ in range(6):
        near = np.abs(np.linalg.norm(surface - centre, axis=1) - radius) < tolerance
        if near.sum() < 50:
            return "no spherical femoral head found"
        centre, radius, rms = fit_sphere(surface[near])
        tolerance = max(0.7 * tolerance, 1.5 * float(mask.spacing_mm.max()), 3.0 * rms)
    return centre, radius, rms, tolerance


def _face_area(mask: BoneMask) -> float:
    """Mean area (mm²) of one voxel face; a surface of area A holds about 1.5·A / that many faces."""
    s = mask.spacing_mm
    return float(s[0] * s[1] + s[1] * s[2] + s[0] * s[2]) / 3.0 * (2.0 / 3.0)


def _fit_shaft(
    mask: BoneMask,
    points: Points,
    head_mm: Vector,
    radius_mm: float,
    axis: Vector,
    qc: dict[str, float],
) -> tuple[Vector, Vector] | str:
    """A point on the shaft axis and its direction (proximal), or the reason there is no shaft."""
    step = float(np.clip(mask.spacing_mm.min() / 2.0, 0.5, 1.0))
    point = head_mm - SHAFT_START_HEAD_RADII * radius_mm * axis
    for _ in range(3):
        heights = (points - head_mm) @ axis
        start = SHAFT_START_HEAD_RADII * radius_mm
        end = min(start + SHAFT_LENGTH_MM, -heights.min() - SHAFT_STEP_MM)
        centroids = []
        for depth_mm in np.arange(start, end + 1e-6, SHAFT_STEP_MM):
            guess = point + ((head_mm - depth_mm * axis) - point) @ axis * axis
            section = cross_section(mask, guess, axis, 1.6 * radius_mm, step)
            if section.area_mm2 > 0:
                centroids.append(section.centroid_mm)
        if len(centroids) < 3:
            return (
                f"no shaft: the mask reaches only {-heights.min():.0f} mm below the head centre along its "
                f"long axis (the shaft is sampled from {start:.0f} mm)"
            )
        point, direction, rms = fit_line(np.array(centroids))
        axis = direction if direction @ (head_mm - point) > 0 else -direction
    qc["shaft_fit_rms_mm"] = rms
    return point, axis


def _finish(
    mask: BoneMask,
    points: Points,
    surface: Points,
    side: Side,
    head_mm: Vector,
    radius_mm: float,
    shaft_point: Vector,
    shaft_axis: Vector,
    qc: dict[str, float],
    shaft_assumed: bool = False,
) -> LandmarkFit:
    """Neck, trochanters and the checks that decide whether the landmarks stand (with an assumed shaft:
    the neck's, as the trochanters and the axes' skew then say nothing)."""
    flags: list[str] = []
    towards_neck = _neck_direction(mask, points, head_mm, radius_mm)
    base, skew = _closest_on_shaft(head_mm, towards_neck, shaft_point, shaft_axis)
    base_distance = float((base - head_mm) @ towards_neck)
    narrowest = _narrowest_neck(mask, head_mm, towards_neck, radius_mm, base_distance)
    medial = unit_vector(_across(head_mm - base, shaft_axis))
    lesser = _lesser_trochanter(surface, base, shaft_axis, medial, radius_mm)
    greater = _greater_trochanter(surface, base, shaft_axis, medial)
    angle = math.degrees(math.acos(float(np.clip(-towards_neck @ shaft_axis, -1, 1))))
    below = float(np.max((lesser - points) @ shaft_axis))
    qc.update(neck_shaft_angle_deg=180.0 - angle, axes_skew_mm=skew, shaft_below_lesser_trochanter_mm=below)
    if shaft_assumed and _neck_reaches_scan_end(mask, points, narrowest, towards_neck, radius_mm):
        flags.append("the scan ends inside the femoral neck: neither the neck nor the shaft can be measured")
        return LandmarkFit(None, flags, qc)
    if shaft_assumed:
        lowest_medial = surface[(surface - base) @ medial > 0]
        lesser = lowest_medial[int(np.argmin(lowest_medial[:, 2]))] if len(lowest_medial) else lesser
        qc["shaft_below_lesser_trochanter_mm"] = 0.0
    elif below < MIN_SHAFT_BELOW_LESSER_TROCHANTER_MM:
        flags.append(
            f"only {below:.0f} mm of shaft below the lesser trochanter "
            f"(needs {MIN_SHAFT_BELOW_LESSER_TROCHANTER_MM:.0f} mm for the shaft axis)"
        )
        return LandmarkFit(None, flags, qc)
    if not NECK_SHAFT_ANGLE_RANGE_DEG[0] <= qc["neck_shaft_angle_deg"] <= NECK_SHAFT_ANGLE_RANGE_DEG[1]:
        flags.append(f"neck-shaft angle {qc['neck_shaft_angle_deg']:.0f}° is outside the anatomical range")
    if skew > MAX_AXES_SKEW_MM and not shaft_assumed:
        flags.append(f"neck and shaft axes pass {skew:.0f} mm apart")
    if (medial[0] < 0) != (side == "right"):
        flags.append(f"the head lies on the lateral side of the shaft for a {side} femur: side mismatch?")
    if qc["head_fit_rms_mm"] > max(1.0, 0.5 * float(mask.spacing_mm.max())):
        flags.append(f"head sphere fit RMS {qc['head_fit_rms_mm']:.1f} mm: head not spherical")
    landmarks = FemurLandmarks(
        side, head_mm, radius_mm, -towards_neck, narrowest, shaft_axis, base, lesser, greater
    )
    return LandmarkFit(landmarks, flags, qc, NECK_ONLY if shaft_assumed else ALL_REGIONS)


def _neck_reaches_scan_end(
    mask: BoneMask, points: Points, narrowest_mm: Vector, towards_neck: Vector, radius_mm: float
) -> bool:
    """Whether the neck around its narrowest section (the neck box's 15 mm along the axis, one head
    radius around it) reaches the mask's lowest slice, where the scan ends."""
    offsets = points - narrowest_mm
    along = offsets @ towards_neck
    across = np.linalg.norm(offsets - np.outer(along, towards_neck), axis=1)
    neck = (np.abs(along) <= ROISettings().neck_box_width_mm / 2.0) & (across <= radius_mm)
    lowest = points[:, 2].min() + 0.5 * float(np.abs(mask.affine[2, :3]).max())
    return bool(np.any(points[neck, 2] <= lowest))


def _across(vector: Vector, axis: Vector) -> Vector:
    """The part of ``vector`` perpendicular to the unit ``axis``."""
    return np.asarray(vector - (vector @ axis) * axis, np.float64)


def _neck_direction(mask: BoneMask, points: Points, head_mm: Vector, radius_mm: float) -> Vector:
    """Unit direction from the head centre along the neck axis towards the neck base."""
    offsets = points - head_mm
    distance = np.linalg.norm(offsets, axis=1)
    shell = (distance > radius_mm + 2.0) & (distance < radius_mm + 10.0)
    direction = unit_vector((offsets[shell] / distance[shell, None]).mean(axis=0))
    step = float(np.clip(mask.spacing_mm.min() / 2.0, 0.5, 1.0))
    low, high = (f * radius_mm for f in NECK_SECTIONS_HEAD_RADII)
    for _ in range(3):
        centroids = []
        for t in np.arange(low, high + 1e-6, 2.0):
            section = cross_section(
                mask, head_mm + t * direction, direction, NECK_HALF_WIDTH * radius_mm, step
            )
            if section.area_mm2 > 0:
                centroids.append(section.centroid_mm - head_mm)
        if len(centroids) < 3:
            break
        rel = np.array(centroids)
        _, vectors = np.linalg.eigh(rel.T @ rel)
        fitted = vectors[:, -1]
        direction = fitted if fitted @ direction > 0 else -fitted
    return direction


def _closest_on_shaft(
    head_mm: Vector, towards_neck: Vector, shaft_point: Vector, shaft_axis: Vector
) -> tuple[Vector, float]:
    """The point of the shaft axis closest to the neck axis line, and the lines' distance (mm)."""
    w0 = shaft_point - head_mm
    b = float(towards_neck @ shaft_axis)
    d, e = float(towards_neck @ w0), float(shaft_axis @ w0)
    s = (b * d - e) / (1.0 - b * b)  # along the shaft axis from shaft_point
    t = (d - b * e) / (1.0 - b * b)  # along the neck direction from the head centre
    on_shaft = shaft_point + s * shaft_axis
    return on_shaft, float(np.linalg.norm(on_shaft - (head_mm + t * towards_neck)))


def _narrowest_neck(
    mask: BoneMask, head_mm: Vector, towards_neck: Vector, radius_mm: float, base_distance_mm: float
) -> Vector:
    """The point of the neck axis where the neck's cross-section is smallest (head to neck base)."""
    step = float(np.clip(mask.spacing_mm.min() / 2.0, 0.5, 1.0))
    distances = np.arange(0.8 * radius_mm, max(0.85 * base_distance_mm, 0.8 * radius_mm + 3.0), 1.0)
    areas = np.array(
        [
            cross_section(mask, head_mm + t * towards_neck, towards_neck, 1.3 * radius_mm, step).area_mm2
            for t in distances
        ]
    )
    smooth = np.convolve(np.pad(areas, 1, mode="edge"), np.ones(3) / 3.0, mode="valid")
    smooth[smooth <= 0] = np.inf
    return np.asarray(head_mm + distances[int(np.argmin(smooth))] * towards_neck, np.float64)


def _lesser_trochanter(
    surface: Points, base: Vector, shaft_axis: Vector, medial: Vector, radius_mm: float
) -> Vector:
    """The tip of the medial bump farthest from the shaft axis in a band below the neck base: the mean of
    the band's surface points within :data:`LESSER_TIP_TOLERANCE_MM` of the farthest reach (one voxel face
    alone jumps along the bump's flat top from one scan to the next)."""
    rel = surface - base
    height = rel @ shaft_axis
    radial = rel - np.outer(height, shaft_axis)
    low, high = (-f * radius_mm for f in LESSER_BAND_HEAD_RADII[::-1])
    band = (height > low) & (height < high) & (radial @ medial > 0)
    if not band.any():
        return np.asarray(base - LESSER_BAND_HEAD_RADII[1] * radius_mm * shaft_axis, np.float64)
    reach = np.where(band, np.linalg.norm(radial, axis=1), -1.0)
    tip = reach >= reach.max() - LESSER_TIP_TOLERANCE_MM
    return np.asarray(surface[tip].mean(axis=0), np.float64)


def _greater_trochanter(surface: Points, base: Vector, shaft_axis: Vector, medial: Vector) -> Vector:
    """The most proximal surface point on the lateral side of the shaft axis."""
    rel = surface - base
    lateral = rel @ medial < 0
    height = np.where(lateral, rel @ shaft_axis, -np.inf)
    return np.asarray(surface[int(np.argmax(height))], np.float64)
