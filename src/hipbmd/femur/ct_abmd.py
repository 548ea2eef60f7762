"""CT-aBMD: the areal BMD a DXA scan would see, computed from a calibrated CT of the femur.

Following the Osaka group's CT-aBMD (Uemura, Otake et al., Arch Osteoporos 2022): the femur-only
density volume (mg/cm³ hydroxyapatite) is projected in parallel in the DXA position (neck axis parallel
to the detector, shaft vertical; :mod:`hipbmd.femur.dxa_pose`), which gives an areal-density image in
g/cm² (Σ ρ·Δl × 1e-4, exact line integrals, :mod:`hipbmd.drr.render`); the DXA-like regions
(:mod:`hipbmd.femur.roi`) are placed on it and aBMD is the mean areal density over each region's bone
pixels.

vBMD of a region (mg/cm³) is the mean density of the femur voxels whose centre projects onto a bone
pixel of the region — the volume the region's rays pass through. (A voxel centre is assigned to the
pixel it falls in; partial voxels at a region's edge are not split.)

A femur cut from a CT by its label is read partial-volume-aware when an edge margin is given
(:mod:`hipbmd.femur.partial_volume`): the image holds the mineral of the label grown by the margin, the
surrounding tissue removed, and the bone pixels are the label's own footprint (rays that meet a labelled
voxel). A region's aBMD is then its mineral (the image summed over the whole region, so mineral blurred
sideways past the footprint still counts) over its bone area. Its vBMD is no longer a plain mean: it is
the mineral of the voxels (label and margin) whose centre falls on its bone pixels, over the volume of the
label's voxels there, i.e. the label's mean density with the mineral its edge lost put back. Mineral
blurred past the footprint sideways counts in the aBMD but not in the vBMD.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from hipbmd.drr.geometry import project_points
from hipbmd.drr.render import Projector
from hipbmd.femur.dxa_pose import DEFAULT_PIXEL_SPACING_MM, DXAView, dxa_view
from hipbmd.femur.landmarks import FemurLandmarks
from hipbmd.femur.partial_volume import cropped_to_content, femur_outline, femur_with_margin
from hipbmd.femur.roi import BONE_THRESHOLD_G_CM2, HipROIs, ROISettings, bone_mask, hip_rois, measure_rois
from hipbmd.types import Volume

NARROWEST_OFFSET_FLAG_MM = 5.0  # found vs landmark narrowest neck section: flag beyond this
# The beam should run antero-posterior in a supine CT (RAS+): flag when it is more than 60° away.
MIN_BEAM_POSTERIOR_COSINE = 0.5
# A ray in the label's footprint: any ray that meets a labelled voxel (a floor above rounding only).
OUTLINE_MIN_CHORD_MM = 0.01


@dataclass
class CTaBMDResult:
    """CT-aBMD of one femur.

    Attributes:
        abmd_g_cm2: region → aBMD (g/cm²), NaN for a region without bone.
        vbmd_mg_cm3: region → mean density (mg/cm³) of the femur voxels projecting onto its bone pixels.
        measurements: region → {"abmd_g_cm2", "area_cm2", "bmc_g", "bone_pixels"}.
        image_g_cm2: (H, W) areal-density image of the femur in the DXA position.
        bone: (H, W) bone mask used.
        rois: the regions and their placement.
        view: camera, pose and landmark pixels of the DXA position.
        flags: reasons to distrust the numbers (empty when none).
    """

    abmd_g_cm2: dict[str, float]
    vbmd_mg_cm3: dict[str, float]
    measurements: dict[str, dict[str, float]]
    image_g_cm2: npt.NDArray[np.float32]
    bone: npt.NDArray[np.bool_]
    rois: HipROIs
    view: DXAView
    flags: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary (no images)."""
        return {
            "side": self.view.side,
            "abmd_g_cm2": {k: _rounded(v) for k, v in self.abmd_g_cm2.items()},
            "vbmd_mg_cm3": {k: _rounded(v, 2) for k, v in self.vbmd_mg_cm3.items()},
            "measurements": {
                name: {key: _rounded(value) for key, value in values.items()}
                for name, values in self.measurements.items()
            },
            "dxa_view": self.view.summary(),
            "roi_geometry": self.rois.geometry_dict(),
            "flags": list(self.flags),
        }


def _rounded(value: float, digits: int = 5) -> float | None:
    return None if not np.isfinite(value) else round(float(value), digits)


def femur_only(density: Volume, labels: Volume | None = None, label_value: int | None = None) -> Volume:
    """The density of the femur alone, cropped to its bounding box (same world placement)."""
    if density.unit != "mg/cm3":
        raise ValueError(f"CT-aBMD needs a calibrated density volume (mg/cm3), got {density.unit}")
    values = density.array
    if labels is not None or label_value is not None:
        if labels is None or label_value is None or labels.shape != density.shape:
            raise ValueError("give a label map on the density grid together with the femur's label value")
        values = np.where(labels.array == label_value, values, 0.0)
    if not np.any(values != 0):
        raise ValueError("the femur is empty (no non-zero density voxel)")
    return cropped_to_content(
        Volume(values, density.affine, "mg/cm3", dict(density.meta, cropped_to="femur"))
    )


