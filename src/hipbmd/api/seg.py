"""``hipbmd segment``, ``hipbmd seg-train`` and ``hipbmd import-masks``: femur and pelvis labels of a CT.

Torch is imported only when the segmenter runs."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hipbmd import __version__
from hipbmd.errors import InputError
from hipbmd.io.ct import read_ct, read_labels
from hipbmd.io.ct_checks import check_plausible_ct
from hipbmd.io.output_paths import check_output_file, check_output_folder
from hipbmd.io.records import nifti_path, write_json

if TYPE_CHECKING:
    from hipbmd.segmentation.segment import Segmentation
    from hipbmd.types import Volume

ProgressCallback = Callable[[int, int], None]


def segment(
    ct: str | Path,
    output: str | Path,
    uncertainty: str | Path | None = None,
    model: str | Path | None = None,
    samples: int = 6,
    seed: int = 0,
    series_uid: str | None = None,
    on_window: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Segment femurs (with sides) and pelvis in a hip CT with the Bayesian U-Net.

    Mirrors ``hipbmd segment CT -o labels.nii.gz [--uncertainty u.nii.gz] [--model DIR] [--samples N]``.
    Writes the hipbmd label map (1 femur_right, 2 femur_left, 6 implant, 7 pelvis), optionally the
    voxelwise uncertainty (normalised predictive entropy of ``samples`` Monte-Carlo dropout passes, 0–1),
    and ``<output>.json`` beside the labels: per femur its volume (mL), uncertainty score and flags.

    Args:
        ct: DICOM series folder or volume file in HU.
        output: label map to write (.nii.gz).
        uncertainty: where to write the uncertainty map (.nii.gz), if wanted.
        model: a model folder (default: the model shipped with hipbmd).
        samples: Monte-Carlo dropout passes per window.
        seed: seed of the dropout masks (same seed, same result).
        series_uid: the series to read from a folder that holds several.
        on_window: called with (windows done, windows in all).
    """
    from hipbmd.io.volume_writers import write_labels, write_nifti
    from hipbmd.segmentation.inference import WindowSettings
    from hipbmd.segmentation.model_files import load_model
    from hipbmd.segmentation.segment import segment_ct

    output = check_output_file(nifti_path(output))
    if uncertainty is not None:
        check_output_file(nifti_path(uncertainty))
    check_output_file(_sidecar(output))
    volume = check_plausible_ct(read_ct(ct, series_uid), ct)
    network = load_model(None if model is None else Path(model))
    began = time.monotonic()
    result = segment_ct(volume, network, WindowSettings(samples=samples, seed=seed), on_window)
    record = {
        "hipbmd_version": __version__,
        "ct": str(ct),
        "labels": str(output),
        "uncertainty": None if uncertainty is None else str(uncertainty),
        "seconds": round(time.monotonic() - began, 1),
        **result.summary(),
    }
    written: list[Path] = []
    try:  # all of the outputs or none of them
        if uncertainty is not None:
            written.append(write_nifti(result.uncertainty, nifti_path(uncertainty)))
        written.append(write_labels(result.labels, output))
        written.append(write_json(_sidecar(output), record))
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return record


def _sidecar(labels: Path) -> Path:
    """The JSON record written beside a label map."""
    return labels.with_name(labels.name.split(".")[0] + ".json")


def segment_into(
    volume: Volume, model: str | Path | None, folder: Path, on_window: ProgressCallback | None = None
) -> Segmentation:
    """Segment a CT Volume and write ``labels.nii.gz`` and ``uncertainty.nii.gz`` into ``folder``."""
    from hipbmd.io.volume_writers import write_labels, write_nifti
    from hipbmd.segmentation.model_files import load_model
    from hipbmd.segmentation.segment import segment_ct

    check_plausible_ct(volume, volume.meta.get("source", "CT"))
    result = segment_ct(volume, load_model(None if model is None else Path(model)), None, on_window)
    write_labels(result.labels, folder / "labels.nii.gz")
    write_nifti(result.uncertainty, folder / "uncertainty.nii.gz")
    return result


