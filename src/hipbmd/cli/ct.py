"""``hipbmd calibrate`` and ``hipbmd ct-bmd``: the command line of the CT pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

if TYPE_CHECKING:
    from hipbmd.api import Calibration, RodMeasurement

from hipbmd.cli.support import EXIT_BAD_INPUT, error_line, run_reporting_errors, stderr_console

SIDE_CHOICES: dict[str, tuple[Literal["right", "left"], ...]] = {
    "both": ("right", "left"),
    "right": ("right",),
    "left": ("left",),
}


def calibrate(
    ct: Annotated[Path, typer.Argument(help="CT folder (DICOM series) or volume file, in HU.")],
    phantom: Annotated[
        str | None,
        typer.Option(help="Phantom name (e.g. 'B-MAS 200') or JSON file; default: identify it."),
    ] = None,
    slope: Annotated[
        float | None,
        typer.Option(help="Calibration slope found elsewhere, HU per mg/cm3 (with --intercept)."),
    ] = None,
    intercept: Annotated[float | None, typer.Option(help="Calibration intercept, HU (with --slope).")] = None,
    phantomless: Annotated[
        bool, typer.Option(help="Calibrate on the patient's fat and muscle (less accurate).")
    ] = False,
    effective_energy_kev: Annotated[
        float, typer.Option(min=10.0, max=150.0, help="Effective energy assumed by --phantomless, keV.")
    ] = 70.0,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Calibration JSON to write.")] = None,
    density: Annotated[
        Path | None, typer.Option(help="Write the calibrated volume (mg/cm3) as NIfTI here.")
    ] = None,
    series: Annotated[str | None, typer.Option(help="SeriesInstanceUID in a folder.")] = None,
) -> None:
    """Calibrate a CT's HU to mg/cm3: phantom rods found in the scan, a given line, or fat and muscle."""
    from rich.progress import Progress

    from hipbmd import api

    console = stderr_console()
    with Progress(transient=True, console=console, disable=not console.is_terminal) as progress:
        progress.add_task(f"calibrating {ct.name}", total=None)
        result = run_reporting_errors(
            lambda: api.calibrate(
                ct, phantom, slope, intercept, phantomless, output, density, series, effective_energy_kev
            )
        )
    _print_calibration(result)
    written = [str(p) for p in (output, density) if p is not None]
    if written:
        typer.echo(f"wrote {', '.join(written)}")


def _print_calibration(result: Calibration) -> None:
    """The rods (or references) as a table, then the line and the flags."""
    from rich.console import Console
    from rich.table import Table

    unit = "mg/cm3 HA" if result.material == "HA" else f"mg/cm3 {result.material}"
    rows = [
        _rod_cells(rod, density, residual)
        for rod, density, residual in zip(
            result.rods, result.rod_densities_mg_cm3, result.residuals_mg_cm3, strict=True
        )
    ]
    rows += [(f"{t.density_mg_cm3:.1f}", f"{t.mean_hu:.1f}", "", t.name, "") for t in result.references]
    if rows:
        title = f"{result.phantom or 'internal references'} (density and residual in {unit})"
        table = Table(title=title, title_justify="left")
        for column in ("density", "HU mean ± SD", "residual", "x, y mm", "radius mm"):
            table.add_column(column, justify="right")
        for row in rows:
            table.add_row(*row)
        Console().print(table)
    fit = f"HU = {result.slope_hu_per_mg_cm3:.4f} x density {result.intercept_hu:+.2f}"
    r = "" if result.r is None else f", r = {result.r:.5f}"
    typer.echo(f"{result.method} calibration: {fit} (slope HU per {unit}, intercept HU){r}")
    for flag in result.flags:
        typer.echo(f"note: {flag}")


def _rod_cells(rod: RodMeasurement, density_mg_cm3: float, residual_mg_cm3: float) -> tuple[str, ...]:
    placed = "" if rod.detected else " (placed)"
    return (
        f"{density_mg_cm3:g}",
        f"{rod.mean_hu:.1f} ± {rod.sd_hu:.1f}",
        f"{residual_mg_cm3:+.2f}",
        f"{rod.x_mm:.1f}, {rod.y_mm:.1f}",
        f"{rod.radius_mm:.1f}{placed}",
    )


def ct_bmd(
    ct: Annotated[Path, typer.Argument(help="CT folder (DICOM series) or volume file, in HU.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for ct_bmd.json and the pictures.")],
    labels: Annotated[
        Path | None,
        typer.Option(
            help="Label map of the CT with the femurs, or a TotalSegmentator output folder "
            "(default: segment the CT with the Bayesian U-Net)."
        ),
    ] = None,
    side: Annotated[str, typer.Option(help="right, left or both.")] = "both",
    label_table: Annotated[
        str, typer.Option(help="Label names: hipbmd, totalsegmentator_v1/v2 or a TSV.")
    ] = "hipbmd",
    phantom: Annotated[str | None, typer.Option(help="Calibration phantom name or JSON file.")] = None,
    slope: Annotated[float | None, typer.Option(help="Calibration slope, HU per mg/cm3.")] = None,
    intercept: Annotated[float | None, typer.Option(help="Calibration intercept, HU.")] = None,
    phantomless: Annotated[bool, typer.Option(help="Calibrate on fat and muscle (less accurate).")] = False,
    series: Annotated[str | None, typer.Option(help="SeriesInstanceUID in a folder.")] = None,
    model: Annotated[
        Path | None, typer.Option(help="Segmentation model folder (default: the shipped model).")
    ] = None,
) -> None:
    """CT-aBMD and vBMD of the femoral neck, total hip and proximal femur in the DXA position."""
    from hipbmd import api

    if side not in SIDE_CHOICES:
        error_line(f"--side must be right, left or both, not {side!r}")
        raise typer.Exit(EXIT_BAD_INPUT)
    sides = SIDE_CHOICES[side]
    from rich.progress import Progress

    console = stderr_console()
    with Progress(transient=True, console=console, disable=not console.is_terminal) as progress:
        task = progress.add_task(f"measuring {ct.name}", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, total=total, completed=done, description="segmenting")

        record = run_reporting_errors(
            lambda: api.ct_bmd(
                ct,
                labels,
                output,
                sides,
                label_table,
                phantom,
                slope,
                intercept,
                phantomless,
                series,
                model,
                advance,
            )
        )
    for result in record["sides"]:
        values = ", ".join(f"{k} {v:.3f} g/cm2" for k, v in result["abmd_g_cm2"].items()) or "not measured"
        typer.echo(f"{result['side']}: {values}")
        for flag in result["flags"]:
            typer.echo(f"  flag: {flag}")
    typer.echo(f"wrote {output / 'ct_bmd.json'}")
    if not any(result["measured"] for result in record["sides"]):
        raise typer.Exit(1)
