"""The Calibration record: applying it to a volume, manual lines, and its JSON round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from calibration_ct import Scan

from hipbmd.calibration import Calibration, calibrate_with_phantom, load_calibration, manual_calibration
from hipbmd.errors import InputError
from hipbmd.types import Volume


def test_json_round_trip(bmas_scan: Scan, tmp_path: Path) -> None:
    calibration = calibrate_with_phantom(bmas_scan.ct, source="ct.nii.gz")
    path = calibration.save(tmp_path / "calibration.json")
    again = load_calibration(path)
    assert again == calibration
    assert again.phantom == "B-MAS 200 (Kyoto Kagaku)" and len(again.rods) == 5
    assert not again.rods[0].detected  # the 0 mg/cm³ rod has no contrast and was placed from the spacing


def test_a_manual_line_applies_to_a_hu_volume() -> None:
    calibration = manual_calibration(1.6, -4.0, "ct.nii.gz")
    hu = Volume(np.array([[[-4.0, 156.0, 316.0]]], np.float32), np.eye(4), "HU", {"source": "ct.nii.gz"})
    density = calibration.apply(hu)
    assert density.unit == "mg/cm3" and density.array.dtype == np.float32
    np.testing.assert_allclose(density.array.ravel(), [0.0, 100.0, 200.0], atol=1e-4)
    assert density.meta["calibration"]["method"] == "manual" and density.meta["source"] == "ct.nii.gz"
    with pytest.raises(ValueError, match="HU volume"):
        calibration.apply(density)


@pytest.mark.parametrize("slope", [0.0, -1.5, float("nan")])
def test_a_line_must_rise(slope: float) -> None:
    with pytest.raises(ValueError, match="slope must be positive"):
        Calibration("manual", slope, 0.0)


def test_a_file_that_is_not_a_calibration(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"pose": {}}')
    with pytest.raises(InputError, match="not a calibration file"):
        load_calibration(path)
