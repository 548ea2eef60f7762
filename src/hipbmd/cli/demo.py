"""``hipbmd demo``: the main job, a fresh cohort from unseen sites estimated and compared with its DXA."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hipbmd.cli.support import run_reporting_errors, stderr_console


def demo(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Folder for the cohort, estimates and overlays.")
    ] = Path("demo_output"),
    n: Annotated[int, typer.Option(min=2, help="Cases to simulate (held-out sites).")] = 12,
    model: Annotated[
        Path | None, typer.Option(help="Decomposition model folder (default: the shipped model).")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Cases simulated in parallel.")] = 2,
) -> None:
    """Simulate a fresh cohort from unseen sites, estimate BMD on it and compare with its DXA."""
    from rich.console import Console
    from rich.table import Table

    from hipbmd import api
    from hipbmd.cli.stats import summary_line

    console = stderr_console()
    rows, report = run_reporting_errors(
        lambda: api.demo(
            output, n, model, workers, on_stage=lambda text: console.print(f"[bold]{text}[/bold]")
        )
    )
    table = Table(title="estimated vs DXA (g/cm2), index hip of each case", title_justify="left")
    for column in (
        "case",
        "site",
        "side",
        "DXA neck",
        "est. neck",
        "DXA total hip",
        "est. total hip",
        "DXA category",
        "category (probability)",
        "flags",
    ):
        text_column = column in ("case", "site", "side", "flags", "DXA category", "category (probability)")
        table.add_column(column, justify="left" if text_column else "right")
    for row in rows:
        shown = [_value(row.dxa_g_cm2["neck"]), _value(row.estimate_g_cm2.get("neck"))]
        shown += [_value(row.dxa_g_cm2["total_hip"]), _value(row.estimate_g_cm2.get("total_hip"))]
        flags = ", ".join(dict.fromkeys(f.split(":")[0] for f in row.flags if not f.startswith("landmarks:")))
        table.add_row(row.case_id, row.site, row.side, *shown, row.dxa_category, row.category, flags)
    out = Console()
    if not out.is_terminal:  # piped or logged: wide enough that the table does not wrap
        out = Console(width=max(out.width, 170))
    out.print(table)
    typer.echo("flags: names only; each hip's record in the estimates folder says more")
    for roi in report["rois"]:
        typer.echo(f"{roi}: {summary_line(report['strata']['overall']['all'][roi])}")
    given = [row for row in rows if not row.category.startswith(("withheld", "not measured"))]
    agree = sum(row.category.split(" ")[0] == row.dxa_category for row in given)
    typer.echo(
        f"WHO category (ISCD: lowest T of neck and total hip) given for {len(given)} of {len(rows)} hips, "
        f"the DXA's category for {agree} of them; withheld ones say why in their records"
    )
    typer.echo(f"overlays and records in {output / 'estimates'}")
    typer.echo(
        f"validation report (r, ICC, Bland-Altman, ROC, by site) in {output / 'report' / 'report.html'}"
    )


def _value(value: float | None) -> str:
    return "withheld" if value is None else f"{value:.3f}"
