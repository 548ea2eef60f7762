"""The ``hipbmd`` command line: a thin layer over :mod:`hipbmd.api`.

Heavy modules (numpy, pydicom, torch) are imported inside the commands so that ``--help`` is fast.
Bad input ends with one line on stderr naming the file and the problem, and exit code 2;
``--debug`` adds the traceback.
"""

from __future__ import annotations

import json
import sys
import traceback
import warnings
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from hipbmd import __version__

EXIT_BAD_INPUT = 2
EXIT_INTERNAL_ERROR = 1

app = typer.Typer(
    name="hipbmd",
    help="Areal BMD of the proximal femur from a hip radiograph. A research tool, not a medical device.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
_state = {"debug": False}


class InputKindOption(str, Enum):
    """Values of ``--kind``."""

    auto = "auto"
    ct = "ct"
    labels = "labels"
    radiograph = "radiograph"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hipbmd {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """hipbmd: bone mineral density of the proximal femur from a plain hip X-ray."""
    _state["debug"] = debug


def _error_line(message: str) -> None:
    typer.echo(f"hipbmd: error: {message}", err=True)


@app.command()
def info(
    paths: Annotated[list[Path], typer.Argument(help="CT folders, volume files or radiographs.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    series: Annotated[
        str | None, typer.Option("--series", help="SeriesInstanceUID to read from a folder.")
    ] = None,
    spacing_mm: Annotated[
        float | None,
        typer.Option("--spacing-mm", min=1e-6, help="Pixel spacing (mm) to assume for radiographs."),
    ] = None,
    kind: Annotated[
        InputKindOption,
        typer.Option("--kind", help="What the inputs are; 'auto' detects it.", case_sensitive=False),
    ] = InputKindOption.auto,
) -> None:
    """Show what hipbmd reads from each input: kind, shape, spacing and its source, orientation, ranges."""
    from hipbmd import api

    results = []
    for path in paths:
        try:
            results.append(api.info_one(path, series, spacing_mm, kind.value))
        except Exception as error:
            results.append(_report_failure(path, error))
    for result in results:
        for message in result.get("warnings", []):
            typer.echo(f"hipbmd: warning: {message}", err=True)
    if as_json:
        typer.echo(json.dumps(results, indent=2))
    else:
        _print_tables([r for r in results if "error" not in r])
    if any("error" in r for r in results):
        raise typer.Exit(EXIT_BAD_INPUT)


def _report_failure(path: Path, error: Exception) -> dict[str, Any]:
    """Print the one-line error (plus traceback under --debug) and return the JSON record."""
    from hipbmd.errors import InputError

    if _state["debug"]:
        traceback.print_exception(error, file=sys.stderr)
    if isinstance(error, InputError):
        _error_line(str(error))
        return {"path": str(path), "error": error.problem}
    _error_line(f"{path}: unexpected {type(error).__name__}: {error} (rerun with --debug)")
    return {"path": str(path), "error": f"unexpected {type(error).__name__}: {error}"}


def _print_tables(results: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for result in results:
        table = Table(title=f"{result['path']}  ({result['kind']})", show_header=False, title_justify="left")
        table.add_column("field", style="bold")
        table.add_column("value")
        for key, value in result.items():
            if key in ("path", "kind", "warnings") or value in (None, [], {}):
                continue
            table.add_row(key, _format_value(value))
        console.print(table)


def _format_value(value: object) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_format_value(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_format_value(v)}" for k, v in value.items())
    return str(value)


Triple = tuple[float, float, float]


@app.command()
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
    from hipbmd.drr.project_ct import DRRRequest

    request = DRRRequest(
        ct=ct,
        input_unit="mg/cm3" if density else "HU",
        series_uid=series,
        labels=labels,
        label=list(label or []),
        label_table=label_table,
        per_label=per_label,
        parallel=parallel,
    )
    saved = api.read_pose_camera(pose) if pose is not None else None
    _set_detector(request, saved, size, spacing_mm, sdd_mm)
    if pose is not None:
        given = api.read_pose(pose)
        request.rotation_deg, request.translation_mm = given.rotation_deg, given.translation_mm
        request.isocenter_mm, request.sod_mm = given.isocenter_mm, given.sod_mm
    else:
        request.rotation_deg, request.translation_mm = rotation_deg, translation_mm
        request.isocenter_mm, request.sod_mm = isocenter_mm, sod_mm
    record = _run_reporting_errors(lambda: api.drr(request, output))
    _print_warnings(record)
    typer.echo(
        f"wrote {', '.join(record['files'])} (unit {record['unit']}, max {record['value_range'][1]:.4g})"
    )


@app.command()
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

    with Progress(transient=True, console=_stderr_console()) as progress:
        task = progress.add_task("registering (coarse to fine)", total=None)

        def advance(done: int, total: int, summary: dict[str, float]) -> None:
            description = f"level {done}/{total}: similarity {summary['similarity']:.4f}"
            progress.update(task, total=total, completed=done, description=description)

        record = _run_reporting_errors(
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
    _print_warnings(record)
    report = record["report"]
    state = "converged" if report["converged"] else "NOT converged"
    typer.echo(f"wrote {output}: similarity {report['similarity']:.4f} ({state}), {report['seconds']:.1f} s")
    if not report["converged"]:
        raise typer.Exit(1)


@app.command()
def simulate(
    output: Annotated[Path, typer.Option("-o", "--output", help="Cohort folder to write (or to resume).")],
    n: Annotated[int, typer.Option("--n", min=1, help="Number of cases in the cohort.")] = 20,
    sites: Annotated[
        str, typer.Option(help="Comma list of site names, or training, held-out, all.")
    ] = "training",
    seed: Annotated[int, typer.Option(help="Cohort seed: the same seed gives the same files.")] = 0,
    workers: Annotated[int, typer.Option(min=1, help="Cases simulated in parallel (processes).")] = 1,
    contact_sheet: Annotated[bool, typer.Option(help="Draw contact_sheet.png of the first cases.")] = True,
    voxel_mm: Annotated[float, typer.Option(min=0.5, max=5.0, help="Anatomy voxel size, mm.")] = 1.0,
    xray_binning: Annotated[
        int, typer.Option(min=1, max=8, help="Bin the radiograph's pixels by this factor.")
    ] = 1,
    ct_scale: Annotated[
        float, typer.Option(min=0.5, max=5.0, help="Scale the CT's voxel size by this factor.")
    ] = 1.0,
) -> None:
    """Simulate a virtual hip cohort: CT with phantom, radiograph, DXA and truth per case (resumable)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from hipbmd.sim.case_draw import Resolution
    from hipbmd.sim.cohort import CohortSpec, check_settings, resolve_sites, simulate_cohort
    from hipbmd.sim.contact_sheet import write_contact_sheet

    resolution = Resolution(voxel_mm, xray_binning, ct_scale)
    spec = _run_reporting_errors(lambda: CohortSpec(n, resolve_sites(sites), seed, resolution))
    _run_reporting_errors(lambda: check_settings(spec, output))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=_stderr_console()) as progress:
        task = progress.add_task("simulating", total=n)

        def advance(case_id: str, done: int, total: int) -> None:
            progress.update(task, completed=done, description=f"simulated {case_id}")

        manifest = _run_reporting_errors(lambda: simulate_cohort(spec, output, workers, advance))
    typer.echo(f"wrote {manifest} ({n} cases from {', '.join(spec.sites)})")
    if contact_sheet:
        sheet = write_contact_sheet(output, output / "contact_sheet.png")
        if sheet is not None:
            typer.echo(f"wrote {sheet}")


@app.command()
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

    console = _stderr_console()
    with Progress(transient=True, console=console, disable=not console.is_terminal) as progress:
        progress.add_task(f"calibrating {ct.name}", total=None)
        result = _run_reporting_errors(
            lambda: api.calibrate(
                ct, phantom, slope, intercept, phantomless, output, density, series, effective_energy_kev
            )
        )
    _print_calibration(result)
    written = [str(p) for p in (output, density) if p is not None]
    if written:
        typer.echo(f"wrote {', '.join(written)}")


def _print_calibration(result: Any) -> None:
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


def _rod_cells(rod: Any, density_mg_cm3: float, residual_mg_cm3: float) -> tuple[str, ...]:
    placed = "" if rod.detected else " (placed)"
    return (
        f"{density_mg_cm3:g}",
        f"{rod.mean_hu:.1f} ± {rod.sd_hu:.1f}",
        f"{residual_mg_cm3:+.2f}",
        f"{rod.x_mm:.1f}, {rod.y_mm:.1f}",
        f"{rod.radius_mm:.1f}{placed}",
    )


@app.command("ct-bmd")
def ct_bmd(
    ct: Annotated[Path, typer.Argument(help="CT folder (DICOM series) or volume file, in HU.")],
    labels: Annotated[Path, typer.Option(help="Label map of the CT with both femurs.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for ct_bmd.json and the pictures.")],
    side: Annotated[str, typer.Option(help="right, left or both.")] = "both",
    label_table: Annotated[
        str, typer.Option(help="Label names: hipbmd, totalsegmentator_v1/v2 or a TSV.")
    ] = "hipbmd",
    phantom: Annotated[str | None, typer.Option(help="Calibration phantom name or JSON file.")] = None,
    slope: Annotated[float | None, typer.Option(help="Calibration slope, HU per mg/cm3.")] = None,
    intercept: Annotated[float | None, typer.Option(help="Calibration intercept, HU.")] = None,
    phantomless: Annotated[bool, typer.Option(help="Calibrate on fat and muscle (less accurate).")] = False,
    series: Annotated[str | None, typer.Option(help="SeriesInstanceUID in a folder.")] = None,
) -> None:
    """CT-aBMD and vBMD of the femoral neck, total hip and proximal femur in the DXA position."""
    from hipbmd import api

    if side not in ("right", "left", "both"):
        _error_line(f"--side must be right, left or both, not {side!r}")
        raise typer.Exit(EXIT_BAD_INPUT)
    sides: list[Literal["right", "left"]] = ["right", "left"] if side == "both" else [side]  # type: ignore[list-item]
    record = _run_reporting_errors(
        lambda: api.ct_bmd(
            ct, labels, output, sides, label_table, phantom, slope, intercept, phantomless, series
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


def _set_detector(
    request: Any,
    saved: dict[str, Any] | None,
    size: tuple[int, int] | None,
    spacing_mm: float | None,
    sdd_mm: float | None,
) -> None:
    """Detector geometry: the options given, else the one saved with the pose, else the defaults."""
    saved = saved or {}
    request.size = size or tuple(saved.get("shape", (256, 256)))
    spacing = (spacing_mm, spacing_mm) if spacing_mm else tuple(saved.get("pixel_spacing_mm", (1.6, 1.6)))
    request.spacing_mm = spacing
    request.sdd_mm = sdd_mm or float(saved.get("sdd_mm", 1100.0))
    if size is None and spacing_mm is None and saved.get("principal_point_px"):
        request.principal_point_px = tuple(saved["principal_point_px"])


def _print_warnings(record: dict[str, Any]) -> None:
    for message in record.get("warnings", []):
        typer.echo(f"hipbmd: warning: {message}", err=True)


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def _run_reporting_errors(work: Any) -> Any:
    """Run a command's work; input and value errors end with one line and exit code 2."""
    from hipbmd.errors import InputError

    try:
        return work()
    except (InputError, ValueError) as error:
        if _state["debug"]:
            traceback.print_exception(error, file=sys.stderr)
        _error_line(str(error))
        raise typer.Exit(EXIT_BAD_INPUT) from None


def main() -> None:
    """Console entry point."""
    warnings.simplefilter("ignore")  # reading warnings are reported per input by the commands
    try:
        app()
    except Exception as error:  # an input error outside a per-file loop, or a bug
        from hipbmd.errors import InputError

        if _state["debug"]:
            traceback.print_exception(error, file=sys.stderr)
        if isinstance(error, InputError):
            _error_line(str(error))
            sys.exit(EXIT_BAD_INPUT)
        _error_line(f"unexpected {type(error).__name__}: {error} (rerun with --debug)")
        sys.exit(EXIT_INTERNAL_ERROR)


if __name__ == "__main__":
    main()
