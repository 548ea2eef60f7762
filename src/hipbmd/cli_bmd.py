"""``hipbmd train`` (and ``hipbmd estimate``): the command line of the radiograph side."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hipbmd.cli_support import EXIT_BAD_INPUT, error_line, run_reporting_errors, stderr_console

LOG_EVERY = 50  # iterations between progress lines when stderr is not a terminal


def train(
    cohort: Annotated[Path, typer.Option(help="Simulated cohort folder (manifest.csv, truth per case).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Model folder to write (resumes).")],
    config: Annotated[
        Path | None, typer.Option(help="YAML training config, e.g. configs/bmd_gan_default.yaml.")
    ] = None,
    cases: Annotated[
        str | None, typer.Option(help="Manifest rows A:B to train on (overrides the config).")
    ] = None,
) -> None:
    """Train the decomposition network (BMD-GAN): radiograph crop → femur DRR, with its DXA calibration."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from hipbmd import api

    rows = _rows(cases) if cases is not None else None
    console = stderr_console()
    columns = (TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, disable=not console.is_terminal) as progress:
        reading = progress.add_task("building training pairs", total=None)
        training = progress.add_task("training", total=None, visible=False)

        def read(done: int, total: int) -> None:
            progress.update(reading, total=total, completed=done)
            if not console.is_terminal and done == total:
                console.print(f"read {total} cases")

        def stepped(iteration: int, total: int, losses: dict[str, float]) -> None:
            stage = "bones" if losses.get("stage", 0) < 1 else "femur"
            text = f"training: L1 {losses['l1_g_cm2']:.4f} g/cm2, 1-GC {losses['gc']:.3f}"
            progress.update(training, total=total, completed=iteration, visible=True, description=text)
            if not console.is_terminal and iteration % LOG_EVERY == 0:
                console.print(f"iteration {iteration}/{total} ({stage}): {text}")

        manifest = run_reporting_errors(lambda: api.train(cohort, output, config, rows, read, stepped))
    fits = manifest["metrics"]["training_calibration"]
    summary = ", ".join(
        f"{roi} r {fit['r']:.3f} (n {fit['n']})" if "r" in fit else f"{roi} not fitted ({fit['error']})"
        for roi, fit in fits.items()
    )
    typer.echo(f"wrote {output}: DXA calibration on the training cases {summary}")


def _rows(spec: str) -> tuple[int, int | None]:
    first, _, stop = spec.partition(":")
    try:
        return int(first or 0), int(stop) if stop else None
    except ValueError:
        error_line(f"--cases {spec!r}: expected A:B, e.g. 0:400")
        raise typer.Exit(EXIT_BAD_INPUT) from None
