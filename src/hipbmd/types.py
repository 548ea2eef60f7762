"""Core data types shared by every hipbmd module.

The conventions (see DESIGN.md) are fixed here once:

* world frame RAS+ in millimetres: x grows towards the patient's Right, y Anterior, z Superior
  (DICOM's LPS is converted once, on reading);
* density in mg/cm³ hydroxyapatite, areal density and aBMD in g/cm²;
* camera frame with the X-ray source at the origin and the detector plane at z = sdd_mm.

This module imports numpy only, so it is usable without torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

VolumeUnit = Literal["HU", "mg/cm3", "1/mm", "label", "fraction"]
SpacingSource = Literal["imager", "pixel", "calibrated", "assumed", "unknown"]
Presentation = Literal["FOR PROCESSING", "FOR PRESENTATION", "unknown"]
Side = Literal["left", "right"]
Projection = Literal["perspective", "parallel"]

FloatArray = npt.NDArray[np.float32]


@dataclass
class Volume:
    """A 3-D image on a voxel grid placed in the RAS+ world frame.

    Attributes:
        array: voxel values, float32 (labels may be any integer dtype), shape (I, J, K).
        affine: 4×4 matrix mapping voxel indices (i, j, k, 1) to world RAS+ millimetres.
        unit: "HU" (CT numbers), "mg/cm3" (calibrated density), "1/mm" (linear attenuation) or
            "label" (segmentation) or "fraction" (dimensionless 0–1, e.g. an uncertainty map).
        meta: provenance (source file, series UID, calibration applied, resampling done, …).
    """

    array: npt.NDArray[Any]
    affine: npt.NDArray[np.float64]
    unit: VolumeUnit
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.array.ndim != 3:
            raise ValueError(f"Volume needs a 3-D array, got shape {self.array.shape}")
        self.affine = np.asarray(self.affine, dtype=np.float64)
        if self.affine.shape != (4, 4):
            raise ValueError(f"Volume affine must be 4x4, got {self.affine.shape}")

    @property
    def shape(self) -> tuple[int, int, int]:
        """Number of voxels along (I, J, K)."""
        i, j, k = self.array.shape
        return int(i), int(j), int(k)

    @property
    def spacing_mm(self) -> tuple[float, float, float]:
        """Voxel size along (I, J, K) in mm (length of each affine column)."""
        norms = np.linalg.norm(self.affine[:3, :3], axis=0)
        return float(norms[0]), float(norms[1]), float(norms[2])

    @property
    def orientation(self) -> str:
        """Axis codes of the array, e.g. "RAS" when I runs towards Right, J Anterior, K Superior."""
        return axis_codes(self.affine)

    def voxel_to_world_mm(self, ijk: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Map voxel indices, shape (..., 3), to world RAS+ mm, shape (..., 3)."""
        points = np.asarray(ijk, dtype=np.float64)
        return points @ self.affine[:3, :3].T + self.affine[:3, 3]

    def world_mm_to_voxel(self, xyz_mm: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Map world RAS+ mm, shape (..., 3), to fractional voxel indices, shape (..., 3)."""
        inverse = np.linalg.inv(self.affine)
        points = np.asarray(xyz_mm, dtype=np.float64)
        return np.asarray(points @ inverse[:3, :3].T + inverse[:3, 3], dtype=np.float64)


def axis_codes(affine: npt.ArrayLike) -> str:
    """Closest anatomical axis codes ("RAS", "LPS", …) of a voxel→RAS+ affine.

    Each voxel axis gets the world axis its direction is closest to; the sign picks the letter
    (R/L for x, A/P for y, S/I for z), following the NIfTI convention.
    """
    matrix = np.asarray(affine, dtype=np.float64)[:3, :3]
    directions = matrix / np.linalg.norm(matrix, axis=0, keepdims=True)
    letters = (("L", "R"), ("P", "A"), ("I", "S"))
    codes = []
    used: set[int] = set()
    for column in range(3):
        order = np.argsort(-np.abs(directions[:, column]))
        world_axis = next(int(a) for a in order if int(a) not in used)
        used.add(world_axis)
        positive = directions[world_axis, column] > 0
        codes.append(letters[world_axis][int(positive)])
    return "".join(codes)


@dataclass
class Radiograph:
    """A 2-D projection radiograph, bone bright, in stored physical intensity (no windowing).

    The modality LUT has been applied and MONOCHROME1 data inverted; VOI/windowing never is.

    Attributes:
        array: float32 (H, W); rows run top → bottom, columns left → right as displayed.
        pixel_spacing_mm: (row, col) spacing at the detector plane, None when unknown.
        spacing_source: where ``pixel_spacing_mm`` (or the calibrated spacing) came from:
            "imager" (ImagerPixelSpacing), "pixel" (uncalibrated PixelSpacing), "calibrated"
            (PixelSpacing with a Pixel Spacing Calibration Type, valid at the patient plane),
            "assumed" (given by the user), "unknown".
        calibrated_spacing_mm: (row, col) spacing at the calibrated patient plane, when the file has one.
        sid_mm: source–image (detector) distance, None when unknown.
        sod_mm: source–object (patient) distance, None when unknown.
        magnification: detector size / object size (Estimated Radiographic Magnification Factor or
            SID/SOD), None when unknown.
        presentation: "FOR PROCESSING", "FOR PRESENTATION" or "unknown".
        view: view position ("AP", "PA", …) or None.
        laterality: "left", "right", "both" or None (patient's side).
        age_years: patient age in years, None when absent.
        sex: "M", "F", "O" or None.
        meta: everything else recorded on reading (photometric handling, VOI, intensity relationship…).
    """

    array: FloatArray
    pixel_spacing_mm: tuple[float, float] | None
    spacing_source: SpacingSource
    calibrated_spacing_mm: tuple[float, float] | None = None
    sid_mm: float | None = None
    sod_mm: float | None = None
    magnification: float | None = None
    presentation: Presentation = "unknown"
    view: str | None = None
    laterality: Literal["left", "right", "both"] | None = None
    age_years: float | None = None
    sex: Literal["M", "F", "O"] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.array.ndim != 2:
            raise ValueError(f"Radiograph needs a 2-D array, got shape {self.array.shape}")

    @property
    def shape(self) -> tuple[int, int]:
        """Image size in pixels (rows, columns)."""
        rows, cols = self.array.shape
        return int(rows), int(cols)

    @property
    def object_spacing_mm(self) -> tuple[float, float] | None:
        """(row, col) pixel spacing at the patient plane in mm, None when it cannot be known.

        A calibrated spacing is used as is; otherwise detector spacing / magnification.
        """
        if self.calibrated_spacing_mm is not None:
            return self.calibrated_spacing_mm
        if self.pixel_spacing_mm is None or self.magnification is None:
            return None
        row, col = self.pixel_spacing_mm
        return row / self.magnification, col / self.magnification


@dataclass
class Pose:
    """A rigid transform from world RAS+ mm to the camera frame.

    x_cam = rotation @ x_world + translation_mm.
    """

    rotation: npt.NDArray[np.float64] = field(default_factory=lambda: np.eye(3))
    translation_mm: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(3))

    def __post_init__(self) -> None:
        self.rotation = np.asarray(self.rotation, dtype=np.float64)
        self.translation_mm = np.asarray(self.translation_mm, dtype=np.float64)
        if self.rotation.shape != (3, 3) or self.translation_mm.shape != (3,):
            raise ValueError("Pose needs a 3x3 rotation and a 3-vector translation")
        if not np.allclose(self.rotation @ self.rotation.T, np.eye(3), atol=1e-6):
            raise ValueError("Pose rotation is not orthonormal")

    def matrix(self) -> npt.NDArray[np.float64]:
        """The 4×4 homogeneous world → camera matrix."""
        out = np.eye(4)
        out[:3, :3] = self.rotation
        out[:3, 3] = self.translation_mm
        return out


@dataclass
class Camera:
    """An X-ray imaging geometry: point source (or parallel beam) and a flat detector.

    Camera frame: the source at the origin, the detector plane at z = sdd_mm, image rows along +y
    (top → bottom) and columns along +x (left → right as displayed).

    Attributes:
        shape: detector size in pixels (rows H, columns W).
        pixel_spacing_mm: (row, col) detector pixel size in mm.
        sdd_mm: source–detector distance in mm (for "parallel", the depth of the detector plane).
        principal_point_px: (row, col) where the central ray meets the detector; default the centre.
        projection: "perspective" or "parallel".
        pose: world → camera transform.
    """

    shape: tuple[int, int]
    pixel_spacing_mm: tuple[float, float]
    sdd_mm: float
    principal_point_px: tuple[float, float] | None = None
    projection: Projection = "perspective"
    pose: Pose = field(default_factory=Pose)

    def __post_init__(self) -> None:
        if min(self.shape) < 1 or min(self.pixel_spacing_mm) <= 0 or self.sdd_mm <= 0:
            raise ValueError("Camera needs a positive shape, pixel spacing and sdd_mm")
        if self.principal_point_px is None:
            rows, cols = self.shape
            self.principal_point_px = ((rows - 1) / 2.0, (cols - 1) / 2.0)

    @property
    def principal_point(self) -> tuple[float, float]:
        """(row, col) where the central ray meets the detector (set in ``__post_init__``)."""
        assert self.principal_point_px is not None
        return self.principal_point_px

    @property
    def detector_size_mm(self) -> tuple[float, float]:
        """Physical detector extent (height, width) in mm."""
        return (self.shape[0] * self.pixel_spacing_mm[0], self.shape[1] * self.pixel_spacing_mm[1])
