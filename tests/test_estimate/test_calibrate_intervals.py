"""The interval calibration stage: stored in the model's manifest without touching its weights, read back
by estimate; refused with one line and the manifest unchanged when the cohort gives too few hips."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from hipbmd import api  # noqa: E402
from hipbmd.bmd import calibration_cohort  # noqa: E402
from hipbmd.bmd.estimate import interval_calibration  # noqa: E402
from hipbmd.bmd.hip_evidence import HipEvidence  # noqa: E402
from hipbmd.bmd.interval_calibration import CalibrationHip  # noqa: E402
from hipbmd.cli import main  # noqa: E402
from hipbmd.decomposition.model_files import load_decomposition_model  # noqa: E402


def _synthetic_hips(n: int) -> list[CalibrationHip]:
    hips = []
    for i in range(n):
        raw = {"neck": 0.6 + 0.004 * i, "total_hip": 0.8 + 0.003 * i}
        error = 0.03 * (1 if i % 2 else -1) * (1 + i % 5) / 3
        dxa = {roi: 0.9 * value + 0.1 + error for roi, value in raw.items()}
        spread = {"neck": 0.01 + 0.0005 * (i % 7), "total_hip": 0.008 + 0.0004 * (i % 5)}
        evidence = HipEvidence(
            spread, 0.9 - 0.002 * i, 0.01 * (i % 3), 0.1 * (i % 9), 24.0 + 0.05 * i, 128.0, 31.0
        )
        hips.append(CalibrationHip(raw, dxa, evidence))
    return hips


def test_the_calibration_is_stored_beside_the_unchanged_weights_and_read_by_estimate(
    tiny_model: Path, sim_cohort: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "tiny"
    shutil.copytree(tiny_model, model)
    before = json.loads((model / "model.json").read_text())
    monkeypatch.setattr(calibration_cohort, "calibration_hips", lambda *args, **kwargs: _synthetic_hips(80))
    stored = api.calibrate_intervals(model, sim_cohort)
    after = json.loads((model / "model.json").read_text())
    assert after["weights"] == before["weights"] and after["dxa_calibration"] == before["dxa_calibration"]
    assert after["interval_calibration"] == stored and stored["hips"] == 80
    assert [c["name"] for c in stored["cohorts"]] == [sim_cohort.name]
    assert set(stored["regions"]) == {"neck", "total_hip"}
    calibration = interval_calibration(load_decomposition_model(model))  # the weights still check
    assert calibration is not None and calibration.regions["neck"].n_fit == 40
    assert calibration.regions["neck"].line.slope == pytest.approx(0.9, abs=0.05)


def test_calibrate_only_with_too_few_hips_fails_in_one_line_and_leaves_the_model_alone(
    tiny_model: Path,
    sim_cohort: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    model = tmp_path / "tiny"
    shutil.copytree(tiny_model, model)
    before = (model / "model.json").read_text()
    arguments = [
        "hipbmd",
        "train",
        "--calibrate-only",
        "-o",
        str(model),
        "--calibration-cohort",
        str(sim_cohort),
    ]
    monkeypatch.setattr(sys, "argv", arguments)
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and str(sim_cohort) in error and "at least 40 measured hips" in error
    assert (model / "model.json").read_text() == before


def test_calibrate_only_without_a_cohort_says_what_it_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["hipbmd", "train", "--calibrate-only", "-o", str(tmp_path)])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code == 2 and "--calibration-cohort" in capsys.readouterr().err