def ct_abmd(
    density: Volume,
    landmarks: FemurLandmarks,
    labels: Volume | None = None,
    label_value: int | None = None,
    pixel_spacing_mm: float = DEFAULT_PIXEL_SPACING_MM,
    settings: ROISettings | None = None,
    bone_threshold_g_cm2: float = BONE_THRESHOLD_G_CM2,
    edge_margin_mm: float | None = None,
) -> CTaBMDResult:
    """CT-aBMD (g/cm²) and vBMD (mg/cm³) of the neck, total hip and proximal femur regions.

    Args:
        density: calibrated density (mg/cm³); either the femur alone (zero elsewhere) or a whole CT
            with ``labels`` and ``label_value`` selecting the femur.
        landmarks: the femur's landmarks (world RAS+ mm).
        labels, label_value: optional label map on the density grid and the femur's label.
        pixel_spacing_mm: pixel size of the DXA-position image.
        settings: region sizes (defaults: see :class:`~hipbmd.femur.roi.ROISettings`).
        bone_threshold_g_cm2: areal density above which a pixel is bone (without an edge margin).
        edge_margin_mm: with ``labels``, read the femur partial-volume-aware (module docstring): its
            mineral within this margin of the label, its bone area from the label. None: the density
            inside the label (or of the femur-only volume) as it is, bone by ``bone_threshold_g_cm2``.
    """
    outline = None
    if edge_margin_mm is None:
        femur = femur_only(density, labels, label_value)
    else:
        if labels is None or label_value is None:
            raise ValueError("an edge margin needs the label map and the femur's label value")
        femur = femur_with_margin(density, labels, label_value, edge_margin_mm)
        outline = femur_outline(labels, label_value)
    centres_mm, values = _voxels(femur)
    counted_mm = centres_mm if outline is None else _voxels(outline)[0]
    # the frame holds the bone (the label's outline when given: the margin lies well within the frame's)
    view = dxa_view(landmarks, pixel_spacing_mm, femur_points_mm=counted_mm)
    image = Projector(femur).render(view.camera).images[0]
    if outline is None:
        bone = bone_mask(image, bone_threshold_g_cm2)
    else:
        bone = Projector(outline).render(view.camera).images[0] > OUTLINE_MIN_CHORD_MM
    rois = hip_rois(image, view, settings, bone)
    measurements = measure_rois(image, rois.masks, bone, view.pixel_spacing_mm, outline is not None)
    vbmd = _region_vbmd(view, rois, bone, (centres_mm, values), counted_mm)
    flags = list(rois.flags) + _flags(view, rois, bone, measurements)
    abmd = {name: measured["abmd_g_cm2"] for name, measured in measurements.items()}
    return CTaBMDResult(abmd, vbmd, measurements, image, bone, rois, view, flags)


def _voxels(volume: Volume) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """World centres (N, 3) mm and values (N,) of the non-zero voxels."""
    index = np.argwhere(volume.array != 0)
    values = volume.array[index[:, 0], index[:, 1], index[:, 2]].astype(np.float64)
    return volume.voxel_to_world_mm(index), values


def _region_vbmd(
    view: DXAView,
    rois: HipROIs,
    bone: npt.NDArray[np.bool_],
    mineral: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]],
    counted_mm: npt.NDArray[np.float64],
) -> dict[str, float]:
    """Per region: the density summed over the voxels (centres, values) of ``mineral`` whose centre falls
    on a bone pixel of the region, over the number of ``counted_mm`` voxel centres that fall there."""
    centres_mm, values = mineral
    mineral_px, counted_px = _pixel_of(view, centres_mm, bone.shape), _pixel_of(view, counted_mm, bone.shape)
    result = {}
    for name, region in rois.masks.items():
        behind = np.append((region & bone).ravel(), False)  # the last entry: points off the image
        count = int(np.count_nonzero(behind[counted_px]))
        result[name] = float(values[behind[mineral_px]].sum()) / count if count else float("nan")
    return result


def _pixel_of(
    view: DXAView, points_mm: npt.NDArray[np.float64], shape: tuple[int, ...]
) -> npt.NDArray[np.int64]:
    """Flat index of the pixel each point (world mm) projects onto; rows × columns for one off the image."""
    index = np.rint(project_points(view.camera, points_mm)).astype(np.int64)
    rows, cols = shape
    inside = (index[:, 0] >= 0) & (index[:, 0] < rows) & (index[:, 1] >= 0) & (index[:, 1] < cols)
    return np.where(inside, index[:, 0] * cols + index[:, 1], rows * cols)


def _flags(
    view: DXAView,
    rois: HipROIs,
    bone: npt.NDArray[np.bool_],
    measurements: dict[str, dict[str, float]],
) -> list[str]:
    flags = []
    if bone[0].any() or bone[:, 0].any() or bone[:, -1].any():
        flags.append("femur_cut_by_detector_edge")
    if abs(rois.narrowest_offset_mm) > NARROWEST_OFFSET_FLAG_MM:
        flags.append("neck_narrowest_far_from_landmark")
    if float(view.beam_direction @ np.array([0.0, -1.0, 0.0])) < MIN_BEAM_POSTERIOR_COSINE:
        flags.append("beam_not_anteroposterior")
    flags += [f"empty_roi:{name}" for name, values in measurements.items() if not values["bone_pixels"]]
    return flags
