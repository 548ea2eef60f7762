"""``hipbmd calibrate`` and ``api.calibrate``: files written, the printed table, one-line errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from calibration_ct import Scan, scan

from hipbmd import api
from hipbmd.cli import main
from hipbmd.io.ct import read_ct
from hipbmd.io.volume_writers import write_nifti


def run(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["hipbmd", *args])
    with pytest.raises(SystemExit) as stopped:
        main()
    captured = capsys.readouterr()
    code = stopped.value.code
    return (0 if code is None else int(code)), captured.out, captured.err


@pytest.fixture(scope="module")
def ct_files(bmas_scan: Scan, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("calibrate")
    return {
        "bmas": write_nifti(bmas_scan.ct, folder / "bmas.nii.gz"),
        "none": write_nifti(scan(None, voxel_mm=3.0).ct, folder / "no_phantom.nii.gz"),
    }


def test_calibrate_writes_json_and_density(
    ct_files: dict[str, Path], tmp_path: Path, capsys, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    output, density = tmp_path / "calibration.json", tmp_path / "density.nii.gz"
    args = [
        "calibrate",
        str(ct_files["bmas"]),
        "--phantom",
        "b-mas",
        "-o",
        str(output),
        "--density",
        str(density),
    ]
    code, out, err = run(args, capsys, monkeypatch)
    assert code == 0 and err == ""
    assert "B-MAS 200" in out and "r = 0.99" in out and "(placed)" in out
    record = json.loads(output.read_text())
    assert record["method"] == "phantom" and record["r"] >= 0.999
    assert [rod["density_mg_cm3"] for rod in record["rods"]] == [0, 50, 100, 150, 200]
    hu, calibrated = read_ct(ct_files["bmas"]), read_ct(density, unit="mg/cm3")
    expected = (hu.array - record["intercept_hu"]) / record["slope_hu_per_mg_cm3"]
    np.testing.assert_allclose(calibrated.array, expected, atol=1e-3)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "calibration phantom not found"),
        (["--slope", "1.6"], "--slope and --intercept go together"),
        (["--phantomless", "--phantom", "b-mas"], "--phantomless excludes"),
    ],
)
def test_errors_are_one_line_with_exit_code_2(
    ct_files: dict[str, Path], extra: list[str], message: str, capsys, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run(["calibrate", str(ct_files["none"]), *extra], capsys, monkeypatch)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("hipbmd: error: ") and message in err


def test_api_manual_and_phantomless(ct_files: dict[str, Path], tmp_path: Path) -> None:
    manual = api.calibrate(
        ct_files["bmas"], slope_hu_per_mg_cm3=1.7, intercept_hu=-6.0, output=tmp_path / "m.json"
    )
    assert manual.method == "manual" and (tmp_path / "m.json").is_file()
    phantomless = api.calibrate(ct_files["bmas"], phantomless=True, density=tmp_path / "p.nii.gz")
    assert "phantomless: less accurate" in phantomless.flags
    assert read_ct(tmp_path / "p.nii.gz", unit="mg/cm3").unit == "mg/cm3"
