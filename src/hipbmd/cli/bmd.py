"""``hipbmd train``, ``hipbmd estimate`` and ``hipbmd merge-results``: the radiograph side."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from hipbmd.api import EstimateRecord, ROIMeasurement

from hipbmd.cli.support import (
    EXIT_BAD_INPUT,
    EXIT_SOME_FAILED,
    LOG_EVERY,
    error_line,
    parse_rows,
    run_reporting_errors,
    stderr_console,
)


def train(
    output: Annotated[Path, typer.Option("-o", "--output", help="Model folder to write (resumes).")],
    cohort: Annotated[
        list[Path] | None,
        typer.Option(
            help="Simulated cohort folder (manifest.csv, truth per case); repeat to train on several."
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="YAML training config, e.g. configs/bmd_gan_default.yaml.")
    ] = None,
    cases: Annotated[
        str | None, typer.Option(help="Manifest rows A:B to train on (overrides the config).")
    ] = None,
    register: Annotated[
        bool,
        typer.Option(
            help="Make the pairs by registering each CT to its radiograph (a site's cohort, no truth needed)."
        ),
    ] = False,
    init: Annotated[
        Path | None,
        typer.Option(help="Start from this model folder's generator weights (same generator and grid)."),
    ] = None,
    calibration_cohort: Annotated[
        list[Path] | None,
        typer.Option(
            help="Cohort held out of training to calibrate the intervals on (the last stage); repeatable."
        ),
    ] = None,
    calibrate_only: Annotated[
        bool,
        typer.Option(
            help="Only calibrate the intervals of the existing model in -o on --calibration-cohort."
        ),
    ] = False,
    localiser: Annotated[
        Path | None, typer.Option(help="Hip-localiser folder the calibration runs with (default: shipped).")
    ] = None,
) -> None:
    """Train the decomposition network (BMD-GAN): radiograph crop → femur DRR, with its DXA calibration
    and, given a calibration cohort, its calibrated intervals."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from hipbmd import api

    if calibrate_only:
        if cohort or config or cases or init or register:
            error_line(
                "--calibrate-only trains nothing: give no --cohort, --config, --cases, --init or --register"
            )
            raise typer.Exit(EXIT_BAD_INPUT)
        _calibrate_only(output, calibration_cohort, localiser)
        return
    if not cohort:
        error_line("no training cohort: give --cohort C (or --calibrate-only with --calibration-cohort K)")
        raise typer.Exit(EXIT_BAD_INPUT)
    rows = parse_rows(cases) if cases is not None else None
    console = stderr_console()
    columns = (TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, disable=not console.is_terminal) as progress:
        reading = progress.add_task("building training pairs", total=None)
        training = progress.add_task("training", total=None, visible=False)

        def read(done: int, total: int) -> None:
            progress.update(reading, total=total, completed=done)
            if not console.is_terminal and done == total:
                console.print(f"read {total} cases")

        def stepped(iteration: int, total: int, losses: dict[str, float]) -> None:
            stage = "bones" if losses.get("stage", 0) < 1 else "femur"
            text = f"training: L1 {losses['l1_g_cm2']:.4f} g/cm2, GC {losses['gc']:.3f}"
            progress.update(training, total=total, completed=iteration, visible=True, description=text)
            if not console.is_terminal and iteration % LOG_EVERY == 0:
                console.print(f"iteration {iteration}/{total} ({stage}): {text}")

        calibrating = progress.add_task("calibrating intervals", total=None, visible=False)

        def calibrated(done: int, total: int) -> None:
            progress.update(calibrating, total=total, completed=done, visible=True)

        manifest = run_reporting_errors(
            lambda: api.train(
                cohort,
                output,
                config,
                rows,
                read,
                stepped,
                register=register,
                init=init,
                calibration_cohort=calibration_cohort or None,
                localiser=localiser,
                on_calibration_case=calibrated,
            )
        )
    fits = manifest["metrics"]["training_calibration"]
    summary = ", ".join(
        f"{roi} r {fit['r']:.3f} (n {fit['n']})" if "r" in fit else f"{roi} not fitted ({fit['error']})"
        for roi, fit in fits.items()
    )
    typer.echo(f"wrote {output}: DXA calibration on the training cases {summary}")
    if "interval_calibration" in manifest:
        typer.echo(_calibration_summary(manifest["interval_calibration"]))
    else:
        typer.echo("intervals not calibrated (no --calibration-cohort): its categories will be withheld")


