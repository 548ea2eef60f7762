"""API functions of the radiograph commands (``hipbmd train``, ``hipbmd estimate``); re-exported by
:mod:`hipbmd.api`. Torch is imported only when they run."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

CaseCallback = Callable[[int, int], None]
StepCallback = Callable[[int, int, dict[str, float]], None]


def train(
    cohort: str | Path,
    output: str | Path,
    config: str | Path | None = None,
    cases: tuple[int, int | None] | None = None,
    on_case: CaseCallback | None = None,
    on_step: StepCallback | None = None,
) -> dict[str, Any]:
    """Train a decomposition model (BMD-GAN) on a simulated cohort and write its model folder.

    Mirrors ``hipbmd train --cohort C -o model/ [--config configs/x.yaml] [--cases A:B]``. Builds the
    training pairs once (``output/pairs.npz``), trains in two stages (all bones, then the femur),
    resumes from ``output/checkpoint.pt``, fits the DXA calibration on the training cases and writes
    ``model.safetensors``, ``model.json`` and ``loss_curves.png``.

    Args:
        cohort: cohort folder (``manifest.csv``, cases with ``truth.json``).
        output: model folder to write.
        config: YAML training config (see ``configs/bmd_gan_default.yaml``); defaults otherwise.
        cases: manifest rows [first, stop) sorted by case id; overrides the config's ``cases``.
        on_case: called with (cases read, cases in all) while the pairs are built.
        on_step: called with (iteration, iterations, losses).
    """
    from hipbmd.decomposition.fit_model import fit_model, plan_from_config

    plan = plan_from_config(None if config is None else Path(config), cases)
    command = "hipbmd " + " ".join(sys.argv[1:]) if Path(sys.argv[0]).name == "hipbmd" else None
    record = {"command": command, "config": None if config is None else str(config)}
    return fit_model(Path(cohort), Path(output), plan, record, on_case, on_step)


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
    on_file: Callable[[int, int, str], None] | None = None,
) -> list[dict[str, Any]]:
    """aBMD, T-score, %YAM and categories of each hip on each radiograph.

    Mirrors ``hipbmd estimate XRAY... -o out/ [--model DIR] [--side S] [--center-mm R,C] [--yam T]``.
    Writes per radiograph ``<name>.json`` (schema ``hipbmd-estimate/1``) and ``<name>.png`` (overlay),
    and ``results.csv`` over all inputs. A file that cannot be read or measured gets a record with its
    ``error`` and the batch goes on.

    Args:
        inputs: radiograph files (DICOM, or PNG/TIFF with ``spacing_mm``).
        output_dir: folder for the records, overlays and ``results.csv``.
        model: decomposition model folder (default: the shipped one).
        localiser: hip-localiser model folder (default: the shipped one).
        samples: Monte-Carlo dropout samples of the decomposition (interval and QC).
        seed: seed of the dropout masks.
        side: only this hip ("right"/"left"), side taken as given.
        center_mm: the femoral head centre (row, col) mm at the detector from the top-left pixel centre.
        yam_table: CSV/JSON of young-adult means per ROI (device-specific) for %YAM and JOS categories.
        spacing_mm: pixel spacing for files without one (mm at the detector).
        device: torch device ("cpu"; others if available).
        on_file: called with (files done, files in all, file name).
    """
    import csv

    from hipbmd.bmd.reference import load_yam_table
    from hipbmd.bmd.report import CSV_COLUMNS, csv_rows
    from hipbmd.decomposition.model_files import load_decomposition_model
    from hipbmd.localisation.model_files import load_localiser

    if device != "cpu":
        raise ValueError(f"--device {device}: only cpu is supported by this version")
    decomposition = load_decomposition_model(None if model is None else Path(model))
    finder = load_localiser(None if localiser is None else Path(localiser))
    yam = load_yam_table(Path(yam_table)) if yam_table is not None else None
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    options = {
        "samples": samples,
        "seed": seed,
        "side": side,
        "center_mm": center_mm,
        "yam_table": str(yam_table) if yam_table else None,
    }
    records = []
    names = output_names([Path(path) for path in inputs])
    for done, (path, name) in enumerate(zip(inputs, names, strict=True), start=1):
        records.append(
            _estimate_one(Path(path), name, folder, decomposition, finder, yam, spacing_mm, options)
        )
        if on_file is not None:
            on_file(done, len(inputs), Path(path).name)
    rows = [
        row
        for record in records
        for row in (csv_rows(record) if "error" not in record else [_error_row(record)])
    ]
    partial = folder / "results.csv.partial"
    with partial.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    partial.replace(folder / "results.csv")
    return records


def output_names(paths: list[Path]) -> list[str]:
    """A distinct file stem per input: its own stem, else ``<folder>_<stem>``, else numbered."""
    stems = [path.name.split(".")[0] for path in paths]
    names = [
        f"{p.parent.name}_{stem}" if stems.count(stem) > 1 else stem
        for p, stem in zip(paths, stems, strict=True)
    ]
    return [f"{name}_{index}" if names.count(name) > 1 else name for index, name in enumerate(names, start=1)]


def _estimate_one(
    path: Path,
    stem: str,
    folder: Path,
    model: Any,
    localiser: Any,
    yam: Any,
    spacing_mm: float | None,
    options: dict[str, Any],
) -> dict[str, Any]:
    from hipbmd.bmd.estimate import EstimateSettings, estimate_hips, magnification_of
    from hipbmd.bmd.overlay import save_overlay
    from hipbmd.bmd.report import estimate_record
    from hipbmd.errors import InputError
    from hipbmd.io.radiograph import read_radiograph
    from hipbmd.io.records import write_json

    try:
        radiograph = read_radiograph(path, spacing_mm)
        settings = EstimateSettings(
            options["samples"], options["seed"], options["side"], options["center_mm"], yam
        )
        hips = estimate_hips(radiograph, model, localiser, settings)
    except (InputError, ValueError, OSError) as error:
        record: dict[str, Any] = {"schema": "hipbmd-estimate/1", "source": str(path), "error": str(error)}
        write_json(folder / f"{stem}.json", record)
        return record
    magnification = magnification_of(radiograph)[0]
    record = estimate_record(str(path), radiograph, hips, model, localiser, options, magnification)
    record["overlay"] = f"{stem}.png"
    save_overlay(
        folder / f"{stem}.png",
        radiograph,
        hips,
        model.grid,
        f"{path.name}: hipbmd {record['hipbmd_version']}",
    )
    write_json(folder / f"{stem}.json", record)
    return record


def _error_row(record: dict[str, Any]) -> dict[str, Any]:
    return {"file": record["source"], "error": record["error"]}
