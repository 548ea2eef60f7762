"""A region partly beyond the radiograph's edge keeps its number, and its 95 % interval widens by the
invented share times the population's SD, with or without an interval calibration."""

from __future__ import annotations

import numpy as np
import pytest

from hipbmd.bmd.dxa_calibration import LinearDXAMap
from hipbmd.bmd.estimate import EstimateSettings, HipEstimate, _roi_measurement
from hipbmd.bmd.interval_calibration import Z_95, IntervalCalibration, OODReference, RegionErrorModel
from hipbmd.bmd.region_coverage import invented_share_half_width_g_cm2
from hipbmd.decomposition.crop import CropGrid
from hipbmd.decomposition.model_files import DecompositionModel
from hipbmd.localisation.hip_location import HipLocation

LINE = LinearDXAMap(1.0, 0.0, 0.9, 100, 0.01)  # slope 1, residual SD 0.01 g/cm²
MODEL = DecompositionModel(None, CropGrid(), {"neck": LINE.to_dict()})
WIDE_G_CM2 = 0.045  # high_uncertainty above this half-width
CALIBRATION = IntervalCalibration(  # an error SD of 0.02 g/cm² whatever the hip: half-width 0.0392
    {"neck": RegionErrorModel(LINE, (float(np.log(0.02)), 0.0, 0.0), 1.96, WIDE_G_CM2, 50, 50)},
    OODReference((0.0,) * 10, tuple(tuple(float(i == j) for j in range(10)) for i in range(10)), 10.0),
)
LOCATION = HipLocation("right", (100.0, 100.0), None, 0.9, 0.0, "dicom")


def _neck(share: float, calibration: IntervalCalibration | None) -> tuple[float, float, list[str]]:
    hip = HipEstimate("right", LOCATION, raw_abmd_g_cm2={"neck": 0.70}, off_image_shares={"neck": share})
    neck = _roi_measurement(hip, "neck", MODEL, EstimateSettings(), 70.0, calibration)
    assert neck.abmd_g_cm2 is not None and neck.interval_g_cm2 is not None
    low, high = neck.interval_g_cm2
    return neck.abmd_g_cm2, (high - low) / 2.0, hip.flags


@pytest.mark.parametrize("share", [0.0, 0.2, 0.4])
def test_a_calibrated_interval_widens_by_the_invented_share(share: float) -> None:
    abmd, half_width, flags = _neck(share, CALIBRATION)
    assert abmd == pytest.approx(0.70)  # the number is the whole region's
    expected = np.hypot(1.96 * 0.02, invented_share_half_width_g_cm2(share, "neck"))
    assert half_width == pytest.approx(expected, abs=1e-4)
    assert any(flag.startswith("high_uncertainty") for flag in flags) == (share > 0.0)


@pytest.mark.parametrize("share", [0.0, 0.3])
def test_an_uncalibrated_interval_widens_the_same_way(share: float) -> None:
    abmd, half_width, _ = _neck(share, None)
    assert abmd == pytest.approx(0.70)
    line_only = Z_95 * LINE.residual_sd_g_cm2  # no Monte-Carlo samples: no spread
    expected = np.hypot(line_only, invented_share_half_width_g_cm2(share, "neck"))
    assert half_width == pytest.approx(expected, abs=1e-4)
