"""The DX writer: files read back through hipbmd's own reader with values, geometry and tags intact."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hipbmd.io import read_radiograph
from hipbmd.io.dicom_dx import DXAcquisition, write_dx


@pytest.fixture
def image(rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(0.2, 4.5, size=(40, 30))  # e.g. mu*l, bone bright


@pytest.mark.parametrize("monochrome1", [False, True])
def test_round_trip_values_within_half_a_step(image: np.ndarray, tmp_path: Path, monochrome1: bool) -> None:
    acquisition = DXAcquisition(
        (0.15, 0.15), sid_mm=1150.0, sod_mm=1000.0, bits_stored=12, monochrome1=monochrome1
    )
    read = read_radiograph(write_dx(image, tmp_path / "hip.dcm", acquisition))
    step = (image.max() - image.min()) / 4095
    assert np.abs(read.array - image).max() <= 0.5 * step + 1e-6
    assert read.meta["photometric_interpretation"] == ("MONOCHROME1" if monochrome1 else "MONOCHROME2")


def test_geometry_and_patient_tags_round_trip(image: np.ndarray, tmp_path: Path) -> None:
    acquisition = DXAcquisition(
        (0.139, 0.14),
        sid_mm=1200.0,
        sod_mm=1000.0,
        presentation="FOR PROCESSING",
        intensity_relationship="LOG",
        laterality="left",
        age_years=71.6,
        sex="F",
    )
    read = read_radiograph(write_dx(image, tmp_path / "hip.dcm", acquisition))
    assert read.spacing_source == "imager" and read.pixel_spacing_mm == (0.139, 0.14)
    assert (read.sid_mm, read.sod_mm) == (1200.0, 1000.0) and read.magnification == pytest.approx(1.2)
    assert read.object_spacing_mm == pytest.approx((0.139 / 1.2, 0.14 / 1.2))
    assert (read.presentation, read.laterality, read.age_years, read.sex) == (
        "FOR PROCESSING",
        "left",
        71.0,
        "F",
    )
    assert read.meta["pixel_intensity_relationship"] == "LOG" and read.meta["modality"] == "DX"


def test_bad_images_are_refused_and_nothing_is_left(tmp_path: Path) -> None:
    acquisition = DXAcquisition((0.15, 0.15), sid_mm=1100.0, sod_mm=950.0)
    with pytest.raises(ValueError, match="finite 2-D"):
        write_dx(np.full((4, 4), np.nan), tmp_path / "bad.dcm", acquisition)
    with pytest.raises(ValueError, match="finite 2-D"):
        write_dx(np.zeros((4, 4, 2)), tmp_path / "bad.dcm", acquisition)
    assert list(tmp_path.iterdir()) == []
