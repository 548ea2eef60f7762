"""``hipbmd evaluate``: a summary per ROI on success; one error line, exit 2 and no folder on failure."""

from __future__ import annotations

import json
from pathlib import Path

from evaluate_files import write_inputs
from typer.testing import CliRunner

from hipbmd.cli import app


def test_evaluate_writes_the_report_and_summarises(tmp_path: Path) -> None:
    results, manifest = write_inputs(tmp_path, n=12)[::-1]
    output = tmp_path / "report"
    result = CliRunner().invoke(
        app, ["evaluate", "--results", str(results), "--reference", str(manifest), "-o", str(output)]
    )
    assert result.exit_code == 0, result.output
    record = json.loads((output / "report.json").read_text())
    neck = record["strata"]["overall"]["all"]["neck"]["agreement"]
    assert f"neck: n {neck['n']}, withheld 2, r {neck['pearson']['value']:.3f}" in result.output
    assert "total_hip: n 11, withheld 1" in result.output
    assert f"wrote {output / 'report.html'}" in result.output


def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    results, manifest = write_inputs(tmp_path, n=4)[::-1]
    reference = tmp_path / "dxa.csv"
    reference.write_text("file,side\nx.dcm,left\n")
    output = tmp_path / "report"
    result = CliRunner().invoke(
        app, ["evaluate", "--results", str(results), "--reference", str(reference), "-o", str(output)]
    )
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"hipbmd: error: {reference}: no DXA column")
    assert not output.exists()
    missing = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--results",
            str(tmp_path / "none.csv"),
            "--reference",
            str(manifest),
            "-o",
            str(output),
        ],
    )
    assert missing.exit_code == 2 and "none.csv: cannot read as CSV" in missing.output
    assert not output.exists()
