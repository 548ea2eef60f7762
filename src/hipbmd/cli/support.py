"""What the command-line modules share: exit codes, the one-line error, stderr console, debug state."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import typer

if TYPE_CHECKING:
    from rich.console import Console

T = TypeVar("T")

EXIT_BAD_INPUT = 2  # bad options, or no input could be read at all
EXIT_SOME_FAILED = 1  # a batch in which some files could not be read or processed (they have error rows)
EXIT_INTERNAL_ERROR = 3  # a bug: an unexpected exception outside the per-file handling (--debug shows it)
LOG_EVERY = 50  # training iterations between progress lines when stderr is not a terminal
state = {"debug": False}


def error_line(message: str) -> None:
    """Print ``hipbmd: error: <message>`` on stderr."""
    typer.echo(f"hipbmd: error: {message}", err=True)


def print_warnings(record: dict[str, Any]) -> None:
    """Print a result record's warnings on stderr, one line each."""
    for message in record.get("warnings", []):
        typer.echo(f"hipbmd: warning: {message}", err=True)


def stderr_console() -> Console:
    """A rich console writing to stderr (progress and tables that are not the command's output)."""
    from rich.console import Console

    return Console(stderr=True)


def run_reporting_errors(work: Callable[[], T]) -> T:
    """Run a command's work; input, value and file-system errors end with one line and exit code 2."""
    from hipbmd.errors import InputError

    try:
        return work()
    except (InputError, ValueError, OSError) as error:
        if state["debug"]:
            traceback.print_exception(error, file=sys.stderr)
        error_line(one_line(error))
        raise typer.Exit(EXIT_BAD_INPUT) from None


def one_line(error: BaseException) -> str:
    """The error as one line that names the file: an OSError by its file name and reason."""
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.filename}: {error.strerror or type(error).__name__}"
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def parse_rows(spec: str, option: str = "--cases") -> tuple[int, int | None]:
    """Manifest rows ``"A:B"`` (either end may be empty) as (first, stop); a bad spec ends the command."""
    first, _, stop = spec.partition(":")
    try:
        return int(first or 0), int(stop) if stop else None
    except ValueError:
        error_line(f"{option} {spec!r}: expected A:B, e.g. 0:40")
        raise typer.Exit(EXIT_BAD_INPUT) from None
