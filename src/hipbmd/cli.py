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
from typing import Annotated, Any

import typer

from hipbmd import __version__
from hipbmd.cli_bmd import demo, estimate, merge_results, train
from hipbmd.cli_ct import calibrate, ct_bmd
from hipbmd.cli_masks import import_masks
from hipbmd.cli_seg import seg_train, segment
from hipbmd.cli_sim import simulate
from hipbmd.cli_stats import evaluate
from hipbmd.cli_support import (
    EXIT_BAD_INPUT,
    EXIT_INTERNAL_ERROR,
    error_line,
    print_warnings,
    run_reporting_errors,
    state,
    stderr_console,
)
from hipbmd.cli_validate import crossval

app = typer.Typer(
    name="hipbmd",
    help="Areal BMD of the proximal femur from a hip radiograph. A research tool, not a medical device.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


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
    state["debug"] = debug


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

    if state["debug"]:
        traceback.print_exception(error, file=sys.stderr)
    if isinstance(error, InputError):
        error_line(str(error))
        return {"path": str(path), "error": error.problem}
    error_line(f"{path}: unexpected {type(error).__name__}: {error} (rerun with --debug)")
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
    record = run_reporting_errors(lambda: api.drr(request, output))
    print_warnings(record)
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


app.command()(simulate)
app.command()(calibrate)
app.command("ct-bmd")(ct_bmd)
app.command("import-masks")(import_masks)
app.command()(segment)
app.command("seg-train")(seg_train)
app.command()(train)
app.command()(estimate)
app.command("merge-results")(merge_results)
app.command()(demo)
app.command()(evaluate)
app.command()(crossval)


def main() -> None:
    """Console entry point."""
    warnings.simplefilter("ignore")  # reading warnings are reported per input by the commands
    try:
        app()
    except Exception as error:  # an input error outside a per-file loop, or a bug
        from hipbmd.errors import InputError

        if state["debug"]:
            traceback.print_exception(error, file=sys.stderr)
        if isinstance(error, InputError):
            error_line(str(error))
            sys.exit(EXIT_BAD_INPUT)
        error_line(f"unexpected {type(error).__name__}: {error} (rerun with --debug)")
        sys.exit(EXIT_INTERNAL_ERROR)


if __name__ == "__main__":
    main()
