"""``hipbmd crossval``: the command line of the cross-validation driver."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from hipbmd.cli.support import LOG_EVERY, run_reporting_errors, stderr_console


def crossval(
    cohort: Annotated[Path, typer.Option(help="Cohort folder (manifest.csv, cases with truth.json).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Cross-validation folder (resumes).")],
    folds: Annotated[int, typer.Option(min=2, help="Number of folds K.")] = 5,
    config: Annotated[
        Path | None, typer.Option(help="YAML training config for every model (as for 'hipbmd train').")
    ] = None,
    external_sites: Annotated[
        str | None, typer.Option(help="Comma list of sites never trained on, estimated by a final model.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the split.")] = 0,
    samples: Annotated[
        int, typer.Option(min=1, max=64, help="Monte-Carlo dropout samples per estimate.")
    ] = 8,
) -> None:
    """Patient-level K-fold cross-validation stratified by site: train, estimate and evaluate each fold."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from hipbmd import api

    sites = [name.strip() for name in (external_sites or "").split(",") if name.strip()]
    console = stderr_console()
    columns = (TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, disable=not console.is_terminal, transient=True) as progress:
        training = progress.add_task("training", total=None, visible=False)

        def stage(text: str) -> None:
            progress.update(training, visible=False)
            console.print(text)

        def stepped(iteration: int, total: int, losses: dict[str, float]) -> None:
            text = f"training: L1 {losses['l1_g_cm2']:.4f} g/cm2"
            progress.update(training, total=total, completed=iteration, visible=True, description=text)
            if not console.is_terminal and iteration % LOG_EVERY == 0:
                console.print(f"iteration {iteration}/{total}: {text}")

        summary = run_reporting_errors(
            lambda: api.crossval(cohort, output, folds, config, sites, seed, samples, stage, stepped)
        )
    for fold in summary["folds"]:
        typer.echo(
            f"fold {fold['fold']}: trained on {fold['training_cases']} cases, {fold['test_cases']} held out: "
            f"{fold['done']} estimated, {fold['skipped']} skipped, {fold['failed']} failed"
        )
    typer.echo(f"wrote {summary['results']} and {output / 'report'}")
    external: dict[str, Any] | None = summary.get("external")
    if external is not None:
        typer.echo(
            f"external: {external['cases']} cases: {external['done']} estimated, {external['skipped']} "
            f"skipped, {external['failed']} failed; wrote {external['results']} "
            f"and {output / 'external' / 'report'}"
        )
