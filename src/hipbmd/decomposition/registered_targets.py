"""Training targets in registered poses: femur and all-bone DRRs on the radiograph's detector, and crops.

The DRRs are rendered, as the simulator's truth DRRs are, on the radiograph's own detector with pixels
:data:`DRR_FACTOR` times larger (:func:`hipbmd.sim.exam.coarse_camera`: the same detector plane, block
centres of the fine grid), so the crops of the two line up through detector millimetres.

* Femur DRR: the calibrated density (mg/cm³) of the femur read as CT-aBMD reads it, with the mineral the
  CT's blur put within :func:`hipbmd.femur.ct_bmd.edge_margin_mm` outside its label and the surrounding
  tissue removed there (:func:`hipbmd.femur.partial_volume.femur_with_margin`), in the femur's pose; line
  integrals in g/cm² (Σ ρ·Δl × 1e-4, Δl in mm, :mod:`hipbmd.drr.render`).
* All-bone DRR: every bone in its own pose (each used femur in its registered pose; the pelvis in its
  registered orientation anchored at the hip of the crop, see
  :func:`~hipbmd.decomposition.hip_registration.anchored_pelvis`; another femur with the pelvis), summed.
* Crops (:mod:`hipbmd.decomposition.crop`): about the femur's 3-D head centre projected in its
  registered pose, at the radiograph's magnification (the file's, else SID/SOD, as at inference), a
  left hip mirrored; the radiograph crop network-normalised, the DRR crops in g/cm².
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hipbmd.decomposition.crop import CropGrid, CropPlacement, normalise_radiograph, sample_crop
from hipbmd.drr.geometry import PoseParameters, camera_with_pose, project_points
from hipbmd.drr.render import Projector
from hipbmd.femur.ct_bmd import edge_margin_mm
from hipbmd.femur.partial_volume import femur_with_margin
from hipbmd.types import Camera, Radiograph, Volume

DRR_FACTOR = 3  # DRR pixels are this many radiograph pixels wide, as the simulator's truth DRRs
FloatImage = npt.NDArray[np.float32]


@dataclass(frozen=True)
class HipCrops:
    """One hip's training pair on the model grid and where its head centre projected.

    Attributes:
        input: network-normalised radiograph crop.
        femur_g_cm2: femur DRR crop.
        bone_g_cm2: all-bone DRR crop.
        head_px: the head centre on the radiograph (row, col).
    """

    input: FloatImage
    femur_g_cm2: FloatImage
    bone_g_cm2: FloatImage
    head_px: tuple[float, float]


def drr_camera(camera: Camera) -> Camera:
    """The radiograph's detector with pixels :data:`DRR_FACTOR` times larger."""
    from hipbmd.sim.exam import coarse_camera

    return coarse_camera(camera, DRR_FACTOR)


def femur_drr(
    density: Volume, labels: Volume, femur_value: int, camera: Camera, pose: PoseParameters
) -> FloatImage:
    """Areal density (g/cm²) of the femur labelled ``femur_value`` (its edge read as for CT-aBMD)."""
    femur = femur_with_margin(density, labels, femur_value, edge_margin_mm(labels))
    image = Projector(femur).render(camera_with_pose(camera, pose.to_pose()))
    return np.asarray(image.images[0], np.float32)


def all_bone_drr(
    density: Volume,
    labels: Volume,
    poses: Mapping[int, PoseParameters],
    pelvis_values: Sequence[int],
    pelvis_pose: PoseParameters | None,
    camera: Camera,
) -> FloatImage:
    """Areal density (g/cm²) of every bone: each femur label in ``poses`` (label → pose) and the
    pelvic labels in ``pelvis_pose`` (left out when None)."""
    total = np.zeros(camera.shape, np.float32)
    for value, pose in poses.items():
        total += femur_drr(density, labels, value, camera, pose)
    if pelvis_pose is not None and pelvis_values:
        pelvis = Projector(density, labels, list(pelvis_values))
        total += pelvis.render(camera_with_pose(camera, pelvis_pose.to_pose())).images[0]
    return total


def head_pixel(camera: Camera, pose: PoseParameters, head_mm: npt.ArrayLike) -> tuple[float, float]:
    """Where the 3-D head centre projects on ``camera``'s detector in ``pose`` (row, col)."""
    row, col = project_points(
        camera_with_pose(camera, pose.to_pose()), np.asarray(head_mm, np.float64)[None]
    )[0]
    return float(row), float(col)


def hip_crops(
    radiograph: Radiograph,
    radiograph_camera: Camera,
    drr_grid: tuple[Camera, FloatImage, FloatImage],
    head: tuple[PoseParameters, npt.ArrayLike],
    grid: CropGrid,
    magnification: float,
    mirror: bool,
) -> HipCrops:
    """The training pair of one hip.

    Args:
        radiograph: the image (standard AP display).
        radiograph_camera: its detector (:func:`~hipbmd.drr.geometry.camera_from_radiograph`).
        drr_grid: the DRR camera (:func:`drr_camera`), the femur DRR and the all-bone DRR on it.
        head: the femur's pose and its 3-D head centre (world mm).
        grid: the model grid.
        magnification: detector size / patient-plane size.
        mirror: True for a left hip.
    """
    camera, femur, bone = drr_grid
    pose, head_mm = head
    head_px = head_pixel(radiograph_camera, pose, head_mm)
    spacing = radiograph_camera.pixel_spacing_mm
    placement = CropPlacement(head_px, spacing, magnification, mirror)
    drr_placement = CropPlacement(
        head_pixel(camera, pose, head_mm), camera.pixel_spacing_mm, magnification, mirror
    )
    return HipCrops(
        normalise_radiograph(sample_crop(radiograph.array, grid, placement, outside=None)),
        sample_crop(femur, grid, drr_placement),
        sample_crop(bone, grid, drr_placement),
        head_px,
    )
