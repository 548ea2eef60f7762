"""The T-score compares with young adults: below 20 there is no T-score and no category, flagged; from
20 to 49 the record notes that the ISCD advises Z-scores."""

from __future__ import annotations

import numpy as np
import pytest

from hipbmd.bmd.dxa_calibration import LinearDXAMap
from hipbmd.bmd.estimate import EstimateSettings, HipEstimate, _input_flags, _roi_measurement
from hipbmd.bmd.interval_calibration import IntervalCalibration, OODReference, RegionErrorModel
from hipbmd.decomposition.crop import CropGrid
from hipbmd.decomposition.model_files import DecompositionModel
from hipbmd.localisation.hip_location import HipLocation
from hipbmd.types import Radiograph

LOCATION = HipLocation("right", (100.0, 100.0), None, 0.9, 0.0, "dicom")
LINE = LinearDXAMap(1.0, 0.0, 0.9, 100, 0.01)
MODEL = DecompositionModel(None, CropGrid(), {"neck": LINE.to_dict()})
# an error SD of 0.02 g/cm² whatever the hip: at 0.60 g/cm² the neck is osteopenic with probability 0.98
CALIBRATION = IntervalCalibration(
    {"neck": RegionErrorModel(LINE, (float(np.log(0.02)), 0.0, 0.0), 1.96, 1.0, 50, 50)},
    OODReference((0.0,) * 10, tuple(tuple(float(i == j) for j in range(10)) for i in range(10)), 10.0),
)


def _radiograph(age: float | None) -> Radiograph:
    return Radiograph(np.zeros((4, 4), np.float32), (0.2, 0.2), "imager", view="AP", age_years=age)


def _neck(age: float | None) -> tuple[list[str], object]:
    hip = HipEstimate("right", LOCATION, raw_abmd_g_cm2={"neck": 0.60}, flags=_input_flags(_radiograph(age)))
    return hip.flags, _roi_measurement(hip, "neck", MODEL, EstimateSettings(), age, CALIBRATION)


@pytest.mark.parametrize("age", [7.0, 19.9])
def test_a_child_gets_no_t_score_and_no_category(age: float) -> None:
    flags, neck = _neck(age)
    assert any(flag.startswith("age_under_20:") for flag in flags)
    assert neck.abmd_g_cm2 == pytest.approx(0.60)  # the number stays
    assert neck.t_score is None and neck.who_category is None and neck.jos_category is None


def test_a_young_adult_gets_a_t_score_with_the_iscd_note() -> None:
    flags, neck = _neck(35.0)
    assert [flag.split(":")[0] for flag in flags] == ["age_under_50"]
    assert neck.t_score is not None and neck.who_category is not None


@pytest.mark.parametrize("age", [50.0, 80.0, None])
def test_older_adults_and_unknown_ages_get_no_age_flag(age: float | None) -> None:
    flags, neck = _neck(age)
    assert not any(flag.startswith("age_") for flag in flags)
    assert neck.t_score == pytest.approx(-2.2) and neck.who_category == "osteopenia"  # NHANES III neck
