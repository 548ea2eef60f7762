"""A parametric proximal femur: its geometry in a canonical frame and its landmarks.

Canonical frame of a right femur (mm): the head centre at the origin, axes as RAS+ in the anatomical
position (x towards the patient's right = lateral, y anterior, z superior). A left femur is the mirror
image (x → −x). The shaft axis leans ``shaft_adduction_deg`` from vertical (its distal end medial); the
neck axis meets it at the neck–shaft angle and is turned forward by the anteversion angle about it.

Typical adult values used by :mod:`hipbmd.sim.population` come from the anatomy literature: neck–shaft
angle 125–135°, anteversion 10–20°, head radius 22–27 mm (larger in men), femoral offset ≈ 40–45 mm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np
import numpy.typing as npt

from hipbmd.drr.geometry import rotation_matrix_deg
from hipbmd.femur.landmarks import FemurLandmarks
from hipbmd.sim.mesh_distance import SampledDistance
from hipbmd.types import Side

Vector = npt.NDArray[np.float64]


@dataclass(frozen=True)
class FemurShape:
    """Geometry of one proximal femur (mm, degrees).

    Attributes:
        head_radius_mm: femoral head radius.
        neck_length_mm: head centre to the point where the neck axis meets the shaft axis.
        neck_radius_mm: half the supero-inferior width of the neck at its narrowest.
        neck_flattening: antero-posterior / supero-inferior width of the neck (< 1: oval).
        neck_shaft_angle_deg: angle between the neck axis and the shaft (medial side).
        anteversion_deg: forward turn of the neck about the shaft axis.
        shaft_adduction_deg: lean of the shaft from vertical in the coronal plane.
        shaft_radius_mm: outer radius of the proximal shaft.
        trochanter_scale: size factor of both trochanters.
        osteophyte_mm: radius of the osteophytes at the head–neck junction (0: none).
        greater_trochanter_scale, lesser_trochanter_scale: size of each trochanter relative to
            ``trochanter_scale`` (1: the classic proportions).
        greater_trochanter_lift_mm, lesser_trochanter_lift_mm: shift of each trochanter along the shaft
            axis (positive: superior).
        outline: the outer surface's signed distance in the canonical frame when it comes from a surface
            mesh (the shape model), which then replaces the parametric outline; the numbers above are
            measured from that mesh. None: the parametric outline.
    """

    head_radius_mm: float = 24.0
    neck_length_mm: float = 52.0
    neck_radius_mm: float = 15.5
    neck_flattening: float = 0.8
    neck_shaft_angle_deg: float = 128.0
    anteversion_deg: float = 13.0
    shaft_adduction_deg: float = 8.0
    shaft_radius_mm: float = 14.5
    trochanter_scale: float = 1.0
    osteophyte_mm: float = 0.0
    greater_trochanter_scale: float = 1.0
    lesser_trochanter_scale: float = 1.0
    greater_trochanter_lift_mm: float = 0.0
    lesser_trochanter_lift_mm: float = 0.0
    outline: SampledDistance | None = field(default=None, compare=False, repr=False)

    def summary(self) -> dict[str, float]:
        """The shape's numbers for the truth (one way: the outline, an array, is left out)."""
        return {f.name: float(getattr(self, f.name)) for f in fields(self) if f.name != "outline"}

    @property
    def greater_trochanter_size(self) -> float:
        """Size factor of the greater trochanter (``trochanter_scale`` × its own scale)."""
        return self.trochanter_scale * self.greater_trochanter_scale

    @property
    def lesser_trochanter_size(self) -> float:
        """Size factor of the lesser trochanter (``trochanter_scale`` × its own scale)."""
        return self.trochanter_scale * self.lesser_trochanter_scale


@dataclass(frozen=True)
class FemurFrame:
    """Derived directions and points of a :class:`FemurShape` in the canonical frame (mm, unit vectors)."""

    shaft_axis: Vector
    neck_axis: Vector
    lateral: Vector
    anterior: Vector
    neck_base: Vector
    neck_narrowest: Vector
    greater_trochanter_centre: Vector
    lesser_trochanter_centre: Vector


