"""What hipbmd read from a file: kind detection and a JSON-ready summary of a Volume or Radiograph."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np

from hipbmd.errors import InputError
from hipbmd.io.dicom_file import read_dicom
from hipbmd.io.dicom_series import RADIOGRAPH_MODALITIES
from hipbmd.io.image_file import IMAGE_SUFFIXES
from hipbmd.io.radiograph_geometry import radiograph_geometry
from hipbmd.io.volume_files import volume_format
from hipbmd.types import Radiograph, Volume

Kind = Literal["ct_series", "volume", "radiograph"]


def detect_kind(path: Path) -> Kind:
    """Guess what a path holds: a CT series folder, a volume file (CT or labels), or a radiograph."""
    if path.is_dir():
        return "ct_series"
    if not path.exists():
        raise InputError(path, "no such file or folder")
    if volume_format(path) is not None:
        return "volume"
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return "radiograph"
    header = read_dicom(path, stop_before_pixels=True)
    modality = str(header.get("Modality", "")).upper()
    if modality == "CT":
        raise InputError(path, "is a single CT slice; give the folder that holds the series")
    if modality in RADIOGRAPH_MODALITIES or modality in ("", "OT"):
        return "radiograph"
    raise InputError(path, f"is a {modality} DICOM file, neither a CT series nor a radiograph")


def _rounded(values: Any, digits: int = 4) -> Any:
    if values is None:
        return None
    if isinstance(values, tuple | list | np.ndarray):
        return [round(float(v), digits) for v in values]
    return round(float(values), digits)


def volume_summary(volume: Volume) -> dict[str, Any]:
    """Shape, spacing, orientation, value range and provenance of a CT or label volume."""
    corners = np.array([[0, 0, 0], np.array(volume.shape) - 1], dtype=np.float64)
    world = volume.voxel_to_world_mm(corners)
    summary: dict[str, Any] = {
        "kind": "labels" if volume.unit == "label" else "ct",
        "format": volume.meta.get("format"),
        "shape": list(volume.shape),
        "spacing_mm": _rounded(volume.spacing_mm),
        "orientation": volume.orientation,
        "source_orientation": volume.meta.get("source_orientation"),
        "unit": volume.unit,
        "extent_ras_mm": {
            "min": _rounded(world.min(axis=0), 2),
            "max": _rounded(world.max(axis=0), 2),
        },
    }
    if volume.unit == "label":
        values, counts = np.unique(volume.array, return_counts=True)
        summary["labels"] = {str(int(v)): int(c) for v, c in zip(values, counts, strict=True) if v}
    else:
        summary["value_range"] = _rounded([volume.array.min(), volume.array.max()], 2)
        summary["value_percentiles_1_50_99"] = _rounded(np.percentile(volume.array, [1, 50, 99]), 2)
    keys = (
        "series_uid",
        "series_description",
        "manufacturer",
        "transfer_syntax",
        "slice_count",
        "slice_step_mm",
        "gantry_tilt_deg",
        "resampling",
    )
    summary.update({key: volume.meta[key] for key in keys if key in volume.meta})
    return summary


def _hip_geometry(radiograph: Radiograph) -> dict[str, Any]:
    """The hip's magnification as ``hipbmd estimate`` uses it (:func:`radiograph_geometry`), beside the
    file's own object-plane spacing (``object_spacing_mm``: calibrated, or the file's magnification)."""
    geometry = radiograph_geometry(radiograph)
    return {
        "magnification": round(geometry.magnification, 4),
        "relative_uncertainty": round(geometry.relative_uncertainty, 4),
        "source": geometry.source,
        "spacing_mm": _rounded(geometry.hip_spacing_mm),
    }


def radiograph_summary(radiograph: Radiograph) -> dict[str, Any]:
    """Geometry, photometric handling, intensity range and the tags that matter of a radiograph."""
    meta = radiograph.meta
    return {
        "kind": "radiograph",
        "format": meta.get("format"),
        "modality": meta.get("modality"),
        "sop_class": meta.get("sop_class"),
        "shape": list(radiograph.shape),
        "pixel_spacing_mm": _rounded(radiograph.pixel_spacing_mm),
        "spacing_source": radiograph.spacing_source,
        "calibrated_spacing_mm": _rounded(radiograph.calibrated_spacing_mm),
        "object_spacing_mm": _rounded(radiograph.object_spacing_mm),
        "hip_geometry": _hip_geometry(radiograph),
        "magnification": _rounded(radiograph.magnification),
        "magnification_source": meta.get("magnification_source"),
        "sid_mm": radiograph.sid_mm,
        "sod_mm": radiograph.sod_mm,
        "presentation": radiograph.presentation,
        "photometric_interpretation": meta.get("photometric_interpretation"),
        "photometric_handling": meta.get("photometric_handling"),
        "modality_lut": meta.get("modality_lut"),
        "intensity_range": _rounded([radiograph.array.min(), radiograph.array.max()], 2),
        "pixel_intensity_relationship": meta.get("pixel_intensity_relationship"),
        "voi_applied": False,
        "window_center": meta.get("window_center"),
        "window_width": meta.get("window_width"),
        "view": radiograph.view,
        "patient_orientation": meta.get("patient_orientation"),
        "laterality": radiograph.laterality,
        "age_years": _rounded(radiograph.age_years, 1),
        "sex": radiograph.sex,
        "transfer_syntax": meta.get("transfer_syntax"),
        "has_preamble": meta.get("has_preamble"),
        "notes": meta.get("notes", []),
    }
