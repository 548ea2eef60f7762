"""The hip's category is given with its probability, or withheld for a stated reason; a region's own WHO
and JOS calls follow the thresholds and the confidence asked for."""

from __future__ import annotations

import pytest

from hipbmd.bmd.category_confidence import region_jos_call, region_tail, region_who_call
from hipbmd.bmd.hip_category import hip_category
from hipbmd.bmd.record_parts import ROIMeasurement
from hipbmd.bmd.reference import NHANES_III

NECK = NHANES_III["neck"]


def _region(roi: str, t: float, sd: float) -> ROIMeasurement:
    young = NHANES_III[roi]
    abmd = young.mean_g_cm2 + t * young.sd_g_cm2
    tail = region_tail(roi, abmd, sd)
    return ROIMeasurement(
        "left", roi, abmd, None, t, None, None, None, sd, tail.p_osteoporosis, tail.p_below_normal
    )


def test_a_clear_osteoporosis_is_given_with_its_probability() -> None:
    category = hip_category([_region("neck", -3.5, 0.02), _region("total_hip", -2.0, 0.02)], [], 0.9)
    assert category.who_category == "osteoporosis" and category.withheld is None
    assert category.probability is not None and category.probability > 0.99
    assert "osteoporosis" in category.describe()


def test_a_borderline_hip_is_withheld_as_uncertain_with_the_likeliest_category() -> None:
    category = hip_category([_region("neck", -2.45, 0.05), _region("total_hip", -1.5, 0.05)], [], 0.9)
    assert category.who_category is None and category.withheld is not None
    assert category.withheld.startswith("uncertain_category: ") and category.likeliest is not None
    # the probability is the hip's, whatever confidence is asked for
    relaxed = hip_category([_region("neck", -2.45, 0.05), _region("total_hip", -1.5, 0.05)], [], 0.51)
    assert relaxed.probability == category.probability


@pytest.mark.parametrize(
    "flag",
    [
        "implant_suspected: 0.91",
        "low_localisation_confidence: 0.31",
        "out_of_distribution: distance 9.1 > 4.2",
        "intervals_not_calibrated: the model has no interval calibration",
        "samples_differ_from_calibration: 2 Monte-Carlo samples; the intervals were calibrated with 8",
        "age_under_20: 12 years; no T-score or category (the reference is for adults)",
        "region_points_incomplete: the localiser placed no greater trochanter",
    ],
)
def test_a_withholding_flag_is_the_stated_reason(flag: str) -> None:
    regions = [_region("neck", -3.5, 0.02), _region("total_hip", -3.0, 0.02)]
    category = hip_category(regions, ["side_assumed", flag], 0.9)
    assert category.who_category is None and category.withheld == flag


def test_a_hip_without_a_greater_trochanter_point_is_flagged_so_as_to_withhold_its_category() -> None:
    from hipbmd.bmd.estimate import landmark_flags

    flags = landmark_flags(("landmarks_learnt", "greater_trochanter_not_placed"))
    assert flags[:2] == ["landmarks: landmarks_learnt", "landmarks: greater_trochanter_not_placed"]
    regions = [_region("neck", -3.5, 0.02), _region("total_hip", -3.0, 0.02)]
    assert hip_category(regions, flags, 0.9).withheld == flags[2]
    assert flags[2].startswith("region_points_incomplete: ")
    assert landmark_flags(("landmarks_learnt",)) == ["landmarks: landmarks_learnt"]


def test_informative_flags_do_not_withhold() -> None:
    regions = [_region("neck", 0.5, 0.02), _region("total_hip", 0.5, 0.02)]
    flags = ["high_uncertainty: neck ±0.200 g/cm2", "head_centre_refined: 6.0 mm", "spacing_assumed"]
    assert hip_category(regions, flags, 0.9).who_category == "normal"


def test_a_region_without_a_calibrated_error_withholds_the_hip() -> None:
    bare = ROIMeasurement("left", "total_hip", 0.9)
    category = hip_category([_region("neck", 0.5, 0.02), bare], [], 0.9)
    assert category.withheld == "not_measured: total_hip"


def test_a_region_who_call_at_the_thresholds() -> None:
    at_osteoporosis = region_tail("neck", NECK.mean_g_cm2 - 2.5 * NECK.sd_g_cm2, 0.03)
    call = region_who_call(at_osteoporosis)
    assert call.category is None and call.probability == pytest.approx(0.5, abs=1e-3)
    deep = region_who_call(region_tail("neck", NECK.mean_g_cm2 - 3.5 * NECK.sd_g_cm2, 0.03))
    assert deep.category == "osteoporosis"
    middle = region_who_call(region_tail("neck", NECK.mean_g_cm2 - 1.75 * NECK.sd_g_cm2, 0.02))
    assert middle.category == "osteopenia"


def test_a_region_jos_call_at_its_yam_boundaries() -> None:
    yam = 0.80
    assert region_jos_call(0.70 * yam, 0.02, yam, NECK).likeliest == "osteoporosis"
    assert region_jos_call(0.70 * yam, 0.02, yam, NECK).probability == pytest.approx(0.5, abs=1e-3)
    assert region_jos_call(0.60 * yam, 0.02, yam, NECK).category == "osteoporosis"
    assert region_jos_call(0.75 * yam, 0.005, yam, NECK).category == "low_bone_mass"
    assert region_jos_call(0.95 * yam, 0.02, yam, NECK).category == "normal"
    # T <= -2.5 is osteoporosis whatever %YAM: with a YAM whose 70 % lies below the T = -2.5 aBMD, an
    # estimate between the two is osteoporosis by its T-score alone (low bone mass by %YAM)
    t_bound = NECK.mean_g_cm2 - 2.5 * NECK.sd_g_cm2
    low_yam = 0.95 * t_bound / 0.70  # 70 % of it: 0.95 of the T bound
    between = 0.975 * t_bound
    assert 70.0 < 100 * between / low_yam < 80.0  # %YAM alone would say low bone mass
    assert region_jos_call(between, 0.002, low_yam, NECK).category == "osteoporosis"
    with pytest.raises(ValueError, match="positive"):
        region_jos_call(0.6, 0.0, yam, NECK)