def _calibrate_only(output: Path, cohort: list[Path] | None, localiser: Path | None) -> None:
    """``hipbmd train --calibrate-only``: the interval calibration of an existing model."""
    from rich.progress import Progress

    from hipbmd import api

    if not cohort:
        error_line("--calibrate-only needs --calibration-cohort K")
        raise typer.Exit(EXIT_BAD_INPUT)
    console = stderr_console()
    with Progress(transient=True, console=console, disable=not console.is_terminal) as progress:
        task = progress.add_task("calibrating intervals", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, total=total, completed=done)

        calibration = run_reporting_errors(
            lambda: api.calibrate_intervals(output, cohort, localiser, on_case=advance)
        )
    typer.echo(_calibration_summary(calibration))


def _calibration_summary(calibration: dict[str, object]) -> str:
    """One line: the calibration's hips and each region's line r and median half-width."""
    regions = calibration.get("regions", {})
    assert isinstance(regions, dict)
    parts = [
        f"{roi} r {region['line']['r']:.3f}, conformal quantile {region['quantile']:.2f}"
        for roi, region in regions.items()
    ]
    return f"intervals calibrated on {calibration.get('hips')} hips: " + "; ".join(parts)


def estimate(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Folder for the JSON records, overlays and results.csv.")
    ],
    xrays: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Hip or pelvis radiographs (DICOM; PNG/TIFF with --spacing-mm) or folders of them."
        ),
    ] = None,
    manifest: Annotated[
        Path | None, typer.Option(help="CSV with a file (or xray) column, paths relative to it.")
    ] = None,
    part: Annotated[
        str | None, typer.Option(help="Only part k of N (k/N, 1-based): every N-th input from the k-th.")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Redo files whose records are finished.")] = False,
    model: Annotated[
        Path | None, typer.Option(help="Decomposition model folder (default: the shipped model).")
    ] = None,
    localiser: Annotated[
        Path | None, typer.Option(help="Hip-localiser model folder (default: the shipped one).")
    ] = None,
    side: Annotated[str | None, typer.Option(help="Measure only this hip: right or left.")] = None,
    center_mm: Annotated[
        str | None, typer.Option(help="Femoral head centre ROW,COL in mm at the detector (skips detection).")
    ] = None,
    yam: Annotated[
        Path | None, typer.Option(help="Young-adult-mean table (CSV/JSON) for %YAM and JOS categories.")
    ] = None,
    spacing_mm: Annotated[
        float | None, typer.Option(help="Pixel spacing for files that lack one, mm.")
    ] = None,
    samples: Annotated[int, typer.Option(min=1, max=64, help="Monte-Carlo dropout samples.")] = 8,
    seed: Annotated[int, typer.Option(help="Seed of the dropout masks.")] = 0,
    device: Annotated[
        str, typer.Option(help="Torch device for the networks: cpu, cuda, cuda:N or mps.")
    ] = "cpu",
    dicom: Annotated[
        bool,
        typer.Option(help="Also write a DICOM SR (TID 1500) and the overlay as DICOM SC per DICOM input."),
    ] = False,
    category_confidence: Annotated[
        float,
        typer.Option(min=0.51, max=1.0, help="Probability a hip's WHO category must reach to be given."),
    ] = 0.90,
) -> None:
    """aBMD (DXA-equivalent), T-score, %YAM and category of each hip, with an overlay of what was measured.

    Finished records in the output folder are skipped (--overwrite redoes them); results.csv is rebuilt
    from every record in the folder, so parts (--part k/N) may run into one folder.
    """
    from rich.progress import Progress

    from hipbmd import api

    if side not in (None, "right", "left"):
        error_line(f"--side must be right or left, not {side!r}")
        raise typer.Exit(EXIT_BAD_INPUT)
    if not xrays and manifest is None:
        error_line("no inputs: give radiographs or folders, or --manifest M.csv")
        raise typer.Exit(EXIT_BAD_INPUT)
    centre = _centre(center_mm) if center_mm else None
    console = stderr_console()
    statuses: list[str] = []
    with Progress(transient=True, console=console, disable=not console.is_terminal) as progress:
        task = progress.add_task("estimating", total=None)

        def advance(done: int, total: int, name: str, status: str) -> None:
            statuses.append(status)
            progress.update(task, total=total, completed=done, description=f"estimating ({name})")

        records = run_reporting_errors(
            lambda: api.estimate(
                xrays or [],
                output,
                model=model,
                localiser=localiser,
                samples=samples,
                seed=seed,
                side=side,
                center_mm=centre,
                yam_table=yam,
                spacing_mm=spacing_mm,
                device=device,
                on_file=advance,
                manifest=manifest,
                part=part,
                overwrite=overwrite,
                dicom=dicom,
                category_confidence=category_confidence,
            )
        )
    failed = [record for record in records if record.error is not None]
    for record in failed:
        error_line(f"{record.source}: {record.error}")
    if records and len(failed) == len(records):  # no input could be read at all
        raise typer.Exit(EXIT_BAD_INPUT)
    _print_records([r for r, status in zip(records, statuses, strict=True) if status == "done"])
    hips = [hip for record in records for hip in record.hips]
    measured = sum(hip.measured for hip in hips)
    counts = {status: statuses.count(status) for status in ("done", "skipped", "failed")}
    refused = sum(record.refused is not None for record in records)
    no_hip = sum(record.no_hip_found is not None for record in records)
    typer.echo(
        f"wrote {output / 'results.csv'}: {len(records)} files, {counts['done']} done, "
        f"{counts['skipped']} skipped (finished before), {counts['failed']} failed; "
        f"{refused} refused, {no_hip} without a hip found; {measured} of {len(hips)} hips measured"
    )
    if failed:
        raise typer.Exit(EXIT_SOME_FAILED)


