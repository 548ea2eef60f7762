"""``hipbmd train``, ``hipbmd estimate`` and ``hipbmd merge-results``: the radiograph side.

Torch is imported only when they run."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hipbmd.io.output_paths import check_output_file, check_output_folder

if TYPE_CHECKING:
    from hipbmd.bmd.record import EstimateRecord

CaseCallback = Callable[[int, int], None]
StepCallback = Callable[[int, int, dict[str, float]], None]
FileCallback = Callable[[int, int, str, str], None]


def train(
    cohort: str | Path | Sequence[str | Path],
    output: str | Path,
    config: str | Path | None = None,
    cases: tuple[int, int | None] | None = None,
    on_case: CaseCallback | None = None,
    on_step: StepCallback | None = None,
    case_ids: Sequence[str] | None = None,
    register: bool = False,
    init: str | Path | None = None,
    calibration_cohort: str | Path | Sequence[str | Path] | None = None,
    localiser: str | Path | None = None,
    on_calibration_case: CaseCallback | None = None,
) -> dict[str, Any]:
    """Train a decomposition model (BMD-GAN) on a simulated cohort and write its model folder.

    Mirrors ``hipbmd train --cohort C [--cohort C2 …] -o model/ [--config configs/x.yaml] [--cases A:B]
    [--init DIR] [--calibration-cohort K]``.
    Builds the training pairs once (``output/pairs.npz``), trains in two stages (all bones, then the femur),
    resumes from ``output/checkpoint.pt``, fits the DXA calibration on the training cases and writes
    ``model.safetensors``, ``model.json`` and ``loss_curves.png``. With a calibration cohort its last stage
    calibrates the intervals there (:func:`calibrate_intervals`).

    Args:
        cohort: cohort folder (``manifest.csv``, cases with ``truth.json``), or several: the pairs of
            each (``cases`` rows of each) are trained on together.
        output: model folder to write.
        config: YAML training config (see ``configs/bmd_gan_default.yaml``); defaults otherwise.
        cases: manifest rows [first, stop) sorted by case id; overrides the config's ``cases``.
        case_ids: exactly these cases instead (not with ``cases``); overrides the config's ``cases``.
        on_case: called with (cases read, cases in all) while the pairs are built.
        on_step: called with (iteration, iterations, losses).
        register: make the pairs by registering each case's CT to its radiograph instead of from the
            simulator's truth (``--register``: a site's cohort; see
            :mod:`hipbmd.decomposition.registered_pairs`), each case kept in ``output/registered/``.
        init: a model folder (same generator and grid) whose weights start the generator, to train an
            existing model further (set the config's stage-1 iterations to 0 to go on with the femur).
        calibration_cohort: a simulated cohort held out of training (seeds disjoint from the training
            and benchmark cohorts), or several, to calibrate the intervals on; without it the model's
            categories are withheld (``intervals_not_calibrated``).
        localiser: the hip-localiser folder the calibration runs with (default: the shipped one).
        on_calibration_case: called with (cases done, cases) while the calibration cohort is measured.
    """
    from dataclasses import replace

    from hipbmd.bmd.dxa_calibration import calibrate_to_dxa
    from hipbmd.decomposition.fit_model import fit_model, plan_from_config

    check_output_folder(output)
    plan = plan_from_config(None if config is None else Path(config), cases, case_ids)
    plan = replace(plan, register=register)
    record = {"command": _command_line(), "config": None if config is None else str(config)}
    start = None if init is None else Path(init)
    cohorts = [Path(cohort)] if isinstance(cohort, str | Path) else [Path(c) for c in cohort]
    manifest = fit_model(cohorts, Path(output), plan, record, on_case, on_step, start, calibrate_to_dxa)
    if calibration_cohort is None:
        return manifest
    calibrate_intervals(output, calibration_cohort, localiser, on_case=on_calibration_case)
    return _manifest(output)


def calibrate_intervals(
    model: str | Path,
    cohort: str | Path | Sequence[str | Path],
    localiser: str | Path | None = None,
    samples: int = 8,
    on_case: CaseCallback | None = None,
) -> dict[str, Any]:
    """Calibrate an existing model's 95 % intervals, DXA lines and out-of-distribution threshold on a
    cohort held out of its training, and store them in its ``model.json``; returns the stored calibration.

    Mirrors ``hipbmd train --calibrate-only -o MODEL --calibration-cohort K``
    (:mod:`hipbmd.bmd.calibration_cohort`, :mod:`hipbmd.bmd.interval_calibration`).

    Args:
        model: the model folder to calibrate (its weights are not changed).
        cohort: the calibration cohort (simulated: ``manifest.csv`` and truth per case), or several,
            their hips calibrated on together.
        localiser: the hip-localiser folder ``estimate`` will run with (default: the shipped one).
        samples: Monte-Carlo samples, as ``estimate`` will take them.
        on_case: called with (cases done, cases).
    """
    from hipbmd.bmd.calibration_cohort import calibrate_model_intervals
    from hipbmd.localisation.model_files import load_localiser

    finder = load_localiser(None if localiser is None else Path(localiser))
    cohorts = [Path(cohort)] if isinstance(cohort, str | Path) else [Path(c) for c in cohort]
    calibrate_model_intervals(Path(model), cohorts, finder, samples, on_case)
    return dict(_manifest(model)["interval_calibration"])


def _manifest(model: str | Path) -> dict[str, Any]:
    import json

    manifest: dict[str, Any] = json.loads((Path(model) / "model.json").read_text())
    return manifest


def _command_line() -> str | None:
    """The ``hipbmd`` command being run, its path arguments by their names only (no folder of this
    machine is recorded); None when not run as ``hipbmd``."""
    if Path(sys.argv[0]).name != "hipbmd":
        return None
    words = [Path(word).name if Path(word).is_absolute() else word for word in sys.argv[1:]]
    return "hipbmd " + " ".join(words)


def estimate(
    inputs: Sequence[str | Path],
    output_dir: str | Path,
    model: str | Path | None = None,
    localiser: str | Path | None = None,
    samples: int = 8,
    seed: int = 0,
    side: str | None = None,
    center_mm: tuple[float, float] | None = None,
    yam_table: str | Path | None = None,
    spacing_mm: float | None = None,
    device: str = "cpu",
    on_file: FileCallback | None = None,
    manifest: str | Path | None = None,
    part: str | tuple[int, int] | None = None,
    overwrite: bool = False,
    dicom: bool = False,
    category_confidence: float = 0.90,
) -> list[EstimateRecord]:
    """aBMD, T-score, %YAM and categories of each hip on each radiograph; resumable and shardable.

    Mirrors ``hipbmd estimate [XRAY|FOLDER]... [--manifest M.csv] -o out/ [--part k/N] [--overwrite]
    [--model DIR] [--side S] [--center-mm R,C] [--yam T] [--category-confidence P]``. Writes per
    radiograph ``<name>.json`` (schema ``hipbmd-estimate/3``) and ``<name>.png`` (overlay), then rebuilds
    ``results.csv`` from all records in ``output_dir``. Every file gets a record: a file that cannot be
    read or processed one with its ``error``, a file outside the bounds of
    :mod:`hipbmd.io.radiograph_bounds` one with the reason it was ``refused``; nothing raised while
    estimating one file stops the batch. Inputs, record names and parts: :mod:`hipbmd.bmd.batch_inputs`;
    what counts as finished (and is skipped unless ``overwrite``):
    :meth:`hipbmd.bmd.record.EstimateRecord.is_finished`.

    Args:
        inputs: radiograph files (DICOM, or PNG/TIFF with ``spacing_mm``) and folders of them.
        output_dir: folder for the records, overlays and ``results.csv``.
        model: decomposition model folder (default: the shipped one).
        localiser: hip-localiser model folder (default: the shipped one).
        samples: Monte-Carlo dropout samples of the decomposition (interval and QC).
        seed: seed of the dropout masks.
        side: only this hip ("right"/"left"), side taken as given.
        center_mm: the femoral head centre (row, col) mm at the detector from the top-left pixel centre.
        yam_table: CSV/JSON of young-adult means per ROI (device-specific) for %YAM and JOS categories.
        spacing_mm: pixel spacing for files without one (mm at the detector).
        device: torch device the networks run on ("cpu", "cuda", "cuda:1", "mps"); an error before any
            work when this machine has no such device.
        on_file: called with (files handled, files in this part, record name, status), status being
            "done", "skipped" (finished before) or "failed" (a record with an error).
        manifest: CSV listing radiographs in a ``file`` or ``xray`` column (relative to its folder).
        part: ``"k/N"`` or (k, N): only every N-th input from the k-th (1-based), for parallel runs.
        overwrite: redo every file, finished or not.
        dicom: also write per DICOM radiograph a Comprehensive SR measurement report (TID 1500,
            ``<name>_sr.dcm``) and the overlay as a Secondary Capture (``<name>_sc.dcm``), in the
            source's study (docs/dicom.md).
        category_confidence: the probability (0.5–1) a hip's category must reach to be given.

    Returns:
        The records of this part's inputs (sorted by path), read back for the files skipped.
    """
    from hipbmd.bmd.batch import Batch, named_inputs
    from hipbmd.bmd.record import read_records
    from hipbmd.bmd.record_parts import EstimateOptions
    from hipbmd.bmd.reference import load_yam_table
    from hipbmd.bmd.results_table import write_results_csv
    from hipbmd.decomposition.model_files import load_decomposition_model
    from hipbmd.localisation.model_files import load_localiser
    from hipbmd.torch_device import resolve_device

    if side not in (None, "right", "left"):
        raise ValueError(f"side must be right or left, not {side!r}")
    if not 0.5 < category_confidence <= 1.0:
        raise ValueError(f"--category-confidence must lie in (0.5, 1], not {category_confidence}")
    if spacing_mm is not None and not (math.isfinite(spacing_mm) and spacing_mm > 0):
        raise ValueError(f"--spacing-mm must be a positive finite number of mm, not {spacing_mm}")
    torch_device = resolve_device(device)
    folder = check_output_folder(output_dir)
    todo = named_inputs(inputs, manifest, part, folder)
    decomposition = load_decomposition_model(None if model is None else Path(model))
    decomposition.generator.to(torch_device)
    finder = load_localiser(None if localiser is None else Path(localiser)).to(torch_device)
    yam = load_yam_table(Path(yam_table)) if yam_table is not None else None
    folder.mkdir(parents=True, exist_ok=True)
    yam_name = str(yam_table) if yam_table else None
    options = EstimateOptions(samples, seed, side, center_mm, yam_name, spacing_mm, category_confidence)
    batch = Batch(folder, decomposition, finder, yam, options, overwrite, dicom)
    records = []
    for done, (path, name) in enumerate(todo, start=1):
        record, status, written = batch.run(path, name)
        records.append(record)
        if on_file is not None:
            on_file(done, len(todo), written, status)
    write_results_csv(folder / "results.csv", (record for _, record in read_records(folder)))
    return records


def merge_results(folders: Sequence[str | Path], output: str | Path) -> list[EstimateRecord]:
    """One ``results.csv`` over the estimate records of several output folders (e.g. of parts).

    Mirrors ``hipbmd merge-results OUT1 OUT2 ... -o merged.csv``. Rows follow the folders' order, then
    the record names; the CSV is replaced in one rename. Returns the records merged.

    Raises:
        InputError: a folder is missing or holds no estimate records.
    """
    from hipbmd.bmd.record import read_records
    from hipbmd.bmd.results_table import write_results_csv
    from hipbmd.errors import InputError

    records = []
    for folder in (Path(f) for f in folders):
        found = read_records(folder) if folder.is_dir() else []
        if not found:
            raise InputError(folder, "holds no records of 'hipbmd estimate'")
        records += [record for _, record in found]
    target = check_output_file(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_results_csv(target, records)
    return records
