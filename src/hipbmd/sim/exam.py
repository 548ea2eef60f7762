"""The radiographic examination: how the patient lies, where tube and detector are, what the rays cross.

The patient lies supine with the back on the tabletop; the detector is ``table_gap_mm`` below it and the
tube ``sid_mm`` above the detector. An AP pelvis is centred between the hips, an AP hip on the femoral neck
of the side examined. Real positioning is never perfect: the pelvis tilts (rotation about the left–right
axis), the patient rolls (about the long axis) and lies askew (in-plane), the centring is off by a few
millimetres, and each hip is flexed, abducted and rotated by its own small amount — external rotation of
the leg being the commonest error on hip films. The ranges below are typical of clinical radiographs and
cover the positioning effects the source group measured (flexion up to 30° changes aBMD by 17.7 %).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from hipbmd.drr.geometry import PoseParameters
from hipbmd.drr.render import camera_rays, render_channels
from hipbmd.femur.landmarks import FemurLandmarks
from hipbmd.sim.anatomy import JointPose
from hipbmd.sim.population import Patient
from hipbmd.sim.sites import SiteProfile
from hipbmd.sim.smoothing import upsample_bilinear
from hipbmd.sim.tissues import Tissues
from hipbmd.types import Camera, Side, Volume

RENDER_FACTOR = 3  # rays are traced on a grid this many times coarser than the stored pixels
# Volumes rendered in one traversal of their common grid: (material, scale) each, their arrays, the affine.
_RenderGroup = tuple[list[tuple[str, float]], list[npt.NDArray[np.float32]], npt.NDArray[np.float64]]


@dataclass(frozen=True)
class Positioning:
    """How the patient lies for one radiograph (degrees, mm).

    Attributes:
        pelvic_tilt_deg: rotation about the left–right axis (+: the pelvis tips forward).
        roll_deg: rotation about the long axis (one side lifted off the table).
        skew_deg: in-plane rotation on the table.
        centring_mm: centring error (left–right, head–foot) of the central ray.
        joints: hip flexion, abduction and rotation per side.
    """

    pelvic_tilt_deg: float
    roll_deg: float
    skew_deg: float
    centring_mm: tuple[float, float]
    joints: dict[Side, JointPose]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "pelvic_tilt_deg": self.pelvic_tilt_deg,
            "roll_deg": self.roll_deg,
            "skew_deg": self.skew_deg,
            "centring_mm": list(self.centring_mm),
            "joints": {side: vars(joint) for side, joint in self.joints.items()},
        }

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Positioning:
        """Inverse of :meth:`to_dict`."""
        joints: dict[Side, JointPose] = {}
        for side, joint in record["joints"].items():
            if side not in ("right", "left"):
                raise ValueError(f"side {side!r} is not right or left")
            joints["right" if side == "right" else "left"] = JointPose(**joint)
        centring = record["centring_mm"]
        return cls(
            float(record["pelvic_tilt_deg"]),
            float(record["roll_deg"]),
            float(record["skew_deg"]),
            (float(centring[0]), float(centring[1])),
            joints,
        )


def framed(positioning: Positioning, offset_mm: tuple[float, float]) -> Positioning:
    """The positioning with the field's centre moved by ``offset_mm`` (left–right, head–foot), mm."""
    if offset_mm == (0.0, 0.0):
        return positioning
    across, along = positioning.centring_mm
    return replace(positioning, centring_mm=(across + offset_mm[0], along + offset_mm[1]))


def draw_joint(rng: np.random.Generator, spread: float = 1.0) -> JointPose:
    """A hip's flexion, abduction and external rotation on the table."""
    return JointPose(
        flexion_deg=float(rng.normal(4.0, 5.0) * spread),
        abduction_deg=float(rng.normal(2.0, 4.0) * spread),
        external_rotation_deg=float(rng.normal(8.0, 9.0) * spread),
    )


def draw_positioning(rng: np.random.Generator) -> Positioning:
    """A radiograph's positioning, with the spread seen on clinical hip films."""
    return Positioning(
        pelvic_tilt_deg=float(rng.normal(0.0, 5.0)),
        roll_deg=float(rng.normal(0.0, 3.0)),
        skew_deg=float(rng.normal(0.0, 2.5)),
        centring_mm=(float(rng.normal(0.0, 10.0)), float(rng.normal(0.0, 12.0))),
        joints={"right": draw_joint(rng), "left": draw_joint(rng)},
    )


def ct_joints(rng: np.random.Generator) -> dict[Side, JointPose]:
    """Hip joint angles in the CT scanner (legs straight, feet often strapped together)."""
    return {side: draw_joint(rng, spread=0.4) for side in ("right", "left")}


@dataclass(frozen=True)
class ExamGeometry:
    """Where everything is for one radiograph.

    Attributes:
        sid_mm, sod_mm: source–detector and source–isocenter distances.
        table_gap_mm: tabletop to detector.
        pose: the patient's pose with respect to the reference AP camera (world = the X-ray anatomy's frame).
        camera: the detector at the stored pixel spacing, with ``pose``.
        side: the side examined (None for an AP pelvis, which shows both).
    """

    sid_mm: float
    sod_mm: float
    table_gap_mm: float
    pose: PoseParameters
    camera: Camera
    side: Side | None


