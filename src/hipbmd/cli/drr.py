"""``hipbmd drr`` and ``hipbmd register``: quantitative DRRs of a CT and the pose matching a radiograph."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hipbmd.cli.support import print_warnings, run_reporting_errors, stderr_console


def drr(
    ct: Annotated[Path, typer.Argument(help="CT folder (DICOM series) or volume file.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output .png, .npy or .nii.gz (+ .json).")],
    labels: Annotated[Path | None, typer.Option(help="Label map on the CT's grid.")] = None,
    label: Annotated[
        list[str] | None, typer.Option(help="Label value or name to render (repeatable).")
    ] = None,
    label_table: Annotated[
        str | None, typer.Option(help="Names of labels: totalsegmentator_v1, totalsegmentator_v2 or a TSV.")
    ] = None,
    per_label: Annotated[bool, typer.Option(help="One image per label.")] = False,
    density: Annotated[
        bool, typer.Option("--density", help="The volume holds mg/cm3 (output g/cm2), not HU (output mu*l).")
    ] = False,
    series: Annotated[str | None, typer.Option(help="SeriesInstanceUID in a folder.")] = None,
    pose: Annotated[
        Path | None, typer.Option(help="Pose JSON (from 'hipbmd register' or written by hand).")
    ] = None,
    rotation_deg: Annotated[
        tuple[float, float, float], typer.Option(help="Rotation about world x (L-R), y (A-P), z (S-I), deg.")
    ] = (0.0, 0.0, 0.0),
    translation_mm: Annotated[
        tuple[float, float, float], typer.Option(help="Patient shift in world RAS mm.")
    ] = (0.0, 0.0, 0.0),
    isocenter_mm: Annotated[
        tuple[float, float, float] | None,
        typer.Option(help="World point on the central ray (default: centre)."),
    ] = None,
    sod_mm: Annotated[
        float | None, typer.Option(help="Source to isocenter distance (default SDD - 150).")
    ] = None,
    sdd_mm: Annotated[
        float | None, typer.Option(help="Source to detector distance (default: the pose file's, else 1100).")
    ] = None,
    size: Annotated[
        tuple[int, int] | None,
        typer.Option(help="Detector rows and columns (default: pose file's, else 256 256)."),
    ] = None,
    spacing_mm: Annotated[
        float | None, typer.Option(help="Detector pixel spacing, mm (default: pose file's, else 1.6).")
    ] = None,
    parallel: Annotated[
        bool, typer.Option(help="Parallel projection (as in DXA) instead of a point source.")
    ] = False,
) -> None:
    """Render a quantitative DRR of a CT: attenuation mu*l from HU, or g/cm2 from a density volume."""
    from hipbmd import api

    request = api.DRRRequest(
        ct=ct,
        input_unit="mg/cm3" if density else "HU",
        series_uid=series,
        labels=labels,
        label=list(label or []),
        label_table=label_table,
        per_label=per_label,
        parallel=parallel,
    )
    request.rotation_deg, request.translation_mm = rotation_deg, translation_mm
    request.isocenter_mm, request.sod_mm = isocenter_mm, sod_mm
    detector = api.DetectorChoice(size, spacing_mm, sdd_mm)
    record = run_reporting_errors(lambda: api.drr(request, output, pose, detector))
    print_warnings(record)
    typer.echo(
        f"wrote {', '.join(record['files'])} (unit {record['unit']}, max {record['value_range'][1]:.4g})"
    )


def register(
    xray: Annotated[Path, typer.Option(help="The radiograph (DICOM or image with --spacing-mm).")],
    ct: Annotated[Path, typer.Option(help="The CT: DICOM folder or volume file (HU).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Pose JSON to write.")],
    labels: Annotated[Path | None, typer.Option(help="Label map on the CT's grid.")] = None,
    structure: Annotated[
        list[str] | None, typer.Option(help="Label value or name to register on (repeatable).")
    ] = None,
    label_table: Annotated[
        str | None, typer.Option(help="Label names: totalsegmentator_v1/v2 or a TSV.")
    ] = None,
    init: Annotated[Path | None, typer.Option(help="Starting pose JSON (default: AP, centred).")] = None,
    spacing_mm: Annotated[
        float | None, typer.Option(help="Radiograph pixel spacing if the file lacks it.")
    ] = None,
    measure: Annotated[str, typer.Option(help="Similarity: mapped, combined, ncc, gc or poly.")] = "mapped",
    series: Annotated[str | None, typer.Option(help="SeriesInstanceUID in a folder.")] = None,
    interior_fraction: Annotated[
        float, typer.Option(help="Compare only where the DRR exceeds this fraction of its maximum (0: all).")
    ] = 0.0,
) -> None:
    """Rigid 2D/3D registration of a radiograph to a CT; writes the pose and a report as JSON."""
    from rich.progress import Progress

    from hipbmd import api

    with Progress(transient=True, console=stderr_console()) as progress:
        task = progress.add_task("registering (coarse to fine)", total=None)

        def advance(done: int, total: int, summary: dict[str, float]) -> None:
            description = f"level {done}/{total}: similarity {summary['similarity']:.4f}"
            progress.update(task, total=total, completed=done, description=description)

        record = run_reporting_errors(
            lambda: api.register(
                xray,
                ct,
                output,
                labels,
                list(structure or []),
                label_table,
                init,
                spacing_mm,
                measure,
                series,
                interior_fraction,
                advance,
            )
        )
    print_warnings(record)
    report = record["report"]
    state = "converged" if report["converged"] else "NOT converged"
    typer.echo(f"wrote {output}: similarity {report['similarity']:.4f} ({state}), {report['seconds']:.1f} s")
    if not report["converged"]:
        raise typer.Exit(1)
