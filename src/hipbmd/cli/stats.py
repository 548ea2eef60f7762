"""``hipbmd evaluate``: the command line of the validation report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from hipbmd.cli.support import run_reporting_errors


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
        typer.echo(f"{roi}: {summary_line(record['strata']['overall']['all'][roi])}")
    matching = record["matching"]
    missing = len(matching["unmatched_reference"]) + len(matching["ambiguous_reference"])
    if missing:
        typer.echo(f"{missing} reference hips without a matching radiograph in {results} (see report.json)")
    typer.echo(
        f"wrote {output / 'report.html'}, {output / 'report.json'} and {len(record['figures'])} figures"
    )


def summary_line(entry: dict[str, Any]) -> str:
    """One line for a ROI of a report's stratum: pairs, withheld, r and the osteoporosis AUC (each with
    its 95 % interval), MAE and bias."""
    counts = f"n {entry['n_pairs']}, withheld {entry['n_withheld']}"
    stats = entry["agreement"]
    if stats is None:
        return f"{counts}, too few pairs for statistics"
    text = f"{counts}, r {_with_interval(stats['pearson'])}, MAE {stats['mae_g_cm2']:.3f} g/cm2"
    text += f", bias {stats['bland_altman']['bias_g_cm2']:+.3f} g/cm2"
    diagnosis = (entry["diagnosis"] or {}).get("osteoporosis")
    if diagnosis is not None:
        text += f", osteoporosis AUC {_with_interval(diagnosis['auc'])}"
    return text


def _with_interval(estimate: dict[str, Any] | None) -> str:
    """'0.841 [0.486, 0.958]', the value alone without an interval, or 'n/a'."""
    if estimate is None or estimate.get("value") is None:
        return "n/a"
    text = f"{estimate['value']:.3f}"
    if estimate.get("ci_low") is not None and estimate.get("ci_high") is not None:
        text += f" [{estimate['ci_low']:.3f}, {estimate['ci_high']:.3f}]"
    return text