def exam_geometry(
    patient: Patient,
    profile: SiteProfile,
    positioning: Positioning,
    landmarks: dict[Side, FemurLandmarks],
    rng: np.random.Generator,
    binning: int = 1,
) -> ExamGeometry:
    """Tube, detector and patient pose for a site's view of the patient (``binning`` enlarges the pixels)."""
    sid = profile.draw_sid_mm(rng)
    gap = profile.technique.table_gap_mm
    back_y = patient.body.centre_y_mm - patient.body.depth_mm / 2
    if profile.view == "AP pelvis":
        side: Side | None = None
        target = np.array([0.0, 0.0, 25.0])
    else:
        side = patient.index_side
        marks = landmarks[side]
        target = marks.neck_narrowest_mm + np.array([0.0, 0.0, -15.0])
    isocenter = target + np.array([positioning.centring_mm[0], 0.0, positioning.centring_mm[1]])
    sod = sid - gap - float(isocenter[1] - back_y)
    pose = PoseParameters(
        rotation_deg=(positioning.pelvic_tilt_deg, positioning.skew_deg, positioning.roll_deg),
        isocenter_mm=(float(isocenter[0]), float(isocenter[1]), float(isocenter[2])),
        sod_mm=sod,
    )
    pitch = profile.detector.pixel_pitch_mm * binning
    shape = (round(profile.field_mm[0] / pitch), round(profile.field_mm[1] / pitch))
    camera = Camera(shape, (pitch, pitch), sid, pose=pose.to_pose())
    return ExamGeometry(sid, sod, gap, pose, camera, side)


def line_integrals(
    tissues: Tissues, camera: Camera, additions: Sequence[Mapping[str, Volume]] = ()
) -> dict[str, npt.NDArray[np.float32]]:
    """Mass per area (g/cm²) of each material along the rays to the camera's pixels.

    ``additions`` are further material volumes (mg/cm³, any affine), such as femurs placed by their
    affine (:meth:`hipbmd.sim.femur_model.FemurModel.tissue_change`); their integrals are added.
    Rays are traced on a grid ``RENDER_FACTOR`` times coarser than the detector and interpolated back
    (:func:`coarse_line_integrals`): the anatomy's voxels are about as large as the coarse pixels, so
    this loses little.
    """
    return upsampled(coarse_line_integrals(tissues, camera, additions), camera)


def coarse_line_integrals(
    tissues: Tissues, camera: Camera, additions: Sequence[Mapping[str, Volume]] = ()
) -> dict[str, npt.NDArray[np.float32]]:
    """Mass per area (g/cm²) of each material on :func:`coarse_camera` (``RENDER_FACTOR``) pixels."""
    coarse = coarse_camera(camera, RENDER_FACTOR)
    # g/cm³ arrays are rendered as if they were mg/cm³ (no full-size copies) and the image scaled by 1000.
    # A grid is traversed once for several materials (render_channels) where their bricks stay small:
    # mineral and metal (cut to the bones' box), each femur's materials. Soft tissue and fat fill the
    # whole body; traced one at a time they cost about as much and hold half the memory.
    affine = tissues.grid.affine
    groups: list[_RenderGroup] = [
        ([("soft", 1000.0)], [tissues.soft_g_cm3], affine),
        ([("fat", 1000.0)], [tissues.fat_g_cm3], affine),
        (
            [("ha", 1.0)] + [(metal, 1000.0) for metal in tissues.metal_g_cm3],
            [tissues.mineral_mg_cm3, *tissues.metal_g_cm3.values()],
            affine,
        ),
    ]
    groups += [group for addition in additions for group in _addition_groups(addition)]
    sums: dict[str, npt.NDArray[np.float32]] = {}
    rays = camera_rays(coarse)
    for materials, arrays, affine in groups:
        images = render_channels(arrays, affine, rays)
        for (material, scale), rendered in zip(materials, images, strict=True):
            image = rendered * np.float32(scale)
            sums[material] = sums[material] + image if material in sums else image
    return sums


def _addition_groups(
    addition: Mapping[str, Volume],
) -> list[_RenderGroup]:
    """An addition's volumes (mg/cm³, scale 1) gathered by grid, for one traversal of each grid."""
    groups: dict[bytes, _RenderGroup] = {}
    for material, volume in addition.items():
        if volume.unit != "mg/cm3":
            raise ValueError(f"additions are mg/cm3 volumes, {material} is {volume.unit}")
        key = np.asarray(volume.affine, np.float64).tobytes() + np.asarray(volume.shape).tobytes()
        materials, arrays, _ = groups.setdefault(key, ([], [], np.asarray(volume.affine, np.float64)))
        materials.append((material, 1.0))
        arrays.append(np.asarray(volume.array, np.float32))
    return list(groups.values())


def upsampled(
    coarse_sums: Mapping[str, npt.NDArray[np.float32]], camera: Camera
) -> dict[str, npt.NDArray[np.float32]]:
    """Coarse line integrals interpolated onto the camera's pixels."""
    # Mass is never negative; bilinear edges and a femur's displaced muscle can round below zero.
    return {
        m: np.maximum(upsample_bilinear(v, RENDER_FACTOR, camera.shape), 0.0) for m, v in coarse_sums.items()
    }


def coarse_camera(camera: Camera, factor: int) -> Camera:
    """The same detector with pixels ``factor`` times larger (block centres of the fine grid)."""
    rows, cols = (-(-n // factor) for n in camera.shape)
    fine_row, fine_col = camera.principal_point_px or (0.0, 0.0)
    centre = (factor - 1) / 2.0
    principal = ((fine_row - centre) / factor, (fine_col - centre) / factor)
    spacing = (camera.pixel_spacing_mm[0] * factor, camera.pixel_spacing_mm[1] * factor)
    return Camera((rows, cols), spacing, camera.sdd_mm, principal, camera.projection, camera.pose)
