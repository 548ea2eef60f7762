"""Poses of a hip CT's bones on a radiograph: the pelvis, then each femur, by 2D/3D registration.

The research path's training targets need each femur in the pose it has on the radiograph, and a hip
radiograph and its CT show the femurs at different joint angles, so every bone gets its own pose
(:func:`hipbmd.registration.register`, structure = that bone's labels):

1. **Start.** The hip localiser's head centre on the radiograph (pixel p) and the femur's 3-D head centre
   H in the CT (from its mask) fix the in-plane position: an AP pose about H, shifted so that H, at the
   radiograph's source–object distance, projects onto p.
2. **Pelvis** (all bone labels except the femurs), from that start.
3. **Each femur**, from the pelvis pose re-expressed about its own head centre: the hip is a ball joint,
   so a femur differs from the pelvis mostly by a rotation about that centre, which the perturbed
   starts of the coarsest level (±6°) and Powell's search then find.
4. For that femur's all-bone target, the pelvis is anchored at the hip (:func:`anchored_pelvis`).

The moving image is not the CT's attenuation but the bones' excess attenuation over water,
μ_water·max(HU, 0)/1000 inside the bone labels (:func:`bone_excess_attenuation`): a hip CT also holds
the table, the calibration phantom (a dense block under the hips on an AP view) and the sharp ends of
its field of view, none of which the radiograph shows; around a femur they stalled the search far from
the truth on the simulated test cohort, while the bones alone found it. Soft tissue adds a smooth
background to the radiograph that the similarity's tone map and gradient correlation absorb.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from hipbmd.drr.geometry import AP_VIEW_ROTATION, PoseParameters, rotation_matrix_deg
from hipbmd.drr.render import MU_WATER_PER_MM
from hipbmd.registration import register
from hipbmd.registration.register import RegistrationReport
from hipbmd.types import Camera, Radiograph, Volume

LEVEL_TARGETS_MM = (10.0, 5.0, 2.5)  # coarsest pixel sizes of the default levels


@dataclass(frozen=True)
class RegistrationSettings:
    """How hard each bone's registration searches (see :func:`hipbmd.registration.register`) and when
    its result is refused. The thresholds come from the simulated test cohort (docs/training.md): femurs
    registered well scored 0.69–0.86 and failed ones at most 0.66 on the raw-radiograph case, pelvises
    0.41–0.60 against at most 0.38, good femurs sat 1–6 mm from the pelvis's head position.

    Attributes:
        levels: downsampling factors of the radiograph, coarse to fine; None for
            :func:`registration_levels` (pixels of 5–10, 2.5–5 and 1.25–2.5 mm).
        coarse_starts: starts at the coarsest level (the pose and perturbed copies of it).
        max_evaluations_per_level: Powell's budget per level and start.
        min_similarity: a femur whose final similarity is lower is left out as poorly registered.
        min_pelvis_similarity: the same for the pelvis (then the whole case): its neighbourhood holds
            anatomy the CT's labels lack (lumbar spine, bowel gas, the pelvis beyond the CT's range),
            so even a good pose scores lower than a femur's.
        max_joint_offset_mm: a femur whose pose puts its head farther (patient-plane mm) from where
            the pelvis pose puts it is left out: the head sits in the acetabulum, so one of the two
            poses failed.
    """

    levels: tuple[int, ...] | None = None
    coarse_starts: int = 5
    max_evaluations_per_level: int = 400
    min_similarity: float = 0.66
    min_pelvis_similarity: float = 0.39
    max_joint_offset_mm: float = 10.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**asdict(self), "levels": None if self.levels is None else list(self.levels)}

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> RegistrationSettings:
        """Inverse of :meth:`to_dict` (missing keys take their defaults); ValueError on unknown keys."""
        unknown = set(record) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown registration settings {sorted(unknown)}")
        values = dict(record)
        if values.get("levels") is not None:
            values["levels"] = tuple(int(v) for v in values["levels"])
        return cls(**values)


def registration_levels(spacing_mm: float, targets_mm: Sequence[float] = LEVEL_TARGETS_MM) -> tuple[int, ...]:
    """Power-of-two downsampling factors whose pixels are as coarse as each target but not coarser,
    coarse to fine (factor 2^floor(log2(target / spacing)), at least 1, each once).

    The registration's own automatic levels round to the nearest power instead, which on 1.0-mm
    radiographs starts at 16-mm pixels; on the simulated test cohort that start stalled the pelvis
    and femurs 20–25 mm from the truth, where starting at 8 mm found them.
    """
    factors: list[int] = []
    for target in targets_mm:
        factor = 2 ** max(0, math.floor(math.log2(target / spacing_mm)))
        if factor not in factors:
            factors.append(int(factor))
    return tuple(factors)


def bone_excess_attenuation(ct_hu: Volume, labels: Volume, bone_values: Sequence[int]) -> Volume:
    """μ_water·max(HU, 0)/1000 (1/mm) inside the given labels, zero elsewhere: what the bones add to
    the attenuation of the water-like tissue they displace."""
    inside = np.isin(labels.array, list(bone_values))
    excess = np.where(inside, np.clip(ct_hu.array, 0.0, None) * (MU_WATER_PER_MM / 1000.0), 0.0)
    meta = dict(ct_hu.meta, attenuation="bone excess over water")
    return Volume(excess.astype(np.float32), ct_hu.affine.copy(), "1/mm", meta)


def located_start(
    camera: Camera, sod_mm: float, head_px: tuple[float, float], head_mm: npt.ArrayLike
) -> PoseParameters:
    """The AP pose about the 3-D head centre ``head_mm`` that projects it onto the radiograph pixel
    ``head_px`` (row, col) from ``sod_mm``: the shift is the pixel's offset from the principal point
    scaled to that depth, (Δc·(c − c0), Δr·(r − r0), 0)·sod/sdd in the camera frame."""
    row0, col0 = camera.principal_point
    scale = sod_mm / camera.sdd_mm
    offset_camera = np.array(
        [
            (head_px[1] - col0) * camera.pixel_spacing_mm[1] * scale,
            (head_px[0] - row0) * camera.pixel_spacing_mm[0] * scale,
            0.0,
        ]
    )
    shift = AP_VIEW_ROTATION.T @ offset_camera
    return PoseParameters(
        (0.0, 0.0, 0.0), _triple(shift), _triple(np.asarray(head_mm, np.float64)), float(sod_mm)
    )


def about_point(pose: PoseParameters, point_mm: npt.ArrayLike) -> PoseParameters:
    """The same world → camera transform with its rotation centre (isocenter) moved to ``point_mm``.

    R·(x − I) + t = R·(x − I') + t' for every x when t' = t + R·(I' − I).
    """
    rotation = rotation_matrix_deg(pose.rotation_deg)
    point = np.asarray(point_mm, np.float64)
    shift = np.asarray(pose.translation_mm) + rotation @ (point - np.asarray(pose.isocenter_mm))
    return PoseParameters(pose.rotation_deg, _triple(shift), _triple(point), pose.sod_mm)


def anchored_pelvis(pelvis: PoseParameters, femur: PoseParameters, head_mm: npt.ArrayLike) -> PoseParameters:
    """The pelvis in its registered orientation, moved so that its acetabulum holds the femoral head
    where the femur's pose puts it (both poses about the head centre then share the translation).

    The femur's registration places the hip joint more closely than the pelvis's (whose neighbourhood
    holds unlabelled anatomy), and a crop is centred on that joint.
    """
    about_head = about_point(pelvis, head_mm)
    return PoseParameters(
        about_head.rotation_deg,
        about_point(femur, head_mm).translation_mm,
        about_head.isocenter_mm,
        about_head.sod_mm,
    )


def register_bone(
    radiograph: Radiograph,
    moving: Volume,
    labels: Volume,
    structure: Sequence[int],
    start: PoseParameters,
    settings: RegistrationSettings,
) -> tuple[PoseParameters, RegistrationReport]:
    """The pose of the labelled ``structure`` on ``radiograph`` from ``start`` (``moving``: the bones'
    excess attenuation, see :func:`bone_excess_attenuation`)."""
    if radiograph.pixel_spacing_mm is None:
        raise ValueError("registration needs the radiograph's pixel spacing")
    levels = settings.levels or registration_levels(min(radiograph.pixel_spacing_mm))
    return register(
        radiograph,
        moving,
        start,
        labels,
        list(structure),
        levels=levels,
        min_similarity=settings.min_similarity,
        max_evaluations_per_level=settings.max_evaluations_per_level,
        coarse_starts=settings.coarse_starts,
    )


def _triple(values: npt.ArrayLike) -> tuple[float, float, float]:
    x, y, z = (float(v) for v in np.asarray(values, np.float64))
    return x, y, z
