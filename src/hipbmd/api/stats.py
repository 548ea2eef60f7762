"""``hipbmd evaluate``: estimated aBMD against reference DXA, as a validation report.

numpy, scipy, scikit-learn and matplotlib are imported only when it runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def evaluate(
    results_csv: str | Path,
    reference_csv: str | Path,
    output_dir: str | Path,
    yam_table: str | Path | None = None,
) -> dict[str, Any]:
    """Compare estimated aBMD with reference DXA and write the validation report.

    Mirrors ``hipbmd evaluate --results R.csv --reference dxa.csv -o report/ [--yam T]``. Writes
    ``report.json`` (schema ``hipbmd-evaluate/1``, every number), ``report.html`` (self-contained)
    and the figures as PNG files into ``output_dir``, only after every number has been computed.
    The accepted reference formats and the matching rules are in docs/evaluate.md.

    Args:
        results_csv: ``results.csv`` written by ``hipbmd estimate``.
        reference_csv: a simulated cohort's ``manifest.csv`` or a CSV with ``file`` (or ``xray``),
            ``side`` and ``dxa_<roi>_g_cm2`` columns (optionally ``case_id``, ``site``, ``sex``,
            ``age``, ``dxa_<roi>_yam_percent``).
        output_dir: folder for the report (created if needed).
        yam_table: young-adult-mean table (as for ``hipbmd estimate --yam``) giving the reference
            %YAM for the JOS categories when the reference has no ``dxa_<roi>_yam_percent``.

    Returns:
        The report record, as written to ``report.json``.

    Raises:
        InputError: a file cannot be read, lacks a column, holds a bad value, or no row of the
            results matches the reference; nothing is written then.
    """
    from hipbmd.io.output_paths import check_output_folder
    from hipbmd.stats.report import write_report

    check_output_folder(output_dir)

    return write_report(
        Path(results_csv),
        Path(reference_csv),
        Path(output_dir),
        None if yam_table is None else Path(yam_table),
    )
