"""``hipbmd calibrate`` and ``hipbmd ct-bmd``: the CT pipeline, from HU to CT-aBMD in the DXA position."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hipbmd import __version__
from hipbmd.io.ct import read_ct
from hipbmd.io.ct_checks import check_plausible_ct
from hipbmd.io.output_paths import check_output_file, check_output_folder
from hipbmd.io.records import write_json

if TYPE_CHECKING:
    from hipbmd.calibration.result import Calibration
    from hipbmd.types import Side, Volume


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
    for path in (output, density):
        if path is not None:
            check_output_file(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        volume = check_plausible_ct(read_ct(ct, series_uid), ct)
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
    from hipbmd.api.seg import segment_into
    from hipbmd.femur.ct_bmd import measure_side
    from hipbmd.io.label_tables import load_label_table
    from hipbmd.segmentation.masks import labels_for_ct

    _check_calibration_options(phantom, slope_hu_per_mg_cm3, intercept_hu, phantomless)
    check_output_folder(output_dir)
    table = load_label_table(label_table)
    missing = [f"femur_{side}" for side in sides if f"femur_{side}" not in table]
    if missing:
        raise ValueError(f"label table {label_table} has no {', '.join(missing)}")
    volume = check_plausible_ct(read_ct(ct, series_uid), ct)
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
        "segmentation": None if segmentation is None else segmentation.summary(),
        "labels_format": label_volume.meta.get("format"),
        "label_table": str(measured_table),
        "calibration": calibration.to_dict(),
        "sides": [result.to_dict() for result in results],
    }
    write_json(folder / "ct_bmd.json", record)
    return record


def _check_calibration_options(
    phantom: str | Path | None, slope: float | None, intercept: float | None, phantomless: bool
) -> None:
    if (slope is None) != (intercept is None):
        raise ValueError("--slope and --intercept go together")
    if phantomless and (phantom is not None or slope is not None):
        raise ValueError("--phantomless excludes --phantom and --slope/--intercept")
    if slope is not None and phantom is not None:
        raise ValueError("--slope/--intercept exclude --phantom")
