"""The hips of one site case that can become training pairs, and their registered poses.

:func:`find_hips` keeps each hip the localiser finds on the radiograph unless the CT has no label for
that femur, its head lies within :data:`~hipbmd.decomposition.data.EDGE_MARGIN_MM` of the image edge,
it has an implant (:func:`hipbmd.femur.ct_bmd.metal_voxels`, the CT-aBMD check) or no spherical head
fits its mask. :func:`register_hips` registers the pelvis, then each kept femur
(:mod:`hipbmd.decomposition.hip_registration`). QC (thresholds in
:class:`~hipbmd.decomposition.hip_registration.RegistrationSettings`): a pelvis whose final similarity
is below ``min_pelvis_similarity`` drops the case; a femur is left out when its similarity is below
``min_similarity`` or when its pose and the pelvis pose put the femoral head more than
``max_joint_offset_mm`` apart (:func:`joint_offset_mm`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from hipbmd.decomposition.data import EDGE_MARGIN_MM
from hipbmd.decomposition.hip_registration import (
    RegistrationSettings,
    about_point,
    anchored_pelvis,
    bone_excess_attenuation,
    located_start,
    register_bone,
)
from hipbmd.decomposition.site_case import FEMUR_NAMES, SiteCase
from hipbmd.drr.geometry import PoseParameters, camera_from_radiograph, camera_with_pose, project_points
from hipbmd.femur.ct_bmd import METAL_MIN_VOXELS, metal_voxels
from hipbmd.registration.register import RegistrationReport
from hipbmd.segmentation.classes import METAL_HU
from hipbmd.types import Camera, Volume


@dataclass
class HipCandidate:
    """A hip to register: its side, femur label, 3-D head centre (world mm) and located head (px);
    after registration its pose and similarity."""

    side: str
    value: int
    head_mm: npt.NDArray[np.float64]
    located_px: tuple[float, float]
    confidence: float
    pose: PoseParameters | None = None
    similarity: float | None = None


@dataclass
class FoundHips:
    """Hips to register and records of the hips left out (side, reason)."""

    candidates: list[HipCandidate] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RegisteredHips:
    """The outcome of registering one case.

    Attributes:
        used: the hips registered well enough, with their poses.
        pelvis_pose: the pelvis pose, None when the labels have no pelvis.
        pelvis: record of the pelvis registration.
        hips: records of the registered hips (used or not, and why).
        reason: why the whole case is left out, None when it is not.
    """

    used: list[HipCandidate] = field(default_factory=list)
    pelvis_pose: PoseParameters | None = None
    pelvis: dict[str, Any] | None = None
    hips: list[dict[str, Any]] = field(default_factory=list)
    reason: str | None = None


def find_hips(case: SiteCase, localiser: Any = None) -> FoundHips:
    """The located hips that can be registered, and why the others cannot (see the module docstring)."""
    from hipbmd.localisation.locate import locate_hips

    found = FoundHips()
    radiograph = case.radiograph
    margin_px = EDGE_MARGIN_MM / np.asarray(radiograph.pixel_spacing_mm)
    high_px = np.asarray(radiograph.shape) - 1 - margin_px
    for hip in locate_hips(radiograph, localiser):
        located = np.asarray(hip.head_centre_px)
        value = case.femur_value(hip.side)
        reason = None
        if value is None:
            reason = f"the CT's labels have no {FEMUR_NAMES[hip.side]}"
        elif not (np.all(located >= margin_px) and np.all(located <= high_px)):
            reason = f"head within {EDGE_MARGIN_MM:.0f} mm of the image edge"
        elif (metal := metal_voxels(case.ct_hu, case.labels, value)) >= METAL_MIN_VOXELS:
            reason = f"implant: {metal} voxels above {METAL_HU:.0f} HU in or against the femur"
        else:
            head = head_centre_mm(case.labels, value)
            if isinstance(head, str):
                reason = head
            else:
                position = (float(located[0]), float(located[1]))
                found.candidates.append(HipCandidate(hip.side, value, head, position, hip.confidence))
        if reason is not None:
            found.dropped.append(
                _hip_record(hip.side, False, reason, located=located, confidence=hip.confidence)
            )
    return found


def head_centre_mm(labels: Volume, value: int) -> npt.NDArray[np.float64] | str:
    """The centre (world mm) of the sphere fitted to the femoral head of a mask, or why there is none.

    The head step of :func:`hipbmd.femur.landmarks_from_mask.measure_landmarks` alone, with its test of
    a spherical head (fit RMS at most max(1 mm, half the largest voxel size)): the full landmark fit also
    demands a length of shaft that the DXA position needs and a training target does not.
    """
    from hipbmd.femur.landmarks_from_mask import _fit_head, _long_axis
    from hipbmd.femur.mask_geometry import BoneMask

    mask = BoneMask.from_labels(labels, value)
    points = mask.points_mm()
    if len(points) < 100:
        return f"the femur label has only {len(points)} voxels"
    qc: dict[str, float] = {}
    head = _fit_head(mask, points, mask.surface_mm(), _long_axis(points), qc)
    if isinstance(head, str):
        return head
    if qc["head_fit_rms_mm"] > max(1.0, 0.5 * float(mask.spacing_mm.max())):
        return f"head sphere fit RMS {qc['head_fit_rms_mm']:.1f} mm: head not spherical"
    return np.asarray(head[0], np.float64)


def register_hips(
    case: SiteCase, candidates: list[HipCandidate], settings: RegistrationSettings
) -> RegisteredHips:
    """Register the pelvis (when labelled), then each candidate femur (see the module docstring)."""
    camera, sod_mm, _ = camera_from_radiograph(case.radiograph)
    moving = bone_excess_attenuation(case.ct_hu, case.labels, case.bone_values())
    result = RegisteredHips()
    anchor = max(candidates, key=lambda hip: hip.confidence)
    start = located_start(camera, sod_mm, anchor.located_px, anchor.head_mm)
    if case.pelvis_values():
        pose, report = register_bone(
            case.radiograph, moving, case.labels, case.pelvis_values(), start, settings
        )
        result.pelvis_pose, result.pelvis = pose, _report_record(pose, report)
        if report.similarity < settings.min_pelvis_similarity:
            result.reason = _poor("pelvis", report.similarity, settings.min_pelvis_similarity)
            return result
    for hip in candidates:
        femur_start = (
            about_point(result.pelvis_pose, hip.head_mm)
            if result.pelvis_pose is not None
            else located_start(camera, sod_mm, hip.located_px, hip.head_mm)
        )
        pose, report = register_bone(case.radiograph, moving, case.labels, [hip.value], femur_start, settings)
        hip.pose, hip.similarity = pose, round(report.similarity, 4)
        extra = _report_record(pose, report)
        reason = None
        if report.similarity < settings.min_similarity:
            reason = _poor("femur", report.similarity, settings.min_similarity)
        elif result.pelvis_pose is not None:
            gap_mm = joint_offset_mm(camera, sod_mm, hip.head_mm, pose, result.pelvis_pose)
            extra["joint_offset_mm"] = round(gap_mm, 2)
            if gap_mm > settings.max_joint_offset_mm:
                reason = f"femur and pelvis poses disagree at the hip by {gap_mm:.1f} mm"
        result.hips.append(
            _hip_record(hip.side, reason is None, reason, hip.located_px, hip.confidence, **extra)
        )
        if reason is None:
            result.used.append(hip)
    return result


def joint_offset_mm(
    camera: Camera, sod_mm: float, head_mm: npt.ArrayLike, femur: PoseParameters, pelvis: PoseParameters
) -> float:
    """How far apart (mm, in the plane at ``sod_mm``) the femur pose and the pelvis pose put the femoral
    head's projection: the head sits in the acetabulum, so two good poses agree there."""
    point = np.asarray(head_mm, np.float64)[None]
    pixels = [project_points(camera_with_pose(camera, pose.to_pose()), point)[0] for pose in (femur, pelvis)]
    detector_mm = np.subtract(*pixels) * np.asarray(camera.pixel_spacing_mm)
    return float(np.linalg.norm(detector_mm) * sod_mm / camera.sdd_mm)


