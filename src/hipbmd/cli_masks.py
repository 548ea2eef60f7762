"""``hipbmd import-masks``: femur/pelvis masks made elsewhere → a hipbmd label map on the CT's grid."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hipbmd.cli_support import EXIT_BAD_INPUT, error_line, print_warnings, run_reporting_errors


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
