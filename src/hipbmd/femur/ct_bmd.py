"""CT-aBMD of a hip CT, side by side: the work behind ``hipbmd ct-bmd`` and ``api.ct_bmd``.

For each requested side: the femur's label, its landmarks from the mask
(:mod:`hipbmd.femur.landmarks_from_mask`), a check for metal inside it, then the CT-aBMD and vBMD in the
DXA position (:mod:`hipbmd.femur.ct_abmd`) of the calibrated density, its edge read partial-volume-aware
(:mod:`hipbmd.femur.partial_volume`, margin :func:`edge_margin_mm`), with a picture of the regions. A side
that cannot be measured (no femur, too little of it in the scan, an implant) is reported with its reasons
and no number, never with a confident one. A femur the scan cuts off above its shaft is measured at the
neck only, on an assumed shaft axis and with the flag ``shaft_axis_assumed``
(:mod:`hipbmd.femur.landmarks_from_mask`); its other regions are reported as not measured.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from hipbmd.femur.ct_abmd import ct_abmd
from hipbmd.femur.landmarks_from_mask import measure_landmarks
from hipbmd.femur.partial_volume import bounding_box, distance_mm, voxels_within
from hipbmd.segmentation.classes import METAL_HU
from hipbmd.types import Side, Volume

METAL_MIN_VOXELS = 10
METAL_MARGIN_MM = 3.0
EDGE_MARGIN_MM = 3.0  # beyond the CT's blur of the cortex: 3.5 σ of a 2 mm slice profile (σ 0.85 mm)
EDGE_MARGIN_PER_VOXEL = 1.5  # coarser scans: 1.5 × the largest voxel size (3.5 σ of its slice profile)


@dataclass
class SideMeasurement:
    """CT-aBMD of one side, or why there is none.

    Attributes:
        side: the patient's side.
        abmd_g_cm2: region → aBMD (g/cm²); empty when the side could not be measured.
        vbmd_mg_cm3: region → mean density (mg/cm³) of the femur voxels behind the region.
        flags: reasons to distrust or withhold the numbers.
        landmarks: landmark fit record (landmarks, QC figures).
        picture: the PNG of the DXA-position projection with the regions, if written.
        edge_margin_mm: how far beyond the label the blurred mineral was gathered (None: not measured).
    """

    side: Side
    abmd_g_cm2: dict[str, float] = field(default_factory=dict)
    vbmd_mg_cm3: dict[str, float] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    landmarks: dict[str, Any] = field(default_factory=dict)
    picture: str | None = None
    edge_margin_mm: float | None = None

    @property
    def measured(self) -> bool:
        """Whether numbers were given."""
        return bool(self.abmd_g_cm2)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "side": self.side,
            "measured": self.measured,
            "abmd_g_cm2": {k: round(v, 5) for k, v in self.abmd_g_cm2.items()},
            "vbmd_mg_cm3": {k: round(v, 2) for k, v in self.vbmd_mg_cm3.items()},
            "flags": list(self.flags),
            "landmarks": self.landmarks,
            "picture": self.picture,
            "edge_margin_mm": self.edge_margin_mm,
        }

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> SideMeasurement:
        """Inverse of :meth:`to_dict`."""
        side = record["side"]
        if side not in ("right", "left"):
            raise ValueError(f"side {side!r} is not right or left")
        margin = record.get("edge_margin_mm")
        return cls(
            "right" if side == "right" else "left",
            {str(k): float(v) for k, v in record.get("abmd_g_cm2", {}).items()},
            {str(k): float(v) for k, v in record.get("vbmd_mg_cm3", {}).items()},
            [str(flag) for flag in record.get("flags", [])],
            dict(record.get("landmarks") or {}),
            record.get("picture"),
            None if margin is None else float(margin),
        )


def metal_voxels(ct_hu: Volume, labels: Volume, label_value: int) -> int:
    """Voxels reading above :data:`METAL_HU` within :data:`METAL_MARGIN_MM` of the label (an implant in
    or against the bone; a stem labelled as implant is surrounded by the femur label, not inside it)."""
    inside = labels.array == label_value
    if not inside.any():
        return 0
    box = bounding_box(inside, voxels_within(labels, METAL_MARGIN_MM))
    near = distance_mm(inside[box], labels) <= METAL_MARGIN_MM
    return int(np.count_nonzero(ct_hu.array[box][near] > METAL_HU))


def edge_margin_mm(labels: Volume) -> float:
    """How far (mm) beyond the femur's label its blurred mineral is gathered on this CT's grid:
    :data:`EDGE_MARGIN_MM`, or :data:`EDGE_MARGIN_PER_VOXEL` × the largest voxel size when that is more."""
    largest_mm = max(labels.spacing_mm)
    return max(EDGE_MARGIN_MM, EDGE_MARGIN_PER_VOXEL * largest_mm)


def measure_side(
    ct_hu: Volume, density: Volume, labels: Volume, label_value: int, side: Side, picture: Path | None
) -> SideMeasurement:
    """CT-aBMD of the femur labelled ``label_value`` (``density`` in mg/cm³ on the CT's grid)."""
    result = SideMeasurement(side)
    metal = metal_voxels(ct_hu, labels, label_value)
    if metal >= METAL_MIN_VOXELS:
        note = f"implant: {metal} voxels above {METAL_HU:.0f} HU in or against the femur; not measured"
        result.flags.append(note)
        return result
    fit = measure_landmarks(labels, label_value, side, allow_assumed_shaft=True)
    result.landmarks = fit.summary()
    result.flags += fit.flags
    if fit.landmarks is None:
        return result
    result.edge_margin_mm = edge_margin_mm(labels)
    measured = ct_abmd(density, fit.landmarks, labels, label_value, edge_margin_mm=result.edge_margin_mm)
    dropped = [name for name in measured.abmd_g_cm2 if name not in fit.regions]
    # region flags ("empty_roi:total_hip") only for the regions kept; the others are not measured
    result.flags += [flag for flag in measured.flags if flag.split(":")[-1] not in dropped]
    result.flags += [f"not_measured:{name}" for name in dropped]
    result.abmd_g_cm2 = _finite(measured.abmd_g_cm2, fit.regions)
    result.vbmd_mg_cm3 = _finite(measured.vbmd_mg_cm3, fit.regions)
    if picture is not None:
        from hipbmd.femur.roi_figure import save_roi_png

        title = f"{side} femur, CT-aBMD in the DXA position"
        if dropped:
            title += " (shaft axis assumed: neck only)"
        rois = replace(
            measured.rois, masks={k: v for k, v in measured.rois.masks.items() if k not in dropped}
        )
        shown = {k: v for k, v in measured.measurements.items() if k not in dropped}
        save_roi_png(picture, measured.image_g_cm2, rois, shown, measured.bone, title)
        result.picture = picture.name
    return result


def _finite(values: dict[str, float], regions: tuple[str, ...]) -> dict[str, float]:
    """The finite values of the given regions."""
    return {k: float(v) for k, v in values.items() if k in regions and np.isfinite(v)}
