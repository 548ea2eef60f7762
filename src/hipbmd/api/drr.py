"""``hipbmd drr`` and ``hipbmd register``: quantitative DRRs of a CT and the pose matching a radiograph."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hipbmd.drr.geometry import PoseParameters
from hipbmd.drr.project_ct import DRRRequest, drr_to_file
from hipbmd.errors import InputError
from hipbmd.io.ct import read_ct, read_labels
from hipbmd.io.label_tables import resolve_labels
from hipbmd.io.output_paths import check_output_file
from hipbmd.io.radiograph import read_radiograph
from hipbmd.io.records import write_json

DEFAULT_DETECTOR_SHAPE = (256, 256)
DEFAULT_DETECTOR_SPACING_MM = 1.6
DEFAULT_DETECTOR_SDD_MM = 1100.0


@dataclass(frozen=True)
class DetectorChoice:
    """Detector settings given by the user; None takes the pose file's saved camera, else the default.

    Attributes:
        shape: detector rows and columns.
        spacing_mm: detector pixel spacing, mm (square pixels).
        sdd_mm: source–detector distance, mm.
    """

    shape: tuple[int, int] | None = None
    spacing_mm: float | None = None
    sdd_mm: float | None = None


def _pose_file(path: str | Path) -> tuple[Path, Any]:
    """The parsed content of a pose JSON file."""
    path = Path(path)
    try:
        return path, json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise InputError(path, f"cannot read pose JSON ({error})") from error


def read_pose(path: str | Path) -> PoseParameters:
    """Pose parameters from a JSON file: a bare pose or the output of ``hipbmd register``."""
    path, record = _pose_file(path)
    try:
        return PoseParameters.from_dict(record.get("pose", record))
    except (TypeError, ValueError, AttributeError) as error:
        raise InputError(path, f"not a pose ({error})") from error


def read_pose_camera(path: str | Path) -> dict[str, Any] | None:
    """The detector geometry saved beside a pose (by ``hipbmd register`` or ``hipbmd drr``), if any."""
    _, record = _pose_file(path)
    camera = record.get("camera") if isinstance(record, dict) else None
    return camera if isinstance(camera, dict) else None


def drr(
    request: DRRRequest,
    output: str | Path,
    pose_file: str | Path | None = None,
    detector: DetectorChoice | None = None,
) -> dict[str, Any]:
    """Render a CT (optionally one labelled structure) as a quantitative DRR and write it.

    Mirrors ``hipbmd drr CT -o OUT [--labels L --label NAME] [--pose P] [--parallel] ...``.

    Args:
        request: what to render; its pose is replaced by the pose file's when one is given.
        output: .png, .npy or .nii.gz (a JSON sidecar is written beside it).
        pose_file: a pose JSON (from ``hipbmd register`` or ``hipbmd drr``, or written by hand).
        detector: the detector options given; when None the request's detector is used as it is.

    Returns:
        The JSON sidecar record (unit, pose, value range, files written).
    """
    check_output_file(output)
    if detector is not None and detector.spacing_mm is not None and not 0 < detector.spacing_mm < math.inf:
        raise ValueError(f"--spacing-mm must be a positive finite number of mm, not {detector.spacing_mm}")
    if detector is not None:
        _set_detector(request, read_pose_camera(pose_file) if pose_file else None, detector)
    if pose_file is not None:
        given = read_pose(pose_file)
        request.rotation_deg, request.translation_mm = given.rotation_deg, given.translation_mm
        request.isocenter_mm, request.sod_mm = given.isocenter_mm, given.sod_mm
    return drr_to_file(request, Path(output))


def _set_detector(request: DRRRequest, saved: dict[str, Any] | None, choice: DetectorChoice) -> None:
    """Detector geometry: the options given, else the one saved with the pose, else the defaults."""
    saved = saved or {}
    shape = choice.shape or tuple(saved.get("shape", DEFAULT_DETECTOR_SHAPE))
    request.size = (int(shape[0]), int(shape[1]))
    spacing = saved.get("pixel_spacing_mm", (DEFAULT_DETECTOR_SPACING_MM,) * 2)
    if choice.spacing_mm:
        spacing = (choice.spacing_mm, choice.spacing_mm)
    request.spacing_mm = (float(spacing[0]), float(spacing[1]))
    request.sdd_mm = choice.sdd_mm or float(saved.get("sdd_mm", DEFAULT_DETECTOR_SDD_MM))
    if choice.shape is None and choice.spacing_mm is None and saved.get("principal_point_px"):
        point = saved["principal_point_px"]
        request.principal_point_px = (float(point[0]), float(point[1]))


def register(
    xray: str | Path,
    ct: str | Path,
    output: str | Path | None = None,
    labels: str | Path | None = None,
    structure: Sequence[str] = (),
    label_table: str | None = None,
    init_pose: str | Path | None = None,
    spacing_mm: float | None = None,
    measure: str = "mapped",
    series_uid: str | None = None,
    interior_fraction: float = 0.0,
    on_level: Callable[[int, int, dict[str, float]], None] | None = None,
) -> dict[str, Any]:
    """Find the pose of a CT in which its DRR matches a radiograph; optionally write it as JSON.

    Mirrors ``hipbmd register --xray X --ct CT [--labels L --structure S] [--init P] -o pose.json``.
    Returns {"pose", "report", "xray", "ct"}; the pose file can be given to ``hipbmd drr --pose``.
    """
    from hipbmd.drr.geometry import camera_from_radiograph
    from hipbmd.drr.project_ct import camera_record
    from hipbmd.registration import register as register_images

    if output is not None:
        check_output_file(output)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        radiograph = read_radiograph(xray, spacing_mm)
        volume = read_ct(ct, series_uid)
        label_map = read_labels(labels, like=volume) if labels is not None else None
    values = resolve_labels(list(structure), label_table) if structure else None
    if values and label_map is None:
        raise InputError(str(ct), "--structure needs --labels")
    start = read_pose(init_pose) if init_pose is not None else None
    camera, _, _ = camera_from_radiograph(radiograph, str(xray))
    pose, report = register_images(
        radiograph,
        volume,
        start,
        label_map,
        values,
        measure,
        interior_fraction=interior_fraction,
        on_level=on_level,
    )
    record = {
        "pose": pose.to_dict(),
        "camera": camera_record(camera),
        "report": report.to_dict(),
        "xray": str(xray),
        "ct": str(ct),
        "structure": values,
        "warnings": [str(w.message) for w in caught],
    }
    if output is not None:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        write_json(Path(output), record)
    return record
