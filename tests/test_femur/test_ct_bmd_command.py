"""``hipbmd ct-bmd``: a simulated case is measured on both sides; the real CT's femurs are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hipbmd import api
from hipbmd.cli import app
from hipbmd.sim.case import simulate_case
from hipbmd.sim.case_draw import CaseRequest, Resolution

REAL = Path(__file__).resolve().parents[2] / "data" / "real" / "totalsegmentator_example_ct"


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ctbmd") / "case"
    simulate_case(CaseRequest("case", 3, "site_a_csi", 7, Resolution(1.5, 4, 1.5)), folder)
    return folder


def test_a_simulated_case_is_measured_on_both_sides(case: Path, tmp_path: Path) -> None:
    record = api.ct_bmd(case / "ct.nii.gz", case / "labels.nii.gz", tmp_path)
    truth = json.loads((case / "truth.json").read_text())
    assert record["calibration"]["phantom"].startswith("B-MAS")
    for result in record["sides"]:
        side = result["side"]
        assert result["measured"], result["flags"]
        assert result["edge_margin_mm"] == pytest.approx(3.375)  # 1.5 × the case's 2.25 mm slices
        assert (tmp_path / f"dxa_{side}.png").stat().st_size > 10_000
        expected = truth["femurs"][side]["ct_abmd"]["abmd_g_cm2"]
        for region in ("neck", "total_hip"):
            ratio = result["abmd_g_cm2"][region] / expected[region]
            # single-energy QCT reads marrow fat as negative mineral, so calibrated CT reads low
            assert 0.7 < ratio < 1.02, (side, region, ratio)
    assert json.loads((tmp_path / "ct_bmd.json").read_text())["sides"] == record["sides"]


def test_the_real_ct_is_refused_side_by_side_with_reasons(tmp_path: Path) -> None:
    args = [
        "ct-bmd", str(REAL / "example_ct.nii.gz"), "--labels", str(REAL / "example_seg_v1.nii.gz"),
        "--label-table", "totalsegmentator_v1", "--phantomless", "-o", str(tmp_path),
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    record = json.loads((tmp_path / "ct_bmd.json").read_text())
    flags = {side["side"]: " ".join(side["flags"]) for side in record["sides"]}
    assert "no shaft" in flags["right"]  # the scan ends just below the femoral head
    assert "the scan ends inside the femoral neck" in flags["right"]  # so not even the neck is whole
    assert "implant" in flags["left"]  # the left femur holds a screw
    assert not any(side["measured"] for side in record["sides"])


def test_a_label_table_without_femurs_is_an_error(case: Path, tmp_path: Path) -> None:
    table = tmp_path / "table.tsv"
    table.write_text("label\tname\n1\tliver\n")
    result = CliRunner().invoke(
        app, ["ct-bmd", str(case / "ct.nii.gz"), "--labels", str(case / "labels.nii.gz"),
              "--label-table", str(table), "-o", str(tmp_path / "out")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "has no femur_right, femur_left" in result.output