def seg_train(
    cohort: str | Path,
    output: str | Path,
    cases: tuple[int, int | None] = (0, None),
    iterations: int = 1500,
    batch: int = 4,
    patch: int = 48,
    seed: int = 0,
    spacing_mm: float = 2.0,
    channels: Sequence[int] = (8, 16, 32, 64),
    extra: Sequence[tuple[str | Path, str | Path, str] | tuple[str | Path, str | Path, str, str]] = (),
    on_load: ProgressCallback | None = None,
    on_step: Callable[[int, float], None] | None = None,
    coarse_scans: float = 0.0,
    cut_scans: float = 0.0,
    extra_weight: int = 1,
) -> dict[str, Any]:
    """Train a Bayesian U-Net segmenter on labelled CTs and write a model folder.

    Mirrors ``hipbmd seg-train --cohort C -o model/ [--cases A:B] [--iterations N] [--extra ...]
    [--extra-weight N] [--coarse-scans P] [--cut-scans P]``.
    Resumes from ``output/checkpoint.pt`` when present.

    Args:
        cohort: cohort folder with ``manifest.csv`` (columns case_id, ct, labels; hipbmd label values).
        output: model folder to write.
        cases: rows [first, stop) of the manifest sorted by case id.
        iterations, batch, patch, seed: optimisation (patch edge in working voxels).
        spacing_mm: the model's isotropic voxel size.
        channels: feature channels per U-Net level.
        extra: more (CT, labels, label table) triples, e.g. a real CT with TotalSegmentator labels; a
            fourth item "right" or "left" keeps only that side of the patient's midline (the other half
            held out, e.g. to test on it).
        on_load: called with (cases loaded, cases in all).
        on_step: called with (iteration, loss).
        coarse_scans: share of patches made to look like a scan of coarser voxels (up to 3.6 mm in plane,
            5 mm slices at the default 2 mm grid; :mod:`hipbmd.segmentation.scan_augment`).
        cut_scans: share of patches in which the scan ends inside the patch.
        extra_weight: each extra CT is drawn this many times as often as a cohort case.
    """
    from hipbmd.segmentation.bayesian_unet import UNetConfig
    from hipbmd.segmentation.train import SegmenterTraining, train_segmenter
    from hipbmd.segmentation.train_data import cohort_pairs

    check_output_folder(output)
    config = UNetConfig(channels=tuple(channels), spacing_mm=spacing_mm)
    pairs = cohort_pairs(Path(cohort), cases[0], cases[1])
    if extra_weight < 1:
        raise ValueError(f"extra_weight must be at least 1, got {extra_weight}")
    sources = [(str(ct), str(labels), "hipbmd", None) for _, ct, labels in pairs] + [
        (str(spec[0]), str(spec[1]), str(spec[2]), str(spec[3]) if len(spec) > 3 else None) for spec in extra
    ]
    volumes = _training_volumes(sources, config, seed, on_load)
    volumes = volumes[: len(pairs)] + volumes[len(pairs) :] * extra_weight
    settings = SegmenterTraining(
        iterations=iterations,
        batch=batch,
        patch=patch,
        seed=seed,
        coarse_scan_probability=coarse_scans,
        cut_scan_probability=cut_scans,
    )
    record = {
        "name": Path(output).name,
        "cases": [
            {"ct": ct, "labels": labels, "table": table, **({"side_kept": side} if side else {})}
            for ct, labels, table, side in sources
        ],
        "extra_weight": extra_weight,
    }
    train_segmenter(volumes, Path(output), config, settings, record, on_step)
    manifest: dict[str, Any] = json.loads((Path(output) / "model.json").read_text())
    return manifest


def _training_volumes(
    sources: list[tuple[str, str, str, str | None]], config: Any, seed: int, on_load: ProgressCallback | None
) -> list[Any]:
    from hipbmd.segmentation.masks import import_masks
    from hipbmd.segmentation.train_data import training_volume

    volumes = []
    for done, (ct, labels, table, side) in enumerate(sources, start=1):
        hu = read_ct(ct)
        on_grid = read_labels(labels, like=hu) if table == "hipbmd" else import_masks(labels, hu, table)
        name = Path(ct).parent.name + (f" ({side} half)" if side else "")
        try:
            volume = training_volume(name, hu, on_grid, config.spacing_mm, config.classes, seed, side)
        except ValueError as error:
            raise InputError(labels, str(error)) from error
        volumes.append(volume)
        if on_load is not None:
            on_load(done, len(sources))
    return volumes


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

    check_output_file(nifti_path(output))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        volume = read_ct(like, series_uid)
        labels = import_mask_volume(source, volume, label_table)
    write_labels(labels, output)
    record = {"hipbmd_version": __version__, "ct": str(like), "labels": str(output), **labels.meta}
    return {**record, "warnings": [str(w.message) for w in caught]}
