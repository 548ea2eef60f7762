"""The real radiographs in data/real that are not adult hips (three infant pelvises, a cat's thorax, a
dental panoramic, a chest CR without spacing) never drop out and never get a number: each gets a row of
results.csv with its reason, and the batch's exit code says that one file could not be processed.

Four are refused outright (no hip found, or the file cannot be processed). On two infant pelvises
(331_DDH_10, 331_DDH_115) the shipped localiser reports hips (their unossified femurs look like adult hips
to networks trained on adults only); they are reported not measured, with the reason (mostly the
converter's 1 mm placeholder spacing, their only spacing), and no number.
"""

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
    assert not any(row["abmd_g_cm2"] for row in rows)  # no number for anything
    reasons = {Path(row["file"]).name: row["reason"] for row in rows if row["reason"]}
    assert set(reasons) == {
        "331_DDH_1.dcm",
        "cat_DX.dcm.gz",
        "CR-ModalitySequenceLUT.dcm",
        "CR-MONO1-10-chest",
    }
    assert reasons["CR-MONO1-10-chest"] == "error: the radiograph has no pixel spacing: give --spacing-mm"
    assert all(
        reason.split(":")[0] in ("no_hip_found", "refused")
        for name, reason in reasons.items()
        if "chest" not in name
    )
    hips = [row for row in rows if not row["reason"]]
    assert {Path(row["file"]).name for row in hips} == {"331_DDH_10.dcm", "331_DDH_115.dcm"}
    assert all("not_measured: " in row["flags"] for row in hips)
    assert all("not_measured: spacing_placeholder" in row["flags"] for row in hips)
    errors = capsys.readouterr().err.strip().splitlines()
    assert errors == [f"hipbmd: error: {inputs[3]}: the radiograph has no pixel spacing: give --spacing-mm"]
