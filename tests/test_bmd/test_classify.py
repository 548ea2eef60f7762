"""T-score, %YAM and the WHO and JOS categories, at and around every boundary."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hipbmd.bmd.classify import jos_category, percent_yam, reported, t_score, who_category
from hipbmd.bmd.reference import NHANES_III_NECK, NHANES_III_TOTAL_HIP, YoungReference


def test_t_score_of_the_young_mean_is_zero_and_one_sd_below_is_minus_one() -> None:
    assert t_score(0.858, "neck") == pytest.approx(0.0)
    assert t_score(0.858 - 0.120, "neck") == pytest.approx(-1.0)
    assert t_score(0.942 - 2.5 * 0.122, "total_hip") == pytest.approx(-2.5)


def test_t_score_uses_the_given_reference() -> None:
    custom = {"neck": YoungReference("neck", 1.0, 0.1, "test")}
    assert t_score(0.8, "neck", custom) == pytest.approx(-2.0)
    assert t_score(0.8, "total_hip", custom) is None


def test_proximal_femur_has_no_nhanes_t_score() -> None:
    assert t_score(0.8, "proximal_femur") is None


@pytest.mark.parametrize("bmd", [-0.1, math.nan, math.inf])
def test_t_score_refuses_impossible_bmd(bmd: float) -> None:
    with pytest.raises(ValueError, match="bmd_g_cm2"):
        t_score(bmd, "neck")


def test_t_score_refuses_unknown_region() -> None:
    with pytest.raises(ValueError, match="unknown region"):
        t_score(0.8, "femoral_neck")


def test_percent_yam() -> None:
    assert percent_yam(0.7, 1.0) == pytest.approx(70.0)
    assert percent_yam(0.0, 0.8) == 0.0
    for bad_yam in (0.0, -1.0, math.nan):
        with pytest.raises(ValueError, match="yam_g_cm2"):
            percent_yam(0.7, bad_yam)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (-2.45, -2.5),  # half away from zero on the decimal form
        (-2.449, -2.4),
        (-0.95, -1.0),
        (-1.05, -1.1),
        (0.15, 0.2),
        (-2.4999999999999996, -2.5),
        (-2.5000000000000004, -2.5),
        (np.float64(-2.45), -2.5),
    ],
)
def test_reported_rounds_half_away_from_zero(value: float, expected: float) -> None:
    assert reported(value) == expected


@pytest.mark.parametrize(
    ("t", "category"),
    [
        (0.0, "normal"),
        (-1.0, "normal"),  # exactly −1: normal
        (-1.04, "normal"),  # prints as −1.0
        (-1.05, "osteopenia"),  # prints as −1.1
        (-1.1, "osteopenia"),
        (-2.4, "osteopenia"),
        (-2.449, "osteopenia"),  # prints as −2.4
        (-2.45, "osteoporosis"),  # prints as −2.5
        (-2.5, "osteoporosis"),  # exactly −2.5: osteoporosis
        (-4.0, "osteoporosis"),
    ],
)
def test_who_category_boundaries(t: float, category: str) -> None:
    assert who_category(t) == category


def test_float_noise_does_not_cross_a_who_boundary() -> None:
    """(0.558 − 0.858) / 0.120 is −2.4999999999999996 in binary floating point."""
    t = t_score(NHANES_III_NECK.mean_g_cm2 - 2.5 * NHANES_III_NECK.sd_g_cm2, "neck")
    assert t is not None
    assert who_category(t) == "osteoporosis"
    t = t_score(NHANES_III_TOTAL_HIP.mean_g_cm2 - NHANES_III_TOTAL_HIP.sd_g_cm2, "total_hip")
    assert t is not None
    assert who_category(t) == "normal"


def test_who_category_refuses_nan() -> None:
    with pytest.raises(ValueError, match="finite"):
        who_category(math.nan)


@pytest.mark.parametrize(
    ("yam", "category"),
    [
        (100.0, "normal"),
        (80.0, "normal"),  # exactly 80: normal
        (79.96, "normal"),  # prints as 80.0
        (79.9, "low_bone_mass"),
        (70.1, "low_bone_mass"),
        (70.05, "low_bone_mass"),  # prints as 70.1
        (70.04, "osteoporosis"),  # prints as 70.0
        (70.0, "osteoporosis"),  # exactly 70: osteoporosis
        (50.0, "osteoporosis"),
    ],
)
def test_jos_category_from_percent_yam(yam: float, category: str) -> None:
    assert jos_category(yam) == category


@pytest.mark.parametrize(
    ("yam", "category"),
    [
        (80.0, "normal"),  # not below 80: normal even with a fracture
        (79.9, "osteoporosis"),
        (75.0, "osteoporosis"),
        (70.0, "osteoporosis"),
    ],
)
def test_jos_category_with_a_non_vertebral_fragility_fracture(yam: float, category: str) -> None:
    assert jos_category(yam, fragility_fracture=True) == category


@pytest.mark.parametrize(
    ("yam", "t", "category"),
    [
        (85.0, -2.5, "osteoporosis"),  # T ≤ −2.5 whatever %YAM
        (75.0, -2.45, "osteoporosis"),  # prints as −2.5
        (75.0, -2.4, "low_bone_mass"),
        (85.0, -2.4, "normal"),  # JOS categories other than osteoporosis come from %YAM
        (85.0, None, "normal"),
    ],
)
def test_jos_category_with_a_t_score(yam: float, t: float | None, category: str) -> None:
    assert jos_category(yam, t_score=t) == category


def test_float_noise_does_not_cross_a_jos_boundary() -> None:
    at_80 = percent_yam(0.8 * 0.644, 0.644)
    assert at_80 < 80.0  # binary noise: 79.99999999999999
    assert jos_category(at_80) == "normal"
    assert jos_category(70.00000000000001) == "osteoporosis"  # e.g. 100 · (0.7 · 0.932454…) / 0.932454…
