"""Projection geometry: patient pose parameters, cameras from radiographs, points → pixels, pixels → rays.

Camera frame (DESIGN.md): the X-ray source at the origin, the detector plane at z = sdd_mm, image rows
along +y (top → bottom) and columns along +x (left → right as displayed). A pixel's centre (row r,
column c) lies at ((c − c0)·Δc, (r − r0)·Δr, sdd) where (r0, c0) is the principal point.

Patient pose. In the reference AP view the beam runs anterior → posterior, the head is at the top of
the image and the patient's right on the viewer's left, so the camera axes in world RAS+ are
x_cam = −x (towards the patient's left), y_cam = −z (inferior), z_cam = −y (posterior). A pose is
given by :class:`PoseParameters`:

* ``rotation_deg`` = (about the world x axis (left–right, i.e. flexion/extension of the view),
  about the world y axis (anterior–posterior, in-plane tilt), about the world z axis (superior–inferior,
  axial rotation)), in degrees, applied to the patient about ``isocenter_mm`` in that order (x, then y,
  then z), right-handed;
* ``translation_mm`` = a shift of the patient in world RAS+ mm after the rotation;
* ``isocenter_mm`` lies on the central ray at ``sod_mm`` from the source when the translation is zero.

So x_cam = R_ap · (R_z R_y R_x · (x − isocenter) + translation) + (0, 0, sod).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from hipbmd.errors import InputError
from hipbmd.io.radiograph_geometry import radiograph_geometry
from hipbmd.types import Camera, Pose, Radiograph, Volume

# World RAS+ axes seen from the reference AP camera (rows are the camera axes in world coordinates).
AP_VIEW_ROTATION = np.array([[-1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, -1.0, 0.0]])
DEFAULT_SID_MM = 1100.0
DEFAULT_TABLE_TO_DETECTOR_MM = 150.0


def rotation_onto_x(vector: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The smallest rotation taking the direction of ``vector`` onto (1, 0, 0) (Rodrigues' formula)."""
    unit = np.asarray(vector, np.float64) / np.linalg.norm(vector)
    axis = np.cross(unit, [1.0, 0.0, 0.0])
    sin, cos = float(np.linalg.norm(axis)), float(unit[0])
    if sin < 1e-12:
        return np.eye(3)
    k = axis / sin
    cross = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.asarray(np.eye(3) + sin * cross + (1.0 - cos) * cross @ cross, np.float64)


