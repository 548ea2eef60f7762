"""Landmarks of a femur from points a network placed, with the head radius read off the image.

The hip localiser can learn, beside the head centre and the lesser trochanter, the points that place
the DXA-like regions: the narrowest neck, the neck base (where the neck axis meets the shaft axis), a
point further down the shaft axis and the greater trochanter. With them the regions need no shape fitted
to the image: the neck axis runs from the neck base to the head centre, the shaft axis from the neck
base to the distal shaft point, and only the head radius is read from the areal-density image.

Head radius: along ``HEAD_RAYS`` rays from the head centre over the head's free dome (``HEAD_DOME_DEG``
either side of the direction away from the neck base), the distance to where the areal density first
falls below ``HEAD_EDGE_FRACTION`` of its value at the head centre (and below the bone threshold at the
least); the radius is their median. A sphere's projection falls to a quarter of its central value at
0.968 of its radius, so the edge is the sphere's outline to within a few per cent whatever the image's
blur; the bone threshold alone puts it some 2.5 mm outside on a blurred image. The head centre is then
moved to the centre of the circle through the edge points (twice, each time casting the rays again), so
a centre a few millimetres off, as a localiser places it, ends on the head's own centre.

:class:`~hipbmd.femur.landmarks_from_mask.NoFemoralHeadError` (no proximal femur there): no bone at the
head centre, too few rays ending within ``HEAD_RADIUS_RANGE_MM``, radii too unequal to be a sphere's
(their half 16–84 % range over ``HEAD_ROUNDNESS_LIMIT`` of the median: the flat top of an unossified
femur, a trochanter), or a neck–shaft angle outside ``NECK_SHAFT_ANGLE_LIMITS_DEG``.

Points are (row, column) pixels of a right femur as an AP radiograph is displayed (medial = +column);
a left femur's image and points are mirrored first, as in :mod:`hipbmd.femur.landmarks_2d`.

Shaft axis without a distal shaft point: that point, 60 mm down the shaft, may lie off the image or be
too faint for the localiser to give. The shaft axis is then the one fitted to the image when that fit
succeeded (flag ``shaft_axis_from_fit``: the fit needs 30 mm of shaft below the lesser trochanter on the
part of the decomposed crop that shows the radiograph, ``on_image`` of
:func:`~hipbmd.femur.measure_2d.measure_femur_drr`: a shaft the model drew on beyond the radiograph's edge
is not fitted). When that fit fails on a femur cut 18–30 mm below the lesser trochanter, the caller may
pass the axis of the short shaft the image shows (:func:`~hipbmd.femur.landmarks_2d.visible_shaft_axis`).
Without any there is no shaft to orient the regions by, and no landmarks
(:class:`~hipbmd.femur.landmarks_from_mask.NoShaftAxisError`). (A typical
neck–shaft angle in place of the axis was tried on simulated radiographs whose image ended about the
lesser trochanter: the trochanters the localiser still placed there were mostly guesses beyond the
image, and the total hip erred by 0.06–0.28 g/cm².)
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from hipbmd.femur.landmarks_2d import Landmarks2D
from hipbmd.femur.landmarks_from_mask import LandmarkError, NoFemoralHeadError, NoShaftAxisError
from hipbmd.femur.outline_2d import HEAD_RADIUS_RANGE_MM, fit_circle
from hipbmd.femur.roi import BONE_THRESHOLD_G_CM2

LEARNT_POINTS = (
    "head_centre",
    "neck_narrowest",
    "neck_base",
    "shaft_distal",
    "lesser_trochanter",
    "greater_trochanter",
)
# Points the regions can stand without: the distal shaft point (the fitted shaft line stands in), and the
# greater trochanter, which places no region (it is part of the total hip's bone, weighed by the
# region-coverage check when off the image).
OPTIONAL_POINTS = ("shaft_distal", "greater_trochanter")
HEAD_RAYS = 36
HEAD_DOME_DEG = 70.0  # rays within this of the direction away from the neck base
MIN_HEAD_RAYS_FRACTION = 0.5
HEAD_EDGE_FRACTION = 0.25
HEAD_ROUNDNESS_LIMIT = 0.3  # allows a head centre up to ~0.3 radii off (the localiser's ~5 mm on ~22 mm)
REFINE_PASSES = 2
MAX_CENTRE_SHIFT_MM = 8.0
NECK_SHAFT_ANGLE_LIMITS_DEG = (95.0, 170.0)


def learnt_landmarks(
    image_g_cm2: npt.ArrayLike,
    points_px: Mapping[str, tuple[float, float]],
    spacing_mm: float,
    threshold_g_cm2: float = BONE_THRESHOLD_G_CM2,
    fitted_shaft_axis: tuple[float, float] | None = None,
    fitted_axis_flag: str = "shaft_axis_from_fit",
) -> Landmarks2D:
    """:class:`Landmarks2D` of a right femur from learnt points (``LEARNT_POINTS``, crop pixels) and the
    head radius read on ``image_g_cm2`` (g/cm², square ``spacing_mm`` pixels). Without a distal shaft
    point the shaft axis is ``fitted_shaft_axis`` (unit (row, col), distal; flagged
    ``fitted_axis_flag``), see the module docstring.

    Without a greater trochanter point the landmarks have none (flag ``greater_trochanter_not_placed``).

    Raises:
        LandmarkError: a point other than the distal shaft point or the greater trochanter missing, no
            shaft axis at all, no head edge around the head centre, or axes that meet implausibly.
    """
    missing = [name for name in LEARNT_POINTS if name not in points_px and name not in OPTIONAL_POINTS]
    if missing:
        raise LandmarkError(f"the localiser gave no {', '.join(missing)}")
    image = np.asarray(image_g_cm2, dtype=np.float64)
    point = {name: np.asarray(points_px[name], dtype=np.float64) for name in points_px}
    head, base = point["head_centre"], point["neck_base"]
    neck_up = _unit(head - base, "the neck base lies on the head centre")
    shaft_down, flags = _shaft_axis(point, fitted_shaft_axis, fitted_axis_flag)
    angle = math.degrees(math.acos(float(np.clip(neck_up @ shaft_down, -1.0, 1.0))))
    low, high = NECK_SHAFT_ANGLE_LIMITS_DEG
    if not low <= angle <= high:
        raise NoFemoralHeadError(
            f"learnt neck and shaft axes meet at {angle:.0f}° (outside {low:.0f}–{high:.0f}°): "
            "no proximal femur"
        )
    head, radius_mm = head_circle(image, head, neck_up, spacing_mm, threshold_g_cm2)
    neck_up = _unit(head - base, "the neck base lies on the head centre")
    greater = point.get("greater_trochanter")
    if greater is None:
        flags = (*flags, "greater_trochanter_not_placed")
    return Landmarks2D(
        side="right",
        shape=(int(image.shape[0]), int(image.shape[1])),
        pixel_spacing_mm=float(spacing_mm),
        head_centre_px=_pair(head),
        head_radius_mm=radius_mm,
        neck_narrowest_px=_pair(point["neck_narrowest"]),
        neck_base_px=_pair(base),
        lesser_trochanter_px=_pair(point["lesser_trochanter"]),
        greater_trochanter_px=None if greater is None else _pair(greater),
        shaft_axis=_pair(shaft_down),
        neck_axis=_pair(neck_up),
        neck_shaft_angle_deg=angle,
        flags=flags,
        qc={},
    )


def _shaft_axis(
    point: Mapping[str, npt.NDArray[np.float64]],
    fitted_shaft_axis: tuple[float, float] | None,
    fitted_axis_flag: str,
) -> tuple[npt.NDArray[np.float64], tuple[str, ...]]:
    """The distal shaft direction (unit row, col) and the flag of where it came from (none: learnt)."""
    if "shaft_distal" in point:
        return _unit(
            point["shaft_distal"] - point["neck_base"], "the distal shaft point lies on the neck base"
        ), ()
    if fitted_shaft_axis is not None:
        axis = _unit(np.asarray(fitted_shaft_axis, dtype=np.float64), "no fitted shaft axis")
        return axis, (fitted_axis_flag,)
    raise NoShaftAxisError(
        "no shaft to orient the regions by: the localiser gave no shaft_distal and no shaft line fits"
    )


def head_circle(
    image_g_cm2: npt.NDArray[np.float64],
    head_px: npt.NDArray[np.float64],
    neck_up: npt.NDArray[np.float64],
    spacing_mm: float,
    threshold_g_cm2: float = BONE_THRESHOLD_G_CM2,
) -> tuple[npt.NDArray[np.float64], float]:
    """The femoral head's centre (px) and radius (mm), from the head's edge along rays over its free dome
    (see the module docstring). The centre starts at ``head_px`` and moves to the centre of the circle
    through the edge points while that moves it less than ``MAX_CENTRE_SHIFT_MM`` (``REFINE_PASSES``
    times); the radius is the median ray length from the last centre.

    Raises:
        NoFemoralHeadError: no bone at the centre, fewer than half the rays end within the plausible
            radii, or radii too unequal for a sphere.
    """
    centre = np.asarray(head_px, dtype=np.float64)
    for _ in range(REFINE_PASSES):
        radii, directions = _dome_edges(image_g_cm2, centre, neck_up, spacing_mm, threshold_g_cm2)
        fitted, _, _ = fit_circle(centre + directions * (radii[:, None] / spacing_mm))
        if float(np.linalg.norm(fitted - centre)) * spacing_mm > MAX_CENTRE_SHIFT_MM:
            break
        centre = np.asarray(fitted, dtype=np.float64)
    radii, _ = _dome_edges(image_g_cm2, centre, neck_up, spacing_mm, threshold_g_cm2)
    median = float(np.median(radii))
    spread = float(np.percentile(radii, 84) - np.percentile(radii, 16)) / 2.0 / median
    if spread > HEAD_ROUNDNESS_LIMIT:
        raise NoFemoralHeadError(
            f"the bone about the head centre is not round (radii vary by ±{100 * spread:.0f} %)"
        )
    return centre, median


def _dome_edges(
    image_g_cm2: npt.NDArray[np.float64],
    head_px: npt.NDArray[np.float64],
    neck_up: npt.NDArray[np.float64],
    spacing_mm: float,
    threshold_g_cm2: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Ray lengths (mm) to the head's edge and their unit (row, col) directions, for the rays that end
    within the plausible radii."""
    low, high = HEAD_RADIUS_RANGE_MM
    centre_g_cm2 = _value(image_g_cm2, head_px)
    if centre_g_cm2 <= threshold_g_cm2:
        raise NoFemoralHeadError("no bone at the head centre")
    away = math.atan2(float(neck_up[1]), float(neck_up[0]))  # (row, col) angle of the dome's middle
    angles = away + np.radians(np.linspace(-HEAD_DOME_DEG, HEAD_DOME_DEG, HEAD_RAYS))
    steps_mm = np.arange(0.0, high + spacing_mm, spacing_mm / 4.0)
    directions = np.stack([np.cos(angles), np.sin(angles)], axis=1)  # (rays, 2) row, col
    samples = head_px[None, None, :] + directions[:, None, :] * (steps_mm[None, :, None] / spacing_mm)
    values = ndimage.map_coordinates(
        image_g_cm2, [samples[..., 0], samples[..., 1]], order=1, mode="constant", cval=0.0
    )
    below = values <= max(threshold_g_cm2, HEAD_EDGE_FRACTION * centre_g_cm2)
    ended = below.any(axis=1)
    radii = steps_mm[below.argmax(axis=1)]
    keep = ended & (radii >= low) & (radii <= high)
    if keep.sum() < MIN_HEAD_RAYS_FRACTION * HEAD_RAYS:
        raise NoFemoralHeadError(
            f"no femoral head edge around the head centre ({int(keep.sum())} of {HEAD_RAYS} rays end "
            f"at {low:.0f}–{high:.0f} mm)"
        )
    return radii[keep], directions[keep]


def _value(image: npt.NDArray[np.float64], point: npt.NDArray[np.float64]) -> float:
    sampled = ndimage.map_coordinates(image, [[point[0]], [point[1]]], order=1, mode="constant", cval=0.0)
    return float(sampled[0])


def _unit(vector: npt.NDArray[np.float64], why: str) -> npt.NDArray[np.float64]:
    length = float(np.linalg.norm(vector))
    if length < 1e-6:
        raise LandmarkError(why)
    return vector / length


def _pair(values: npt.NDArray[np.float64]) -> tuple[float, float]:
    return float(values[0]), float(values[1])
