"""The hipbmd Python API; each function mirrors a CLI command one to one.

>>> from hipbmd import api
>>> api.info(["ct_folder/", "hip.dcm"])        # same as: hipbmd info ct_folder/ hip.dcm --json
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from hipbmd import __version__
from hipbmd.api_bmd import estimate, merge_results, train
from hipbmd.api_seg import seg_train, segment
from hipbmd.api_stats import evaluate
from hipbmd.api_validate import crossval
from hipbmd.drr.geometry import PoseParameters
from hipbmd.drr.project_ct import DRRRequest, drr_to_file
from hipbmd.errors import InputError
from hipbmd.io.ct import read_ct, read_labels, read_volume
from hipbmd.io.radiograph import read_radiograph
from hipbmd.io.records import nifti_path, write_json
from hipbmd.labelmaps import resolve_labels
from hipbmd.summary import detect_kind, radiograph_summary, volume_summary

if TYPE_CHECKING:
    from hipbmd.calibration.result import Calibration
    from hipbmd.femur.landmarks import Side
    from hipbmd.types import Volume

InputKind = Literal["auto", "ct", "labels", "radiograph"]

__all__ = [
    "calibrate",
    "crossval",
    "drr",
    "estimate",
    "evaluate",
    "import_masks",
    "info",
    "info_one",
    "merge_results",
    "read_ct",
    "read_labels",
    "read_pose",
    "read_radiograph",
    "register",
    "seg_train",
    "segment",
    "train",
]


def info_one(
    path: str | Path,
    series_uid: str | None = None,
    spacing_mm: float | None = None,
    kind: InputKind = "auto",
) -> dict[str, Any]:
    """Read one CT folder/volume, label map or radiograph and summarise what was read.

    Args:
        path: a DICOM series folder, a NIfTI/NRRD/MetaImage volume, a DICOM radiograph or an image file.
        series_uid: the series to read from a folder that holds several.
        spacing_mm: detector pixel spacing to assume for a radiograph, mm.
        kind: "auto" to detect, or what the input must be: "ct", "labels" or "radiograph".

    Returns:
        A JSON-ready dict (see :mod:`hipbmd.summary`) with ``path`` and the ``warnings`` raised on reading.

    Raises:
        InputError: the path cannot be read; the message names it and the problem.
    """
    path = Path(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        detected = detect_kind(path) if kind == "auto" else kind
        if detected == "radiograph":
            summary = radiograph_summary(read_radiograph(path, spacing_mm))
        elif detected == "volume":
            summary = volume_summary(read_volume(path))
        elif detected == "labels":
            summary = volume_summary(read_labels(path))
        else:
            summary = volume_summary(read_ct(path, series_uid))
    return {"path": str(path), **summary, "warnings": [str(w.message) for w in caught]}


def info(
    paths: Sequence[str | Path],
    series_uid: str | None = None,
    spacing_mm: float | None = None,
    kind: InputKind = "auto",
) -> list[dict[str, Any]]:
    """Summarise several inputs; an unreadable one yields ``{"path", "error"}`` instead of stopping.

    Mirrors ``hipbmd info PATH... [--series UID] [--spacing-mm S] [--kind K] --json``.
    """
    results = []
    for path in paths:
        try:
            results.append(info_one(path, series_uid, spacing_mm, kind))
        except InputError as error:
            results.append({"path": str(path), "error": error.problem})
    return results


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


def drr(request: DRRRequest, output: str | Path) -> dict[str, Any]:
    """Render a CT (optionally one labelled structure) as a quantitative DRR and write it.

    Mirrors ``hipbmd drr CT -o OUT [--labels L --label NAME] [--pose P] [--parallel] ...``.
    Returns the JSON sidecar record (unit, pose, value range, files written).
    """
    return drr_to_file(request, Path(output))


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
        Path(output).write_text(json.dumps(record, indent=2))
    return record


def calibrate(
    ct: str | Path,
    phantom: str | Path | None = None,
    slope_hu_per_mg_cm3: float | None = None,
    intercept_hu: float | None = None,
    phantomless: bool = False,
    output: str | Path | None = None,
    density: str | Path | None = None,
    series_uid: str | None = None,
    effective_energy_kev: float = 70.0,
) -> Calibration:
    """Calibrate a CT's HU to mg/cm³: with its phantom's rods, a given line, or its own fat and muscle.

    Mirrors ``hipbmd calibrate CT [--phantom NAME|FILE] [--slope S --intercept I] [--phantomless]
    [-o calibration.json] [--density density.nii.gz]``.

    Args:
        ct: DICOM series folder or volume file in HU.
        phantom: built-in phantom name (prefix, any case) or a phantom JSON file; None identifies the
            phantom among the built-in ones. Ignored by the other two methods.
        slope_hu_per_mg_cm3, intercept_hu: a line found elsewhere, HU = slope·ρ + intercept (both or neither).
        phantomless: use fat and muscle as references instead (less accurate, always flagged).
        output: write the calibration JSON here.
        density: write the calibrated volume (NIfTI, float32 mg/cm³) here.
        series_uid: the series to read from a folder that holds several.
        effective_energy_kev: the scanner's effective energy assumed by the phantomless method.

    Raises:
        ValueError: options that do not go together.
        InputError: the CT cannot be read, the phantom is not found, or the fit is poor (r < 0.99).
    """
    from dataclasses import replace

    from hipbmd.io.volume_writers import write_nifti

    _check_calibration_options(phantom, slope_hu_per_mg_cm3, intercept_hu, phantomless)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        volume = read_ct(ct, series_uid)
    result = _calibrate_volume(
        volume, str(ct), phantom, slope_hu_per_mg_cm3, intercept_hu, phantomless, effective_energy_kev
    )
    if caught:
        result = replace(result, flags=(*result.flags, *(f"reading: {w.message}" for w in caught)))
    if output is not None:
        result.save(output)
    if density is not None:
        write_nifti(result.apply(volume), density)
    return result


def _calibrate_volume(
    volume: Volume,
    source: str,
    phantom: str | Path | None,
    slope_hu_per_mg_cm3: float | None,
    intercept_hu: float | None,
    phantomless: bool,
    effective_energy_kev: float,
) -> Calibration:
    """The calibration the options ask for, of a CT already read."""
    from hipbmd.calibration import (
        calibrate_with_phantom,
        load_phantom,
        manual_calibration,
        phantomless_calibration,
    )

    if slope_hu_per_mg_cm3 is not None and intercept_hu is not None:
        return manual_calibration(slope_hu_per_mg_cm3, intercept_hu, source)
    if phantomless:
        return phantomless_calibration(volume, source, effective_energy_kev)
    chosen = load_phantom(phantom) if phantom is not None else None
    return calibrate_with_phantom(volume, chosen, source)


def ct_bmd(
    ct: str | Path,
    labels: str | Path | None,
    output_dir: str | Path,
    sides: Sequence[Side] = ("right", "left"),
    label_table: str | Path = "hipbmd",
    phantom: str | Path | None = None,
    slope_hu_per_mg_cm3: float | None = None,
    intercept_hu: float | None = None,
    phantomless: bool = False,
    series_uid: str | None = None,
    model: str | Path | None = None,
    on_window: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """CT-aBMD (g/cm²) and vBMD (mg/cm³) of each femur of a hip CT in the DXA position.

    Mirrors ``hipbmd ct-bmd CT --labels L -o out/ [--side ...] [--label-table ...]`` with the calibration
    options of :func:`calibrate`. Writes ``ct_bmd.json`` and one ``dxa_<side>.png`` per measured side
    into ``output_dir``; returns the JSON record. A side that cannot be measured (no femur, too little of
    it, an implant) has no numbers and says why.

    Args:
        ct: DICOM series folder or volume file in HU.
        labels: label map of the CT (e.g. a simulated cohort's labels or a TotalSegmentator ``--ml``
            output) or a TotalSegmentator output folder of one mask per structure; None: segment the
            CT with the Bayesian U-Net (``model``) and write ``labels.nii.gz`` and
            ``uncertainty.nii.gz`` beside the JSON, the femurs' uncertainty flags joining their sides.
        output_dir: folder for the JSON and the pictures.
        sides: which femurs.
        label_table: names of the labels ("hipbmd", "totalsegmentator_v1/v2" or a TSV); the femurs
            are looked up as ``femur_right`` and ``femur_left``. A folder, or a file with a
            TotalSegmentator table, is first converted to hipbmd values (see :func:`import_masks`).
        phantom, slope_hu_per_mg_cm3, intercept_hu, phantomless: the calibration (see :func:`calibrate`).
        series_uid: the series to read from a folder that holds several.
        model: segmentation model folder when ``labels`` is None (default: the shipped model).
        on_window: segmentation progress, called with (windows done, windows in all).
    """
    from hipbmd.api_seg import segment_into
    from hipbmd.femur.ct_bmd import measure_side
    from hipbmd.labelmaps import load_label_table
    from hipbmd.segmentation.masks import labels_for_ct

    _check_calibration_options(phantom, slope_hu_per_mg_cm3, intercept_hu, phantomless)
    table = load_label_table(label_table)
    missing = [f"femur_{side}" for side in sides if f"femur_{side}" not in table]
    if missing:
        raise ValueError(f"label table {label_table} has no {', '.join(missing)}")
    volume = read_ct(ct, series_uid)
    calibration = _calibrate_volume(
        volume, str(ct), phantom, slope_hu_per_mg_cm3, intercept_hu, phantomless, 70.0
    )
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    segmentation = None
    measured_table: str | Path
    if labels is None:
        segmentation = segment_into(volume, model, folder, on_window)
        label_volume, measured_table = segmentation.labels, "hipbmd"
    else:
        label_volume, measured_table = labels_for_ct(labels, volume, label_table)
    table = load_label_table(measured_table)
    density = calibration.apply(volume)
    results = [
        measure_side(volume, density, label_volume, table[f"femur_{side}"], side, folder / f"dxa_{side}.png")
        for side in sides
    ]
    if segmentation is not None:
        for result in results:
            result.flags += segmentation.femurs.get(result.side, {}).get("flags", [])
    record = {
        "hipbmd_version": __version__,
        "ct": str(ct),
        "labels": str(folder / "labels.nii.gz") if labels is None else str(labels),
        "segmentation": None if segmentation is None else segmentation.to_dict(),
        "labels_format": label_volume.meta.get("format"),
        "label_table": str(measured_table),
        "calibration": calibration.to_dict(),
        "sides": [result.to_dict() for result in results],
    }
    write_json(folder / "ct_bmd.json", record)
    return record


def import_masks(
    source: str | Path,
    like: str | Path,
    output: str | Path,
    label_table: str | Path | Mapping[str, int] | None = None,
    series_uid: str | None = None,
) -> dict[str, Any]:
    """Convert femur/pelvis masks made elsewhere into a hipbmd label map on a CT's grid and write it.

    Mirrors ``hipbmd import-masks SOURCE --like CT -o labels.nii.gz [--label-table T | --value N=V]``.

    Args:
        source: a TotalSegmentator output folder (one mask per structure) or a label file.
        like: the CT (DICOM series folder or volume file) whose voxel grid the labels take.
        output: the NIfTI label map to write (.nii or .nii.gz), written atomically.
        label_table: for a label file, the table naming its values (built-in name or TSV) or a
            mapping structure name → value (e.g. ``{"femur_right": 3}``).
        series_uid: the series to read from a CT folder that holds several.

    Returns:
        A JSON-ready record: source, CT, output, format, tables, resampling, voxels per structure
        and the warnings raised on reading.
    """
    from hipbmd.io.volume_writers import write_labels
    from hipbmd.segmentation.masks import import_masks as import_mask_volume

    nifti_path(output)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        volume = read_ct(like, series_uid)
        labels = import_mask_volume(source, volume, label_table)
    write_labels(labels, output)
    record = {"hipbmd_version": __version__, "ct": str(like), "labels": str(output), **labels.meta}
    return {**record, "warnings": [str(w.message) for w in caught]}


def _check_calibration_options(
    phantom: str | Path | None, slope: float | None, intercept: float | None, phantomless: bool
) -> None:
    if (slope is None) != (intercept is None):
        raise ValueError("--slope and --intercept go together")
    if phantomless and (phantom is not None or slope is not None):
        raise ValueError("--phantomless excludes --phantom and --slope/--intercept")
    if slope is not None and phantom is not None:
        raise ValueError("--slope/--intercept exclude --phantom")
