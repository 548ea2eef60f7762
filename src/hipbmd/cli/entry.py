"""The ``hipbmd`` command line: the Typer app, its global options and the console entry point.

Each command lives in the module of :mod:`hipbmd.cli` named as its API module (:mod:`hipbmd.api`),
parses its options and calls exactly one API function. Heavy modules (numpy, pydicom, torch) are imported
inside the commands so that ``--help`` is fast. Bad input ends with one line on stderr naming the file
and the problem, and exit code 2; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import sys
import traceback
import warnings
from typing import Annotated

import typer

from hipbmd import __version__
from hipbmd.cli import bmd, ct, demo, drr, info, node, seg, sim, stats, validate, web
from hipbmd.cli.support import EXIT_BAD_INPUT, EXIT_INTERNAL_ERROR, error_line, one_line, state

app = typer.Typer(
    name="hipbmd",
    help="Areal BMD of the proximal femur from a hip radiograph. A research tool, not a medical device.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


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


COMMANDS = (
    ("info", info.info),
    ("drr", drr.drr),
    ("register", drr.register),
    ("simulate", sim.simulate),
    ("calibrate", ct.calibrate),
    ("ct-bmd", ct.ct_bmd),
    ("import-masks", seg.import_masks),
    ("segment", seg.segment),
    ("seg-train", seg.seg_train),
    ("train", bmd.train),
    ("estimate", bmd.estimate),
    ("merge-results", bmd.merge_results),
    ("demo", demo.demo),
    ("evaluate", stats.evaluate),
    ("crossval", validate.crossval),
    ("serve-dicom", node.serve_dicom),
    ("serve-web", web.serve_web),
)
for name, command in COMMANDS:
    app.command(name)(command)


def main() -> None:
    """Console entry point."""
    warnings.simplefilter("ignore")  # reading warnings are reported per input by the commands
    try:
        app()
    except Exception as error:  # an input error outside a per-file loop, or a bug
        from hipbmd.errors import InputError

        if state["debug"]:
            traceback.print_exception(error, file=sys.stderr)
        if isinstance(error, InputError | OSError):  # a file the command cannot read or write
            error_line(one_line(error))
            sys.exit(EXIT_BAD_INPUT)
        error_line(f"unexpected {type(error).__name__}: {error} (rerun with --debug)")
        sys.exit(EXIT_INTERNAL_ERROR)


if __name__ == "__main__":
    main()
