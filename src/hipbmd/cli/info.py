"""``hipbmd info``: what hipbmd reads from each input, as tables or JSON."""

from __future__ import annotations

import json
import sys
import traceback
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from hipbmd.cli.support import EXIT_BAD_INPUT, error_line, run_reporting_errors, state


class InputKindOption(str, Enum):
    """Values of ``--kind``."""

    auto = "auto"
    ct = "ct"
    labels = "labels"
    radiograph = "radiograph"


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

    results = run_reporting_errors(
        lambda: api.info(paths, series, spacing_mm, kind.value, on_failure=_report_failure)
    )
    for result in results:
        for message in result.get("warnings", []):
            typer.echo(f"hipbmd: warning: {message}", err=True)
    if as_json:
        typer.echo(json.dumps(results, indent=2, allow_nan=False))
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
