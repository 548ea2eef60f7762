"""The WHO category with its confidence: tail probabilities against the thresholds, the ISCD lowest-T
rule with bounds that hold for any dependence between regions, and the category withheld below the
confidence asked for."""

from __future__ import annotations

import pytest

from hipbmd.bmd.category_confidence import RegionTail, region_tail, who_category_call
from hipbmd.bmd.reference import NHANES_III

NECK = NHANES_III["neck"]


def neck_at(t_score: float) -> float:
    return NECK.mean_g_cm2 + t_score * NECK.sd_g_cm2


def test_an_estimate_on_a_threshold_is_even_odds_and_one_sd_away_is_phi_of_one() -> None:
    assert region_tail("neck", neck_at(-2.5), 0.05).p_osteoporosis == pytest.approx(0.5)
    assert region_tail("neck", neck_at(-1.0), 0.05).p_below_normal == pytest.approx(0.5)
    tail = region_tail("neck", neck_at(-2.5) + 0.05, 0.05)
    assert tail.p_osteoporosis == pytest.approx(0.158655, abs=1e-6)  # Φ(−1)


def test_clear_cases_get_their_category() -> None:
    low = who_category_call([region_tail("neck", neck_at(-3.5), 0.04), region_tail("total_hip", 0.9, 0.04)])
    assert low.category == "osteoporosis" and low.probability > 0.99
    middle = who_category_call([region_tail("neck", neck_at(-1.75), 0.01)])
    assert middle.category == "osteopenia"
    high = who_category_call([region_tail("neck", neck_at(0.5), 0.03)])
    assert high.category == "normal"


def test_the_lowest_region_decides_osteoporosis_whatever_the_other() -> None:
    call = who_category_call([RegionTail("neck", 0.95, 1.0), RegionTail("total_hip", 0.0, 0.1)])
    assert call.category == "osteoporosis" and call.probability == 0.95


@pytest.mark.parametrize(
    ("q_neck", "q_total", "given"), [(0.04, 0.05, "normal"), (0.06, 0.05, None), (0.05, 0.05, "normal")]
)
def test_normal_needs_both_regions_clear_of_minus_one(
    q_neck: float, q_total: float, given: str | None
) -> None:
    call = who_category_call([RegionTail("neck", 0.0, q_neck), RegionTail("total_hip", 0.0, q_total)])
    assert call.category == given and call.likeliest == "normal"
    assert call.probability == pytest.approx(1.0 - q_neck - q_total)


def test_an_uncertain_hip_names_its_likeliest_category_but_is_not_given_one() -> None:
    call = who_category_call([region_tail("neck", neck_at(-2.4), 0.1)])
    assert call.category is None and call.likeliest in ("osteopenia", "osteoporosis")
    assert call.probability < 0.9
    assert who_category_call([region_tail("neck", neck_at(-2.4), 0.1)], confidence=0.51).category is None


def test_a_lower_confidence_gives_more_categories() -> None:
    tails = [region_tail("neck", neck_at(-2.9), 0.05)]
    assert who_category_call(tails).category is None
    assert who_category_call(tails, confidence=0.75).category == "osteoporosis"


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="confidence"):
        who_category_call([RegionTail("neck", 0.5, 0.5)], confidence=0.4)
    with pytest.raises(ValueError, match="no region"):
        who_category_call([])
    with pytest.raises(ValueError, match="positive error SD"):
        region_tail("neck", 0.7, 0.0)
    with pytest.raises(ValueError, match="reference"):
        region_tail("proximal_femur", 0.7, 0.05)
