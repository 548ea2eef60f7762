"""The bundled real CT's pelvis and soft tissue (the ``real_ct`` anatomy source) and where it goes.

The resource ``resources/anatomy/real_ct/pelvis_ct.npz`` is made once by
``scripts/convert_real_ct_anatomy.py`` from TotalSegmentator's example CT (Apache-2.0; PROVENANCE.txt
beside it): 3 mm voxels from the femoral heads up to the lower thorax, as basis materials (mineral mg/cm³,
soft tissue and fat mg/cm³), the femurs and a hip implant replaced by soft tissue, the hip bones and the
sacrum labelled, and the centres of both hip joints.

A patient's world frame has its hip centres at (±h, 0, 0) (:mod:`hipbmd.sim.body`). The scan is placed by

    world = s · R · (ct − m)

with m the midpoint of the scan's hip centres, R the smallest rotation turning the scan's right-minus-left
hip vector onto +x, and s the patient's size factor, so the scan's hip centres land on (±s·d, 0, 0), d
being half the distance between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import numpy.typing as npt

from hipbmd.drr.geometry import rotation_onto_x

Array = npt.NDArray[np.float32]
Matrix = npt.NDArray[np.float64]
RESOURCE = ("anatomy", "real_ct", "pelvis_ct.npz")
SCALE_RANGE = (0.92, 1.08)  # how far the scanned patient is scaled to another's size


@dataclass(frozen=True)
class RealCtAnatomy:
    """The real CT's anatomy as basis materials on its voxel grid (RAS, axis-aligned).

    Attributes:
        mineral_mg_cm3, soft_mg_cm3, fat_mg_cm3: hydroxyapatite, soft tissue and fat per voxel (mg/cm³).
        labels: hipbmd labels of the hip bones and the sacrum (:data:`hipbmd.sim.tissues.LABELS`).
        origin_mm, spacing_mm: world position of voxel (0, 0, 0) and the voxel size.
        hip_centres_mm: the right and the left hip centre (rows), scan coordinates.
        joint_radius_mm: radius of each joint surface (between femoral head and acetabulum).
        effective_energy_kev: energy at which the CT numbers were read as materials.
        width_mm, front_y_mm, back_y_mm: the body's width and front at the hips, its back (scan frame).
    """

    mineral_mg_cm3: Array
    soft_mg_cm3: Array
    fat_mg_cm3: Array
    labels: npt.NDArray[np.uint8]
    origin_mm: npt.NDArray[np.float64]
    spacing_mm: npt.NDArray[np.float64]
    hip_centres_mm: npt.NDArray[np.float64]
    joint_radius_mm: npt.NDArray[np.float64]
    effective_energy_kev: float
    width_mm: float
    front_y_mm: float
    back_y_mm: float

    @property
    def hip_half_distance_mm(self) -> float:
        """Half the distance between the scan's hip centres (mm)."""
        return float(np.linalg.norm(self.hip_centres_mm[0] - self.hip_centres_mm[1]) / 2.0)

    @property
    def hip_midpoint_mm(self) -> npt.NDArray[np.float64]:
        """Midpoint of the scan's hip centres (scan coordinates, mm)."""
        return np.asarray(self.hip_centres_mm.mean(axis=0), np.float64)

    def rotation(self) -> Matrix:
        """R: the smallest rotation turning the right-minus-left hip vector onto +x."""
        return rotation_onto_x(self.hip_centres_mm[0] - self.hip_centres_mm[1])


@dataclass(frozen=True)
class RealCtPlacement:
    """How a patient carries the real CT: its size factor s (world = s·R·(ct − m), see module docstring)."""

    scale: float

    def to_world(self, anatomy: RealCtAnatomy, points_mm: npt.ArrayLike) -> Matrix:
        """Scan coordinates (mm, (..., 3)) → the patient's world (mm)."""
        centred = np.asarray(points_mm, np.float64) - anatomy.hip_midpoint_mm
        return np.asarray(self.scale * centred @ anatomy.rotation().T, np.float64)

    def world_bounds(self, anatomy: RealCtAnatomy) -> tuple[Matrix, Matrix]:
        """Lowest and highest world corner (mm) of the box holding the placed scan."""
        extent = (np.asarray(anatomy.mineral_mg_cm3.shape) - 1) * anatomy.spacing_mm
        unit_corners = np.array(np.meshgrid([0, 1], [0, 1], [0, 1])).reshape(3, -1).T
        world = self.to_world(anatomy, anatomy.origin_mm + unit_corners * extent)
        return world.min(axis=0), world.max(axis=0)

    def to_scan_voxels(self, anatomy: RealCtAnatomy) -> tuple[Matrix, npt.NDArray[np.float64]]:
        """Matrix A and offset b with scan voxel index = A·world + b."""
        linear = anatomy.rotation().T / self.scale / anatomy.spacing_mm[:, None]
        offset = (anatomy.hip_midpoint_mm - anatomy.origin_mm) / anatomy.spacing_mm
        return np.asarray(linear, np.float64), np.asarray(offset, np.float64)


@lru_cache(maxsize=1)
def load_real_ct_anatomy() -> RealCtAnatomy:
    """The packaged real-CT anatomy (read once)."""
    with resources.files("hipbmd.resources").joinpath(*RESOURCE).open("rb") as handle:
        data = np.load(handle)
        arrays = {name: data[name] for name in data.files}
    return RealCtAnatomy(
        mineral_mg_cm3=arrays["mineral_mg_cm3"].astype(np.float32),
        soft_mg_cm3=arrays["soft_mg_cm3"].astype(np.float32),
        fat_mg_cm3=arrays["fat_mg_cm3"].astype(np.float32),
        labels=arrays["labels"].astype(np.uint8),
        origin_mm=arrays["origin_mm"].astype(np.float64),
        spacing_mm=arrays["spacing_mm"].astype(np.float64),
        hip_centres_mm=arrays["hip_centres_mm"].astype(np.float64),
        joint_radius_mm=arrays["joint_radius_mm"].astype(np.float64),
        effective_energy_kev=float(arrays["effective_energy_kev"]),
        width_mm=float(arrays["width_mm"]),
        front_y_mm=float(arrays["front_y_mm"]),
        back_y_mm=float(arrays["back_y_mm"]),
    )


def real_ct_scale(anatomy: RealCtAnatomy, hip_half_distance_mm: float) -> float:
    """The size factor that brings the scan's hips nearest a patient's, within :data:`SCALE_RANGE`."""
    return float(np.clip(hip_half_distance_mm / anatomy.hip_half_distance_mm, *SCALE_RANGE))