def femur_frame(shape: FemurShape) -> FemurFrame:
    """The axes and key points of the canonical right femur."""
    adduction = math.radians(shape.shaft_adduction_deg)
    shaft = np.array([math.sin(adduction), 0.0, math.cos(adduction)])
    lateral = np.array([math.cos(adduction), 0.0, -math.sin(adduction)])
    anterior = np.cross(shaft, lateral)
    tilt = adduction - math.radians(180.0 - shape.neck_shaft_angle_deg)
    neck_coronal = np.array([math.sin(tilt), 0.0, math.cos(tilt)])
    neck = _rotate_about(neck_coronal, shaft, -math.radians(shape.anteversion_deg))
    base = -shape.neck_length_mm * neck
    narrowest = -(0.9 * shape.head_radius_mm + 4.0) * neck
    greater_size, lesser_size = shape.greater_trochanter_size, shape.lesser_trochanter_size
    greater = base + greater_size * (14.0 * shaft + 15.0 * lateral - 4.0 * anterior)
    greater = greater + shape.greater_trochanter_lift_mm * shaft
    lesser = base + lesser_size * (-40.0 * shaft - 13.0 * lateral - 8.0 * anterior)
    lesser = lesser + shape.lesser_trochanter_lift_mm * shaft
    return FemurFrame(shaft, neck, lateral, anterior, base, narrowest, greater, lesser)


def _rotate_about(vector: Vector, axis: Vector, angle_rad: float) -> Vector:
    """Rodrigues' rotation of ``vector`` about the unit ``axis``."""
    cos, sin = math.cos(angle_rad), math.sin(angle_rad)
    return np.asarray(
        vector * cos + np.cross(axis, vector) * sin + axis * (axis @ vector) * (1 - cos), dtype=np.float64
    )


@dataclass(frozen=True)
class FemurPlacement:
    """Where a femur sits in the world: its side, head centre, and the hip joint's angles.

    Attributes:
        side: which femur.
        head_centre_mm: world position of the head centre (the hip joint centre).
        flexion_deg: hip flexion (knee up) about the left–right axis.
        abduction_deg: hip abduction (knee away from the midline).
        external_rotation_deg: rotation about the vertical axis turning the knee outwards.
    """

    side: Side
    head_centre_mm: tuple[float, float, float]
    flexion_deg: float = 0.0
    abduction_deg: float = 0.0
    external_rotation_deg: float = 0.0

    def rotation(self) -> npt.NDArray[np.float64]:
        """Canonical (right-femur) frame → world rotation, including the mirror of a left femur.

        Returned as the linear part M such that world = head_centre + M·canonical.
        """
        mirror = np.diag([1.0 if self.side == "right" else -1.0, 1.0, 1.0])
        return np.asarray(self.joint_rotation() @ mirror, dtype=np.float64)

    def joint_rotation(self) -> npt.NDArray[np.float64]:
        """The hip joint's rotation in the world (no mirror): flexion, then abduction, then rotation."""
        sign = 1.0 if self.side == "right" else -1.0
        # Right-handed rotations in RAS: +x moves the knee (−z) forwards (flexion); about y, the right
        # knee moves laterally (+x) for negative angles (abduction); about z, the front of the right knee
        # turns laterally for negative angles (external rotation). A left femur takes the opposite signs.
        return rotation_matrix_deg(
            (self.flexion_deg, -sign * self.abduction_deg, -sign * self.external_rotation_deg)
        )


def femur_landmarks(shape: FemurShape, placement: FemurPlacement) -> FemurLandmarks:
    """Landmarks of the placed femur in world mm."""
    frame = femur_frame(shape)
    canonical = FemurLandmarks(
        side="right",
        head_centre_mm=np.zeros(3),
        head_radius_mm=shape.head_radius_mm,
        neck_axis=frame.neck_axis,
        neck_narrowest_mm=frame.neck_narrowest,
        shaft_axis=frame.shaft_axis,
        shaft_point_mm=frame.neck_base,
        lesser_trochanter_mm=frame.lesser_trochanter_centre
        - 9.0 * shape.lesser_trochanter_size * frame.lateral,
        greater_trochanter_mm=frame.greater_trochanter_centre
        + 26.0 * shape.greater_trochanter_size * frame.shaft_axis,
    )
    moved = canonical.transformed(placement.rotation(), placement.head_centre_mm)
    return FemurLandmarks(
        placement.side,
        moved.head_centre_mm,
        moved.head_radius_mm,
        moved.neck_axis,
        moved.neck_narrowest_mm,
        moved.shaft_axis,
        moved.shaft_point_mm,
        moved.lesser_trochanter_mm,
        moved.greater_trochanter_mm,
    )
