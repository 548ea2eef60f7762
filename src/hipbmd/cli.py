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
