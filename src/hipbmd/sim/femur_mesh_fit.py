"""Measure a femur surface mesh: head sphere, neck and shaft axes, and the :class:`FemurShape` they give.

The mesh is a right femur in RAS+ mm in the anatomical position (x lateral, y anterior, z superior).

* Head: least-squares sphere (the algebraic fit |p|² = 2c·p + k) to the vertices of the proximal medial
  end, refined on the vertices within 4 mm of the sphere on the side away from the neck.
* Shaft axis: principal axis of the vertices 100–200 mm below the head centre (below the lesser
  trochanter, above the distal flare), pointing superiorly.
* Neck axis: from the centroid of the vertices 3–8 mm outside the head sphere (just beyond the head–neck
  junction) on the neck's side, to the head centre.
* Neck–shaft angle: the 3-D angle between the neck axis and the distal shaft axis; anteversion: the turn
  of the neck about the shaft out of the plane of the shaft and the x axis, as :func:`femur_frame` builds it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hipbmd.sim.femur_shape import FemurShape

Points = npt.NDArray[np.float64]
SHAFT_RANGE_MM = (100.0, 200.0)  # below the head centre
NECK_SHELL_MM = (3.0, 8.0)  # outside the head sphere


@dataclass(frozen=True)
class Sphere:
    """A sphere (mm)."""

    centre_mm: Points
    radius_mm: float


@dataclass(frozen=True)
class FemurMeasures:
    """What the mesh measures (mm, degrees, unit vectors; the mesh's frame).

    Attributes:
        head: the head sphere.
        shaft_axis: proximal shaft direction, pointing superiorly.
        neck_axis: neck direction, pointing from the neck base to the head.
        neck_shaft_angle_deg: angle between the neck axis and the distal shaft.
        neck_length_mm: head centre to the closest point of the neck and shaft axes.
        neck_radius_mm, neck_flattening: supero-inferior half-width of the neck shell and AP / SI ratio.
        shaft_radius_mm: mean distance of the shaft vertices from the shaft axis.
    """

    head: Sphere
    shaft_axis: Points
    neck_axis: Points
    neck_shaft_angle_deg: float
    neck_length_mm: float
    neck_radius_mm: float
    neck_flattening: float
    shaft_radius_mm: float


def fit_sphere(points_mm: Points) -> Sphere:
    """Least-squares sphere through points (algebraic fit)."""
    design = np.hstack([2.0 * points_mm, np.ones((len(points_mm), 1))])
    solution, *_ = np.linalg.lstsq(design, np.sum(points_mm**2, axis=1), rcond=None)
    centre = solution[:3]
    return Sphere(centre, float(math.sqrt(solution[3] + centre @ centre)))


def head_sphere(vertices_mm: Points) -> Sphere:
    """The femoral head: a sphere fitted to the proximal medial end, then to the vertices near it."""
    top = vertices_mm[:, 2].max()
    proximal = vertices_mm[vertices_mm[:, 2] > top - 60.0]
    medial = proximal[proximal[:, 0] < np.percentile(proximal[:, 0], 35)]
    sphere = fit_sphere(medial)
    for _ in range(4):
        offset = vertices_mm - sphere.centre_mm
        near = np.abs(np.linalg.norm(offset, axis=1) - sphere.radius_mm) < 4.0
        cap = near & (offset[:, 0] < 0.3 * sphere.radius_mm)  # away from the (lateral) neck
        sphere = fit_sphere(vertices_mm[cap])
    return sphere


def shaft_axis(vertices_mm: Points, head: Sphere) -> tuple[Points, Points, float]:
    """Point on, direction of (superior) and mean radius of the proximal shaft (mm)."""
    below = head.centre_mm[2] - vertices_mm[:, 2]
    shaft = vertices_mm[(below > SHAFT_RANGE_MM[0]) & (below < SHAFT_RANGE_MM[1])]
    centre = shaft.mean(axis=0)
    _, _, rows = np.linalg.svd(shaft - centre, full_matrices=False)
    direction = rows[0] if rows[0][2] > 0 else -rows[0]
    offset = shaft - centre
    radial = offset - np.outer(offset @ direction, direction)
    return centre, direction, float(np.linalg.norm(radial, axis=1).mean())


def measure_femur(vertices_mm: Points) -> FemurMeasures:
    """Head, neck and shaft measures of a right femur mesh (RAS+ mm, anatomical position)."""
    head = head_sphere(vertices_mm)
    shaft_point, shaft, shaft_radius = shaft_axis(vertices_mm, head)
    offset = vertices_mm - head.centre_mm
    distance = np.linalg.norm(offset, axis=1) - head.radius_mm
    shell = (distance > NECK_SHELL_MM[0]) & (distance < NECK_SHELL_MM[1]) & (offset[:, 0] > 0)
    neck = _unit(-offset[shell].mean(axis=0))
    ring = offset[shell] - np.outer(offset[shell] @ neck, neck)
    up = _unit(np.cross(np.cross(neck, shaft), neck))
    anterior = np.cross(up, neck)
    si, ap = np.abs(ring @ up).max(), np.abs(ring @ anterior).max()
    angle = math.degrees(math.acos(float(np.clip(neck @ -shaft, -1.0, 1.0))))
    return FemurMeasures(
        head,
        shaft,
        neck,
        angle,
        -_axes_meeting(head.centre_mm, neck, shaft_point, shaft),
        float(si),
        float(ap / si),
        shaft_radius,
    )


def _axes_meeting(head_mm: Points, neck: Points, shaft_point_mm: Points, shaft: Points) -> float:
    """Distance from the head centre along the neck axis to its closest approach to the shaft axis."""
    w = head_mm - shaft_point_mm
    b, d, e = float(neck @ shaft), float(neck @ w), float(shaft @ w)
    return -(d - b * e) / max(1.0 - b * b, 1e-9)


def femur_shape_from_measures(measures: FemurMeasures, osteophyte_mm: float = 0.0) -> FemurShape:
    """The parametric description of a measured femur (its outline not included)."""
    shaft, neck = measures.shaft_axis, measures.neck_axis
    adduction = math.atan2(shaft[0], shaft[2])
    tilt = adduction - math.radians(180.0 - measures.neck_shaft_angle_deg)
    coronal = np.array([math.sin(tilt), 0.0, math.cos(tilt)])
    turn = math.atan2(float(np.cross(coronal, neck) @ shaft), float(coronal @ neck))
    return FemurShape(
        head_radius_mm=measures.head.radius_mm,
        neck_length_mm=measures.neck_length_mm,
        neck_radius_mm=measures.neck_radius_mm,
        neck_flattening=measures.neck_flattening,
        neck_shaft_angle_deg=measures.neck_shaft_angle_deg,
        anteversion_deg=-math.degrees(turn),
        shaft_adduction_deg=math.degrees(adduction),
        shaft_radius_mm=measures.shaft_radius_mm,
        osteophyte_mm=osteophyte_mm,
    )


def _unit(vector: Points) -> Points:
    return np.asarray(vector / np.linalg.norm(vector), np.float64)
