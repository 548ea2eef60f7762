"""``hipbmd segment``, ``hipbmd seg-train`` and ``hipbmd import-masks``: femur and pelvis labels of a CT."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hipbmd.cli.support import (
    EXIT_BAD_INPUT,
    LOG_EVERY,
    error_line,
    parse_rows,
    print_warnings,
    run_reporting_errors,
    stderr_console,
)


def segment(
    ct: Annotated[Path, typer.Argument(help="CT folder (DICOM series) or volume file, in HU.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Label map to write (.nii.gz).")],
    uncertainty: Annotated[
        Path | None, typer.Option(help="Also write the voxelwise uncertainty (0-1) here (.nii.gz).")
    ] = None,
    model: Annotated[Path | None, typer.Option(help="Model folder (default: the shipped model).")] = None,
    samples: Annotated[int, typer.Option(min=1, max=64, help="Monte-Carlo dropout passes.")] = 6,
    seed: Annotated[int, typer.Option(help="Seed of the dropout masks.")] = 0,
    series: Annotated[str | None, typer.Option(help="SeriesInstanceUID in a folder.")] = None,
) -> None:
    """Segment both femurs (with sides) and the pelvis with the Bayesian U-Net; labels + uncertainty."""
    from rich.progress import Progress

    from hipbmd import api

    console = stderr_console()
    with Progress(transient=True, console=console, disable=not console.is_terminal) as progress:
        task = progress.add_task(f"segmenting {ct.name}", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, total=total, completed=done)

        record = run_reporting_errors(
            lambda: api.segment(ct, output, uncertainty, model, samples, seed, series, advance)
        )
    for side, femur in record["femurs"].items():
        typer.echo(f"{side} femur: {femur['volume_ml']:.1f} mL, uncertainty {femur['uncertainty_score']:.3f}")
        for flag in femur["flags"]:
            typer.echo(f"  flag: {flag}")
    for flag in record["flags"]:
        typer.echo(f"flag: {flag}")
    typer.echo(f"wrote {output} in {record['seconds']:.1f} s")
    if not record["femurs"]:
        raise typer.Exit(1)


def seg_train(
    cohort: Annotated[Path, typer.Option(help="Cohort folder with manifest.csv and label maps.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Model folder to write (resumes).")],
    cases: Annotated[str, typer.Option(help="Manifest rows A:B (sorted by case id) to train on.")] = ":",
    iterations: Annotated[int, typer.Option(min=1, help="Training iterations (one batch each).")] = 1500,
    batch: Annotated[int, typer.Option(min=1, help="Patches per batch.")] = 4,
    patch: Annotated[int, typer.Option(min=16, help="Patch edge in working voxels (multiple of 8).")] = 48,
    spacing_mm: Annotated[float, typer.Option(min=0.5, max=4.0, help="Model voxel size, mm.")] = 2.0,
    seed: Annotated[int, typer.Option(help="Seed of weights, patches and augmentation.")] = 0,
    extra: Annotated[
        list[str] | None,
        typer.Option(
            help="More training data as CT,LABELS,TABLE[,SIDE] (e.g. a TotalSegmentator file; SIDE right or "
            "left keeps only that half of the patient, the other held out), repeatable."
        ),
    ] = None,
    extra_weight: Annotated[
        int, typer.Option(min=1, help="Draw each --extra CT this many times as often as a cohort case.")
    ] = 1,
    coarse_scans: Annotated[
        float,
        typer.Option(
            min=0.0, max=1.0, help="Share of patches made to look like thicker-slice scans (e.g. 0.5)."
        ),
    ] = 0.0,
    cut_scans: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of patches in which the scan ends (e.g. 0.2).")
    ] = 0.0,
) -> None:
    """Train the Bayesian U-Net on labelled CTs (a simulated cohort and any extra labelled CTs)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from hipbmd import api

    rows = parse_rows(cases)
    extras = [_extra(spec) for spec in extra or []]
    columns = (TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn())
    console = stderr_console()
    with Progress(*columns, console=console, disable=not console.is_terminal) as progress:
        loading = progress.add_task("loading cases", total=None)
        training = progress.add_task("training", total=iterations, visible=False)

        def loaded(done: int, total: int) -> None:
            progress.update(loading, total=total, completed=done)
            if not console.is_terminal and done == total:
                console.print(f"loaded {total} cases")

        def stepped(iteration: int, loss: float) -> None:
            text = f"training, loss {loss:.3f}"
            progress.update(training, completed=iteration, visible=True, description=text)
            if not console.is_terminal and iteration % LOG_EVERY == 0:
                console.print(f"iteration {iteration}/{iterations}: loss {loss:.4f}")

        manifest = run_reporting_errors(
            lambda: api.seg_train(
                cohort,
                output,
                rows,
                iterations,
                batch,
                patch,
                seed,
                spacing_mm,
                extra=extras,
                on_load=loaded,
                on_step=stepped,
                coarse_scans=coarse_scans,
                cut_scans=cut_scans,
                extra_weight=extra_weight,
            )
        )
    final = manifest["training"]["final_loss"]
    typer.echo(f"wrote {output} (final loss {final}, sha256 {manifest['weights']['sha256'][:12]}…)")


def _extra(spec: str) -> tuple[str, str, str] | tuple[str, str, str, str]:
    parts = spec.split(",")
    if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] not in ("right", "left")):
        error_line(f"--extra {spec!r}: expected CT,LABELS,TABLE or CT,LABELS,TABLE,right|left")
        raise typer.Exit(EXIT_BAD_INPUT)
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else (parts[0], parts[1], parts[2], parts[3])


def import_masks(
    source: Annotated[
        Path, typer.Argument(help="TotalSegmentator output folder (one mask per structure) or a label file.")
    ],
    like: Annotated[Path, typer.Option(help="The CT (DICOM folder or volume file) whose grid to use.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Label map to write (.nii.gz).")],
    label_table: Annotated[
        str | None,
        typer.Option(help="Names of a label file's values: totalsegmentator_v1/v2, hipbmd or a TSV."),
    ] = None,
    value: Annotated[
        list[str] | None,
        typer.Option(help="A label file's value of a structure, e.g. femur_right=3 (repeatable)."),
    ] = None,
    series: Annotated[str | None, typer.Option(help="SeriesInstanceUID in a CT folder.")] = None,
) -> None:
    """Import masks (TotalSegmentator or any label map) as hipbmd labels on the CT's grid."""
    from hipbmd import api

    if value and label_table is not None:
        error_line("--value and --label-table exclude each other")
        raise typer.Exit(EXIT_BAD_INPUT)
    table = _parse_values(value) if value else label_table
    record = run_reporting_errors(lambda: api.import_masks(source, like, output, table, series))
    print_warnings(record)
    found = ", ".join(f"{name} {count}" for name, count in record["structures_voxels"].items())
    resampled = " (resampled to the CT grid)" if record["resampled"] else ""
    typer.echo(f"wrote {output}: {found} voxels{resampled}")


def _parse_values(specs: list[str]) -> dict[str, int]:
    """``["femur_right=3", …]`` → ``{"femur_right": 3, …}``; a malformed spec ends the command."""
    values = {}
    for spec in specs:
        name, _, number = spec.partition("=")
        if not number.strip().isdigit():
            error_line(f"--value {spec!r}: expected NAME=VALUE, e.g. femur_right=3")
            raise typer.Exit(EXIT_BAD_INPUT)
        values[name.strip()] = int(number)
    return values