def bone_poses(
    case: SiteCase, result: RegisteredHips, hip: HipCandidate
) -> tuple[dict[int, PoseParameters], PoseParameters | None]:
    """The poses of the all-bone target of ``hip``: femur label → pose (a used femur its own, another
    femur with the pelvis) and the pelvis anchored at this hip (:func:`anchored_pelvis`; None without a
    pelvis, and then only the used femurs are drawn)."""
    assert hip.pose is not None, "the hip has been registered"
    pelvis = None
    if result.pelvis_pose is not None:
        pelvis = anchored_pelvis(result.pelvis_pose, hip.pose, hip.head_mm)
    poses = {used.value: used.pose for used in result.used if used.pose is not None}
    for side in FEMUR_NAMES:
        value = case.femur_value(side)
        if value is not None and value not in poses and pelvis is not None:
            poses[value] = pelvis
    return poses, pelvis


def _poor(bone: str, similarity: float, threshold: float) -> str:
    return f"poor {bone} registration (similarity {similarity:.3f} < {threshold})"


def _report_record(pose: PoseParameters, report: RegistrationReport) -> dict[str, Any]:
    return {
        "similarity": round(report.similarity, 4),
        "initial_similarity": round(report.initial_similarity, 4),
        "converged": report.converged,
        "pose": pose.to_dict(),
        "seconds": round(report.seconds, 1),
        "levels": report.levels,
    }


def _hip_record(
    side: str,
    used: bool,
    reason: str | None,
    located: Any = None,
    confidence: float | None = None,
    **extra: Any,
) -> dict[str, Any]:
    position = None if located is None else [round(float(v), 2) for v in located]
    return {
        "side": side,
        "used": used,
        "reason": reason,
        "located_px": position,
        "confidence": confidence,
        **extra,
    }
