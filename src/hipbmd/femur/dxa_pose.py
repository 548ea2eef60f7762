"""The DXA position of a femur: a parallel-beam camera that sees the proximal femur as a hip DXA scan does.

Definition. DXA hip positioning (leg flat on the table, internally rotated until the femoral neck lies
parallel to the table) puts the femoral neck axis parallel to the detector and the femoral shaft vertical
in the image, proximal end at the top. The CT-aBMD tool of Uemura, Otake et al. (Osaka/NAIST; Arch
Osteoporos 2022, code keisuke-uemura/proximal_femur_BMD_measurement) reaches its "neutral position" by
two rotations: about the CT's longitudinal axis until the neck axis has no antero-posterior component,
then about the antero-posterior axis until the shaft is vertical. That leaves any sagittal tilt of the
shaft (the hip flexion of the CT position) in place. Here the beam is instead taken perpendicular to
both axes:

    beam ∝ ± neck_axis × shaft_axis.

The neck axis and the shaft axis are, as lines, generally skew (anteversion puts the neck in front of
the shaft), but their directions always span a plane; a beam along the normal of that plane sees both
axes at their true length (no foreshortening), and the shaft's image is vertical once the image rows
are aligned with −shaft_axis. This also removes the hip flexion of the CT position, as DXA positioning
does. When the shaft is parallel to the CT's coronal plane, the two definitions coincide. The common
perpendicular of the two axis lines is parallel to the beam, so the neck base (the point of the neck
axis closest to the shaft axis) projects exactly where the two axes cross in the image.

Orientation. DXA is a postero-anterior projection, but a parallel projection of the same object seen
from the other side is only its mirror image, so the image is given as an AP radiograph is displayed:
camera z (the beam) points posteriorly, image rows run distally (−shaft_axis) and columns towards the
patient's left, so the patient's right is on the viewer's left. The sign of the beam is chosen from the
femur's side (the neck points medially): beam = −neck × shaft for a right femur, +neck × shaft for a
left one. A left femur's view is thus the mirror image of the mirrored right femur's view.

Pixel spacing. 0.5 mm by default: the neck box is 15 mm wide, so an edge placed to the nearest pixel
moves its area by at most ~3 %; finer pixels add nothing to a CT of 0.6–1 mm voxels; and the exact
renderer costs one ray per pixel (a 0.5 mm image of the proximal femur is ~0.1 Mpixel, tens of ms).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from hipbmd.drr.geometry import AP_VIEW_ROTATION, PoseParameters, project_points, rotation_to_deg
from hipbmd.femur.landmarks import FemurLandmarks, unit_vector
from hipbmd.types import Camera, Side

DEFAULT_PIXEL_SPACING_MM = 0.5
# The detector reaches this far below the lesser trochanter tip (≥ 5 cm, so that the total hip
# (10 mm) and proximal femur (20 mm) ROIs always fit, with room for the shaft's outline).
DEFAULT_BELOW_LESSER_TROCHANTER_MM = 60.0
# Margin around the femur's outline (voxel extent) or, from landmarks alone, around the key points;
# the latter must also hold the greater trochanter's lateral bulge and the shaft's radius.
DEFAULT_MARGIN_MM = 5.0
LANDMARK_MARGIN_MM = 25.0
DEFAULT_SOD_MM = 1000.0


@dataclass
class DXAView:
    """A femur seen in the DXA position: parallel-beam camera, its pose, and where the landmarks fall.

    Attributes:
        camera: parallel-projection camera; square pixels, world → camera pose in the DXA position.
        pose: the same pose as :class:`~hipbmd.drr.geometry.PoseParameters` (JSON-ready).
        side: the femur's side ("left" / "right", the patient's).
        landmarks_px: (row, column) of each landmark in the image: "head_centre", "neck_narrowest",
            "neck_base", "shaft_point", "lesser_trochanter", "greater_trochanter".
        head_radius_mm: femoral head radius (unchanged by a parallel projection).
    """

    camera: Camera
    pose: PoseParameters
    side: Side
    landmarks_px: dict[str, tuple[float, float]] = field(default_factory=dict)
    head_radius_mm: float = 0.0

    @property
    def pixel_spacing_mm(self) -> float:
        """Pixel size in mm (square pixels)."""
        return float(self.camera.pixel_spacing_mm[0])

    @property
    def beam_direction(self) -> npt.NDArray[np.float64]:
        """Unit vector of the beam (camera +z) in world RAS+; posterior-pointing for an AP view."""
        return np.asarray(self.camera.pose.rotation[2], dtype=np.float64)

    def summary(self) -> dict[str, object]:
        """JSON-ready summary for a report (pose, detector, landmark pixels; written, not read back)."""
        return {
            "pose": self.pose.to_dict(),
            "projection": "parallel",
            "shape": [int(v) for v in self.camera.shape],
            "pixel_spacing_mm": self.pixel_spacing_mm,
            "side": self.side,
            "landmarks_px": {k: [round(v[0], 3), round(v[1], 3)] for k, v in self.landmarks_px.items()},
        }


def dxa_rotation(landmarks: FemurLandmarks) -> npt.NDArray[np.float64]:
    """World → camera rotation of the DXA position; its rows are the camera x, y, z axes in world RAS+.

    z (beam) = ∓ unit(neck_axis × shaft_axis) for a right / left femur, y (image rows) = −shaft_axis,
    x (image columns) = y × z. Raises ValueError when the neck and shaft axes are parallel.
    """
    normal = np.cross(landmarks.neck_axis, landmarks.shaft_axis)
    if float(np.linalg.norm(normal)) < 1e-6:
        raise ValueError("neck axis and shaft axis are parallel: the DXA position is undefined")
    beam = unit_vector(normal) * (-1.0 if landmarks.side == "right" else 1.0)
    rows = -landmarks.shaft_axis
    columns = np.cross(rows, beam)
    return np.stack([columns, rows, beam])


def neck_base_mm(landmarks: FemurLandmarks) -> npt.NDArray[np.float64]:
    """The point of the neck axis (through the head centre) closest to the shaft axis line, world mm."""
    n, s = landmarks.neck_axis, landmarks.shaft_axis
    w0 = landmarks.head_centre_mm - landmarks.shaft_point_mm
    b, d, e = float(n @ s), float(n @ w0), float(s @ w0)
    t = (b * e - d) / (1.0 - b * b)
    return np.asarray(landmarks.head_centre_mm + t * n, dtype=np.float64)


def landmark_points_mm(landmarks: FemurLandmarks) -> dict[str, npt.NDArray[np.float64]]:
    """The named landmark points (world mm) that :class:`DXAView` reports in pixels."""
    return {
        "head_centre": landmarks.head_centre_mm,
        "neck_narrowest": landmarks.neck_narrowest_mm,
        "neck_base": neck_base_mm(landmarks),
        "shaft_point": landmarks.shaft_point_mm,
        "lesser_trochanter": landmarks.lesser_trochanter_mm,
        "greater_trochanter": landmarks.greater_trochanter_mm,
    }


def dxa_view(
    landmarks: FemurLandmarks,
    pixel_spacing_mm: float = DEFAULT_PIXEL_SPACING_MM,
    femur_points_mm: npt.ArrayLike | None = None,
    below_lesser_trochanter_mm: float = DEFAULT_BELOW_LESSER_TROCHANTER_MM,
    sod_mm: float = DEFAULT_SOD_MM,
) -> DXAView:
    """The parallel-beam camera of the DXA position, framed on the proximal femur.

    The detector runs from above the femoral head to ``below_lesser_trochanter_mm`` below the lesser
    trochanter tip, and across the femur. With ``femur_points_mm`` (N, 3), e.g. the femur's voxel
    centres, the frame is their outline (rows above the bottom edge only) plus a 5 mm margin; without,
    a 25 mm margin around the head outline, trochanters and shaft axis. The isocenter (the detector
    centre) sits at the head centre's depth; rays run from the plane ``sod_mm`` in front of it to the
    detector ``sod_mm`` behind it.
    """
    rotation = dxa_rotation(landmarks)
    spacing = float(pixel_spacing_mm)
    lesser = rotation @ landmarks.lesser_trochanter_mm
    bottom = float(lesser[1]) + below_lesser_trochanter_mm
    if femur_points_mm is None:
        local, margin = _landmark_outline(landmarks, rotation, bottom), LANDMARK_MARGIN_MM
    else:
        points = np.asarray(femur_points_mm, dtype=np.float64).reshape(-1, 3)
        local, margin = points @ rotation.T, DEFAULT_MARGIN_MM
        local = local[local[:, 1] <= bottom]
        if len(local) == 0:
            raise ValueError("no femur point lies above the bottom edge of the DXA frame")
    low = local[:, :2].min(axis=0) - margin
    high = np.array([local[:, 0].max() + margin, bottom])
    shape = (int(np.ceil((high[1] - low[1]) / spacing)), int(np.ceil((high[0] - low[0]) / spacing)))
    centre_local = np.array([(low[0] + high[0]) / 2.0, (low[1] + high[1]) / 2.0, 0.0])
    centre_local[2] = float(rotation[2] @ landmarks.head_centre_mm)
    pose = _pose_parameters(rotation, rotation.T @ centre_local, sod_mm)
    camera = Camera(shape, (spacing, spacing), 2.0 * sod_mm, projection="parallel", pose=pose.to_pose())
    pixels = _project_named(camera, landmark_points_mm(landmarks))
    return DXAView(camera, pose, landmarks.side, pixels, float(landmarks.head_radius_mm))


def _landmark_outline(
    landmarks: FemurLandmarks, rotation: npt.NDArray[np.float64], bottom_mm: float
) -> npt.NDArray[np.float64]:
    """Camera-frame points whose bounding box (plus a margin) holds the proximal femur."""
    head = rotation @ landmarks.head_centre_mm
    radius = landmarks.head_radius_mm
    shaft = rotation @ landmarks.shaft_point_mm
    x_step, y_step = np.array([radius, 0.0, 0.0]), np.array([0.0, radius, 0.0])
    points = [
        head + x_step,
        head - x_step,
        head - y_step,
        rotation @ landmarks.greater_trochanter_mm,
        rotation @ landmarks.lesser_trochanter_mm,
        np.array([shaft[0], bottom_mm, shaft[2]]),
    ]
    return np.asarray(points, dtype=np.float64)


def _pose_parameters(
    rotation: npt.NDArray[np.float64], isocenter_mm: npt.NDArray[np.float64], sod_mm: float
) -> PoseParameters:
    """PoseParameters whose world → camera rotation is ``rotation`` (patient rotation = R_APᵀ·R)."""
    patient = AP_VIEW_ROTATION.T @ rotation
    angles = rotation_to_deg(patient)
    iso = (float(isocenter_mm[0]), float(isocenter_mm[1]), float(isocenter_mm[2]))
    params = PoseParameters(angles, (0.0, 0.0, 0.0), iso, float(sod_mm))
    if not np.allclose(params.to_pose().rotation, rotation, atol=1e-9):
        raise ValueError("DXA rotation cannot be expressed as pose angles (about-y rotation at ±90°)")
    return params


def _project_named(
    camera: Camera, points: Mapping[str, npt.NDArray[np.float64]]
) -> dict[str, tuple[float, float]]:
    names = list(points)
    pixels = project_points(camera, np.stack([points[name] for name in names]))
    return {name: (float(pixels[i, 0]), float(pixels[i, 1])) for i, name in enumerate(names)}
