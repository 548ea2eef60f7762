"""Render a CT file as a DRR: the work behind ``hipbmd drr`` and ``api.drr``."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hipbmd import __version__
from hipbmd.drr.geometry import (
    DEFAULT_SID_MM,
    DEFAULT_TABLE_TO_DETECTOR_MM,
    PoseParameters,
    structure_centre_mm,
)
from hipbmd.drr.render import DRR, Projector, hu_to_attenuation
from hipbmd.io.ct import read_ct, read_labels
from hipbmd.io.label_tables import resolve_labels
from hipbmd.io.writers import output_kind, write_projection
from hipbmd.types import Camera


@dataclass
class DRRRequest:
    """What to render: the inputs, the labels, the detector and the pose.

    Attributes:
        ct: CT folder or volume file.
        input_unit: "HU" (rendered as attenuation μ·l) or "mg/cm3" (rendered as g/cm²).
        labels: label map on the CT's grid; with ``label`` it restricts rendering.
        label: label values or names (names need ``label_table``).
        per_label: one image per label instead of their sum.
        size: detector rows, columns.
        spacing_mm: detector pixel spacing (row, column).
        sdd_mm: source–detector distance.
        parallel: parallel projection instead of a point source.
        rotation_deg, translation_mm: the pose (see PoseParameters); ``isocenter_mm`` defaults to the
            centroid of the selected labels, else the volume centre; ``sod_mm`` to SDD − 150 mm.
    """

    ct: Path
    input_unit: Literal["HU", "mg/cm3"] = "HU"
    series_uid: str | None = None
    labels: Path | None = None
    label: list[str] = field(default_factory=list)
    label_table: str | None = None
    per_label: bool = False
    size: tuple[int, int] = (256, 256)
    spacing_mm: tuple[float, float] = (1.0, 1.0)
    sdd_mm: float = DEFAULT_SID_MM
    parallel: bool = False
    rotation_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)
    translation_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    isocenter_mm: tuple[float, float, float] | None = None
    sod_mm: float | None = None
    principal_point_px: tuple[float, float] | None = None


def render_request(request: DRRRequest) -> tuple[DRR, PoseParameters]:
    """Read the inputs and render the DRR the request describes."""
    ct = read_ct(request.ct, request.series_uid, unit=request.input_unit)
    volume = hu_to_attenuation(ct) if ct.unit == "HU" else ct
    labels = read_labels(request.labels, like=ct) if request.labels is not None else None
    values = resolve_labels(request.label, request.label_table) if request.label else None
    if values is not None and labels is None:
        raise ValueError("--label needs --labels")
    pose = PoseParameters(
        rotation_deg=request.rotation_deg,
        translation_mm=request.translation_mm,
        isocenter_mm=request.isocenter_mm or structure_centre_mm(ct, labels, values),
        sod_mm=request.sod_mm or request.sdd_mm - DEFAULT_TABLE_TO_DETECTOR_MM,
    )
    camera = Camera(
        request.size,
        request.spacing_mm,
        request.sdd_mm,
        request.principal_point_px,
        projection="parallel" if request.parallel else "perspective",
        pose=pose.to_pose(),
    )
    projector = Projector(volume, labels, values, per_label=request.per_label)
    return projector.render(camera), pose


def camera_record(camera: Camera) -> dict[str, Any]:
    """The detector geometry of a camera, JSON-ready (the pose is recorded separately)."""
    return {
        "shape": list(camera.shape),
        "pixel_spacing_mm": [float(v) for v in camera.pixel_spacing_mm],
        "sdd_mm": float(camera.sdd_mm),
        "principal_point_px": [float(v) for v in camera.principal_point_px or ()],
        "projection": camera.projection,
    }


def drr_to_file(request: DRRRequest, output: Path) -> dict[str, Any]:
    """Render and write ``output`` (.npy, .nii.gz or .png) with a JSON sidecar; returns the sidecar record."""
    output_kind(output)  # fail on an unsupported name before any work
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        drr, pose = render_request(request)
    images = drr.images[0]
    metadata = {
        "hipbmd_version": __version__,
        "source": str(request.ct),
        "unit": drr.unit,
        "label_values": drr.label_values,
        "projection": drr.cameras[0].projection,
        "sdd_mm": request.sdd_mm,
        "pose": pose.to_dict(),
        "value_range": [float(images.min()), float(images.max())],
        "camera": camera_record(drr.cameras[0]),
        "warnings": [str(w.message) for w in caught],
    }
    written = write_projection(images, output, request.spacing_mm, metadata)
    return dict(metadata, files=[str(p) for p in written])
