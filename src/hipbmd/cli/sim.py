"""``hipbmd simulate``: a virtual hip cohort (CT with phantom, radiograph, DXA and truth per case)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hipbmd.cli.support import run_reporting_errors, stderr_console


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
    anatomy: Annotated[
        str, typer.Option(help="Comma list of anatomy sources (or all); they take turns over the sites.")
    ] = "parametric",
    anatomy_region: Annotated[
        str, typer.Option(help="Region of each source's parameters: training, or held-out (its tails).")
    ] = "training",
    styles: Annotated[
        str,
        typer.Option(
            help="Radiograph styles: sites (each site's own), random, or random-held-out (per image)."
        ),
    ] = "sites",
    implant_share: Annotated[
        float,
        typer.Option(
            min=0.0, max=1.0, help="Least share of patients with a hip implant (0: the population's)."
        ),
    ] = 0.0,
) -> None:
    """Simulate a virtual hip cohort: CT with phantom, radiograph, DXA and truth per case (resumable)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from hipbmd import api

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    console = stderr_console()
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task("simulating", total=n)

        def advance(case_id: str, done: int, total: int) -> None:
            progress.update(task, completed=done, description=f"simulated {case_id}")

        result = run_reporting_errors(
            lambda: api.simulate(
                output,
                n,
                sites,
                seed,
                workers,
                contact_sheet,
                voxel_mm,
                xray_binning,
                ct_scale,
                advance,
                anatomy,
                anatomy_region,
                styles,
                implant_share,
            )
        )
    typer.echo(f"wrote {result.manifest} ({n} cases from {', '.join(result.sites)})")
    if result.contact_sheet is not None:
        typer.echo(f"wrote {result.contact_sheet}")