def rotation_matrix_deg(rotation_deg: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """R_z · R_y · R_x for rotations (about x, about y, about z) in degrees, right-handed."""
    rx, ry, rz = (math.radians(float(a)) for a in np.asarray(rotation_deg, dtype=np.float64))
    cx, sx, cy, sy, cz, sz = (
        math.cos(rx),
        math.sin(rx),
        math.cos(ry),
        math.sin(ry),
        math.cos(rz),
        math.sin(rz),
    )
    about_x = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    about_y = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    about_z = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return np.asarray(about_z @ about_y @ about_x, dtype=np.float64)


def rotation_to_deg(rotation: npt.ArrayLike) -> tuple[float, float, float]:
    """Inverse of :func:`rotation_matrix_deg` (angles about x, y, z in degrees; |about y| < 90°)."""
    matrix = np.asarray(rotation, dtype=np.float64)
    ry = math.asin(max(-1.0, min(1.0, -matrix[2, 0])))
    rx = math.atan2(matrix[2, 1], matrix[2, 2])
    rz = math.atan2(matrix[1, 0], matrix[0, 0])
    return math.degrees(rx), math.degrees(ry), math.degrees(rz)


@dataclass
class PoseParameters:
    """Six degrees of freedom of the patient relative to the reference AP view (see module docstring).

    Attributes:
        rotation_deg: rotations about world x (L–R), y (A–P), z (S–I), degrees, applied x → y → z.
        translation_mm: patient shift in world RAS+ mm.
        isocenter_mm: world point placed on the central ray at ``sod_mm`` from the source.
        sod_mm: source–isocenter distance, mm.
    """

    rotation_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)
    translation_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    isocenter_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    sod_mm: float = DEFAULT_SID_MM - DEFAULT_TABLE_TO_DETECTOR_MM

    def to_pose(self) -> Pose:
        """The world → camera transform these parameters describe."""
        patient = rotation_matrix_deg(self.rotation_deg)
        isocenter = np.asarray(self.isocenter_mm, dtype=np.float64)
        shift = np.asarray(self.translation_mm, dtype=np.float64)
        rotation = AP_VIEW_ROTATION @ patient
        translation = AP_VIEW_ROTATION @ (shift - patient @ isocenter) + np.array([0.0, 0.0, self.sod_mm])
        return Pose(rotation, translation)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (angles in degrees, distances in mm)."""
        return {
            "rotation_deg": [float(v) for v in self.rotation_deg],
            "rotation_axes": "world x (L-R), y (A-P), z (S-I); applied x, then y, then z",
            "translation_mm": [float(v) for v in self.translation_mm],
            "isocenter_mm": [float(v) for v in self.isocenter_mm],
            "sod_mm": float(self.sod_mm),
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> PoseParameters:
        """Inverse of :meth:`to_dict` (missing fields take their defaults)."""
        defaults = cls()
        return cls(
            rotation_deg=_triple(values.get("rotation_deg", defaults.rotation_deg)),
            translation_mm=_triple(values.get("translation_mm", defaults.translation_mm)),
            isocenter_mm=_triple(values.get("isocenter_mm", defaults.isocenter_mm)),
            sod_mm=float(values.get("sod_mm", defaults.sod_mm)),
        )


def _triple(value: Sequence[float]) -> tuple[float, float, float]:
    x, y, z = (float(v) for v in value)
    return x, y, z


def camera_with_pose(camera: Camera, pose: Pose) -> Camera:
    """A copy of ``camera`` with another pose."""
    return Camera(
        camera.shape,
        camera.pixel_spacing_mm,
        camera.sdd_mm,
        camera.principal_point_px,
        camera.projection,
        pose,
    )


def camera_from_radiograph(
    radiograph: Radiograph, source: str = "radiograph"
) -> tuple[Camera, float, list[str]]:
    """Camera matching a radiograph's detector, plus the source–hip distance to use and notes.

    SID and the source–hip distance are those of :func:`hipbmd.io.radiograph_geometry.radiograph_geometry`
    (the one geometry of a radiograph). The detector spacing must be known.
    """
    if radiograph.pixel_spacing_mm is None:
        raise InputError(source, "pixel spacing unknown; give --spacing-mm")
    geometry = radiograph_geometry(radiograph)
    notes = []
    if radiograph.sid_mm is None:
        notes.append(f"SID unknown, assumed {geometry.sid_mm:.0f} mm")
    if geometry.source in ("sid", "assumed", "entrance_surface_distance"):
        notes.append(f"hip {geometry.sid_mm - geometry.sod_mm:.0f} mm above the detector ({geometry.source})")
    camera = Camera(radiograph.shape, radiograph.pixel_spacing_mm, geometry.sid_mm)
    return camera, geometry.sod_mm, notes


def world_to_camera(camera: Camera, points_mm: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """World RAS+ points (N, 3) in the camera frame (N, 3), mm."""
    points = np.asarray(points_mm, dtype=np.float64).reshape(-1, 3)
    return points @ camera.pose.rotation.T + camera.pose.translation_mm


def project_points(camera: Camera, points_mm: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Pixel coordinates (N, 2) = (row, column) where world points (N, 3) project on the detector.

    Perspective: column = c0 + sdd·x/(z·Δc), row = r0 + sdd·y/(z·Δr); parallel: column = c0 + x/Δc,
    row = r0 + y/Δr, with (x, y, z) in the camera frame.
    """
    local = world_to_camera(camera, points_mm)
    row0, col0 = camera.principal_point
    row_spacing, col_spacing = camera.pixel_spacing_mm
    scale = np.ones(len(local)) if camera.projection == "parallel" else camera.sdd_mm / local[:, 2]
    rows = row0 + local[:, 1] * scale / row_spacing
    cols = col0 + local[:, 0] * scale / col_spacing
    return np.stack([rows, cols], axis=1)


def pixel_rays(
    camera: Camera, rows: npt.ArrayLike | None = None, cols: npt.ArrayLike | None = None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """World start and end points (N, 3) of the rays through pixel centres; rays end at the detector.

    Without ``rows``/``cols``, every pixel in row-major order (N = H·W). Perspective rays start at the
    source; parallel rays start on the plane z = 0 of the camera frame.
    """
    if rows is None or cols is None:
        grid_rows, grid_cols = np.meshgrid(
            np.arange(camera.shape[0]), np.arange(camera.shape[1]), indexing="ij"
        )
        rows, cols = grid_rows.ravel(), grid_cols.ravel()
    row_array = np.asarray(rows, dtype=np.float64).ravel()
    col_array = np.asarray(cols, dtype=np.float64).ravel()
    row0, col0 = camera.principal_point
    x = (col_array - col0) * camera.pixel_spacing_mm[1]
    y = (row_array - row0) * camera.pixel_spacing_mm[0]
    ends = np.stack([x, y, np.full_like(x, camera.sdd_mm)], axis=1)
    starts = np.zeros_like(ends) if camera.projection == "perspective" else ends * [1.0, 1.0, 0.0]
    return _camera_to_world(camera, starts), _camera_to_world(camera, ends)


def _camera_to_world(camera: Camera, points: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    rotation, translation = camera.pose.rotation, camera.pose.translation_mm
    return np.asarray((points - translation) @ rotation, dtype=np.float64)


def structure_centre_mm(
    volume: Volume, labels: Volume | None = None, values: Sequence[int] | None = None
) -> tuple[float, float, float]:
    """World centroid (mm) of the voxels labelled ``values``, else the centre of the volume's grid."""
    if labels is not None and values:
        selected = np.argwhere(np.isin(labels.array, list(values)))
        if len(selected):
            x, y, z = volume.voxel_to_world_mm(selected.mean(axis=0))
            return float(x), float(y), float(z)
    x, y, z = volume.voxel_to_world_mm((np.array(volume.shape) - 1) / 2.0)
    return float(x), float(y), float(z)