def _print_records(records: list[EstimateRecord]) -> None:
    """One line per hip (and per flag) of each record, or why the file has none."""
    for record in records:
        for note in record.input_notes:
            typer.echo(f"{record.source}: note: {note}")
        if record.reason is not None:
            typer.echo(f"{record.source}: {record.reason}")
        for hip in record.hips:
            values = ", ".join(_shown(m) for m in hip.measurements) or "not measured"
            typer.echo(f"{record.source}: {hip.side}: {values}")
            if hip.category is not None:
                typer.echo(f"  {hip.category.describe()}")
            for flag in hip.flags:
                typer.echo(f"  flag: {flag}")


def merge_results(
    folders: Annotated[list[Path], typer.Argument(help="Output folders of 'hipbmd estimate' (e.g. parts).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The merged results CSV to write.")],
) -> None:
    """One results CSV over the records of several estimate folders (run after parts on separate disks)."""
    from hipbmd import api

    records = run_reporting_errors(lambda: api.merge_results(folders, output))
    failed = sum(record.error is not None for record in records)
    typer.echo(f"wrote {output}: {len(records)} records from {len(folders)} folders ({failed} failed files)")


def _shown(measurement: ROIMeasurement) -> str:
    if measurement.abmd_g_cm2 is None:
        return f"{measurement.roi} withheld"
    low, high = measurement.interval_g_cm2 or (math.nan, math.nan)
    interval = f"[{low:.3f}–{high:.3f}]"
    return f"{measurement.roi} {measurement.abmd_g_cm2:.3f} g/cm2 {interval} (T {measurement.t_score})"


def _centre(spec: str) -> tuple[float, float]:
    try:
        row, col = (float(part) for part in spec.split(","))
    except ValueError:
        error_line(f"--center-mm {spec!r}: expected ROW,COL in mm, e.g. 120.5,98.0")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    return row, col
