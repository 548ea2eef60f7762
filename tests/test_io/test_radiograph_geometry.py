"""One geometry per radiograph: the hip's magnification from what the file states, and how sure it is."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hipbmd.io.dicom_dx import DXAcquisition, write_dx
from hipbmd.io.radiograph import read_radiograph
from hipbmd.io.radiograph_geometry import (
    DEFAULT_SID_MM,
    HIP_ABOVE_DETECTOR_MM,
    HIP_ABOVE_TABLETOP_MM,
    radiograph_geometry,
)
from hipbmd.types import Radiograph

PIXELS = np.linspace(0.0, 1.0, 64 * 64, dtype=np.float32).reshape(64, 64)


def _radiograph(**fields: object) -> Radiograph:
    return Radiograph(PIXELS, (0.3, 0.3), "imager", **fields)  # type: ignore[arg-type]


def test_calibrated_spacing_is_the_strongest_statement() -> None:
    geometry = radiograph_geometry(
        _radiograph(calibrated_spacing_mm=(0.25, 0.25), sid_mm=1100.0, sod_mm=1040.0)
    )
    assert geometry.source == "calibrated_spacing"
    assert geometry.magnification == pytest.approx(1.2)
    assert geometry.hip_spacing_mm == pytest.approx((0.25, 0.25))
    assert geometry.relative_uncertainty == 0.02


def test_a_tabletop_distance_puts_the_hip_above_the_table() -> None:
    geometry = radiograph_geometry(_radiograph(sid_mm=1100.0, sod_mm=1040.0))
    hip_above_detector = 60.0 + HIP_ABOVE_TABLETOP_MM
    assert geometry.source == "tabletop_distance"
    assert geometry.magnification == pytest.approx(1100.0 / (1100.0 - hip_above_detector))
    assert geometry.sod_mm == pytest.approx(1100.0 - hip_above_detector)
    # 25 mm of the hip's height over the source–hip distance.
    assert geometry.relative_uncertainty == pytest.approx(25.0 / (1100.0 - hip_above_detector))


def test_an_entrance_surface_distance_puts_the_hip_halfway_into_the_body() -> None:
    # 280 mm from the skin to the detector: a 55 mm bucky gap and a body 225 mm thick, the hip half-way.
    geometry = radiograph_geometry(_radiograph(sid_mm=1100.0, sod_mm=820.0))
    assert geometry.source == "entrance_surface_distance"
    assert geometry.sod_mm == pytest.approx(1100.0 - (55.0 + 225.0 / 2))
    assert geometry.magnification < 1100.0 / 820.0


def test_the_magnification_factor_with_sid_gives_the_distance() -> None:
    by_factor = radiograph_geometry(_radiograph(sid_mm=1100.0, magnification=1100.0 / 1040.0))
    by_distance = radiograph_geometry(_radiograph(sid_mm=1100.0, sod_mm=1040.0))
    assert by_factor == by_distance


def test_sid_alone_places_the_hip_at_its_usual_height_with_a_wider_uncertainty() -> None:
    alone = radiograph_geometry(_radiograph(sid_mm=1000.0))
    told = radiograph_geometry(_radiograph(sid_mm=1000.0, sod_mm=940.0))
    assert alone.source == "sid"
    assert alone.magnification == pytest.approx(1000.0 / (1000.0 - HIP_ABOVE_DETECTOR_MM))
    assert alone.relative_uncertainty > told.relative_uncertainty
    assert alone.relative_uncertainty == pytest.approx(150.0 / 12**0.5 / (1000.0 - HIP_ABOVE_DETECTOR_MM))
    # The hip lies 100–250 mm above the detector: the range is within about two SDs either side.
    for above in (100.0, 250.0):
        truth = 1000.0 / (1000.0 - above)
        assert abs(truth / alone.magnification - 1.0) < 2.2 * alone.relative_uncertainty


def test_an_implausible_distance_falls_back_to_sid() -> None:
    assert radiograph_geometry(_radiograph(sid_mm=1100.0, sod_mm=1100.0)).source == "sid"
    assert radiograph_geometry(_radiograph(sid_mm=1100.0, sod_mm=200.0)).source == "sid"


def test_a_lone_factor_is_used_and_nothing_at_all_is_flagged() -> None:
    factor = radiograph_geometry(_radiograph(magnification=1.12))
    assert factor.source == "magnification_factor" and factor.magnification == 1.12 and not factor.flags
    assert factor.relative_uncertainty == 0.05
    nothing = radiograph_geometry(_radiograph())
    assert nothing.source == "assumed" and nothing.sid_mm == DEFAULT_SID_MM
    assert nothing.flags == [f"magnification_assumed: {nothing.magnification:.3f}"]
    assert 0.04 < nothing.relative_uncertainty < 0.06


@pytest.mark.parametrize(
    ("sod_mm", "calibrated", "source"),
    [(1040.0, None, "tabletop_distance"), (None, None, "sid"), (None, (0.25, 0.25), "calibrated_spacing")],
)
def test_the_tags_the_simulator_writes_read_back(
    tmp_path: Path, sod_mm: float | None, calibrated: tuple[float, float] | None, source: str
) -> None:
    acquisition = DXAcquisition((0.3, 0.3), 1100.0, sod_mm, calibrated_spacing_mm=calibrated)
    path = write_dx(PIXELS, tmp_path / "x.dcm", acquisition)
    radiograph = read_radiograph(path)
    assert radiograph.pixel_spacing_mm == pytest.approx((0.3, 0.3))
    assert radiograph_geometry(radiograph).source == source
    if calibrated is not None:
        assert radiograph_geometry(radiograph).hip_spacing_mm == pytest.approx(calibrated)
