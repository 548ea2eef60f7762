"""The real radiographs in data/real that are not adult hips (three infant pelvises, a cat's thorax, a
dental panoramic, a chest CR without spacing) never drop out: each gets a row of results.csv with its
reason, and the batch's exit code says that one file could not be processed."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

from hipbmd.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_every_real_non_hip_file_gets_a_row_with_its_reason(
    real: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = [
        real / "radoss_ddh_xray",
        real / "deid_data_dx" / "cat_DX.dcm.gz",
        real / "fodicom_cr" / "CR-ModalitySequenceLUT.dcm",
        real / "fodicom_cr" / "CR-MONO1-10-chest",
    ]
    out = tmp_path / "out"
    monkeypatch.setattr(
        sys, "argv", ["hipbmd", "estimate", *map(str, inputs), "-o", str(out), "--samples", "2"]
    )
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code == 1  # the chest CR has no spacing: it could not be processed
    with (out / "results.csv").open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    reasons = {Path(row["file"]).name: row["reason"] for row in rows}
    assert len(reasons) == len(rows) == 6
    assert reasons["CR-MONO1-10-chest"] == "error: the radiograph has no pixel spacing: give --spacing-mm"
    assert all(
        reason.split(":")[0] in ("no_hip_found", "refused")
        for name, reason in reasons.items()
        if "chest" not in name
    )
    errors = capsys.readouterr().err.strip().splitlines()
    assert errors == [f"hipbmd: error: {inputs[3]}: the radiograph has no pixel spacing: give --spacing-mm"]
