"""``hipbmd evaluate``: the command line of the validation report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from hipbmd.cli_support import run_reporting_errors


def evaluate(
    results: Annotated[Path, typer.Option("--results", help="results.csv written by 'hipbmd estimate'.")],
    reference: Annotated[
        Path,
        typer.Option(
            "--reference",
            help="Reference DXA: a cohort's manifest.csv, or a CSV with file, side and dxa_<roi>_g_cm2.",
        ),
    ],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Report folder (report.html, report.json, PNGs).")
    ],
    yam: Annotated[
        Path | None,
        typer.Option(help="Young-adult-mean table (CSV/JSON) giving the reference %YAM for JOS categories."),
    ] = None,
) -> None:
    """Compare estimated with reference aBMD: r, ICC, MAE, Bland-Altman, ROC, categories, by subgroup."""
    from hipbmd import api

    record = run_reporting_errors(lambda: api.evaluate(results, reference, output, yam))
    for roi in record["rois"]:
        typer.echo(f"{roi}: {_summary(record['strata']['overall']['all'][roi])}")
    matching = record["matching"]
    missing = len(matching["unmatched_reference"]) + len(matching["ambiguous_reference"])
    if missing:
        typer.echo(f"{missing} reference hips without a matching radiograph in {results} (see report.json)")
    typer.echo(
        f"wrote {output / 'report.html'}, {output / 'report.json'} and {len(record['figures'])} figures"
    )


def _summary(entry: dict[str, Any]) -> str:
    """One line per ROI: pairs, withheld, r, MAE, bias and the osteoporosis AUC."""
    counts = f"n {entry['n_pairs']}, withheld {entry['n_withheld']}"
    stats = entry["agreement"]
    if stats is None:
        return f"{counts}, too few pairs for statistics"
    r = stats["pearson"]["value"]
    text = f"{counts}, r {'n/a' if r is None else f'{r:.3f}'}, MAE {stats['mae_g_cm2']:.3f} g/cm2"
    text += f", bias {stats['bland_altman']['bias_g_cm2']:+.3f} g/cm2"
    diagnosis = (entry["diagnosis"] or {}).get("osteoporosis")
    if diagnosis is not None:
        auc = "n/a" if diagnosis["auc"] is None else f"{diagnosis['auc']['value']:.3f}"
        text += f", osteoporosis AUC {auc}"
    return text
