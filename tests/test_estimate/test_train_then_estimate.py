"""A tiny end-to-end run on simulated cases: hipbmd train, then hipbmd estimate with that model."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from hipbmd import api  # noqa: E402
from hipbmd.cli import main  # noqa: E402


def test_train_writes_a_model_folder_that_says_how_it_was_made(tiny_model: Path) -> None:
    manifest = json.loads((tiny_model / "model.json").read_text())
    assert manifest["format"] == "hipbmd-decomposition" and len(manifest["weights"]["sha256"]) == 64
    assert manifest["grid"]["shape"] == [64, 64] and manifest["training"]["pairs"] >= 3
    assert set(manifest["metrics"]["training_calibration"]) == {"neck", "total_hip"}
    for name in ("model.safetensors", "loss_curves.png", "pairs.npz", "checkpoint.pt"):
        assert (tiny_model / name).is_file(), name


def test_estimate_writes_records_overlays_and_a_csv_and_survives_a_bad_file(
    sim_cohort: Path, tiny_model: Path, tmp_path: Path
) -> None:
    xrays = sorted(sim_cohort.glob("cases/*/xray.dcm"))
    bad = tmp_path / "broken.dcm"
    bad.write_bytes(b"not a dicom file")
    records = api.estimate([*xrays, bad], tmp_path / "out", model=tiny_model, samples=2)
    assert len(records) == len(xrays) + 1
    failed = [record for record in records if record.error is not None]  # records come sorted by path
    assert len(failed) == 1 and failed[0].source == str(bad) and failed[0].error == "not a DICOM file"
    for record in (record for record in records if record.error is None):
        assert record.schema == "hipbmd-estimate/3" and record.hips, record.source
        assert record.model and record.model.sha256
        assert record.radiograph and record.radiograph.magnification_used > 1.0
        assert (tmp_path / "out" / str(record.overlay)).stat().st_size > 5000
        for hip in record.hips:
            assert hip.side in ("right", "left")
            # an untrained model without calibrated intervals must never give a category
            assert all(m.who_category is None for m in hip.measurements)
            if hip.measured:
                assert hip.category is not None and hip.category.who_category is None
                assert hip.category.withheld is not None
                assert any(flag.startswith("intervals_not_calibrated") for flag in hip.flags)
    names = sorted(p.name for p in (tmp_path / "out").glob("*.json"))
    assert len(names) == len(xrays) + 1  # one record per input, names made distinct
    with (tmp_path / "out" / "results.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    assert [row["file"] for row in rows if row["error"]] == [str(bad)]


def test_estimate_command_reports_and_refuses_a_bad_side(
    sim_cohort: Path, tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    xray = sorted(sim_cohort.glob("cases/*/xray.dcm"))[0]
    common = [str(xray), "-o", str(tmp_path / "o"), "--model", str(tiny_model), "--samples", "2"]
    for extra, code in ((["--side", "middle"], 2), ([], 0)):
        monkeypatch.setattr(sys, "argv", ["hipbmd", "estimate", *common, *extra])
        with pytest.raises(SystemExit) as done:
            main()
        assert done.value.code == code, extra


def test_the_demo_pairs_each_case_with_its_dxa_and_writes_the_report(
    tiny_model: Path, tmp_path: Path
) -> None:
    from hipbmd.api.demo import demo as run_demo
    from sim_cohort_files import COARSE

    rows, report = run_demo(tmp_path, 3, tiny_model, resolution=COARSE)
    assert [row.site for row in rows] == ["site_e_ase", "site_f_portable", "site_e_ase"]  # never trained on
    assert all(0.3 < row.dxa_g_cm2["neck"] < 1.5 for row in rows)
    assert (tmp_path / "estimates" / "results.csv").is_file()
    assert (tmp_path / "report" / "report.html").is_file() and (tmp_path / "report" / "report.json").is_file()
    assert report["schema"] == "hipbmd-evaluate/1" and report["matching"]["reference_hips"] == 3
    neck = report["strata"]["overall"]["all"]["neck"]
    assert neck["n_pairs"] == sum(row.estimate_g_cm2.get("neck") is not None for row in rows)
    assert neck["n_pairs"] + neck["n_withheld"] == 3
    for row in rows:  # the DXA's category beside the estimate's, never given by an uncalibrated model
        assert row.dxa_category in ("normal", "osteopenia", "osteoporosis")
        measured = row.estimate_g_cm2.get("neck") is not None
        assert row.category.startswith("withheld (") if measured else row.category == "not measured"
