"""Who the virtual patients are: sex ratio, T-scores by age against the survey they are tuned to, ranges.

Tolerances are three binomial (or normal) standard errors of the statistic for the number of draws, so a
correct sampler fails less than once in a few hundred seeds, while a wrong age curve or sex ratio fails.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from hipbmd.sim.population import MEN_T_OFFSET, Patient, mean_neck_t_score, sample_patient

DRAWS = 2000
DECADES = [(40, 50), (50, 60), (60, 70), (70, 80), (80, 93)]


@pytest.fixture(scope="module")
def patients() -> list[Patient]:
    rng = np.random.default_rng(2024)
    return [sample_patient(rng) for _ in range(DRAWS)]


def _women(patients: list[Patient], low: float, high: float) -> list[Patient]:
    return [p for p in patients if p.sex == "F" and low <= p.age_years < high]


def test_about_seventy_percent_are_women(patients: list[Patient]) -> None:
    share = np.mean([p.sex == "F" for p in patients])
    assert share == pytest.approx(0.70, abs=3 * math.sqrt(0.7 * 0.3 / DRAWS))  # ±0.031


def test_osteoporosis_share_of_women_in_their_seventies_is_the_survey_value(patients: list[Patient]) -> None:
    """NHANES 2005-2010 (Wright et al. 2014): 25.7 % of women aged 70-79 have T ≤ −2.5."""
    women = _women(patients, 70, 80)
    share = float(np.mean([p.target_neck_t_score <= -2.5 for p in women]))
    standard_error = math.sqrt(0.257 * 0.743 / len(women))  # about 0.021 for ~440 women
    assert len(women) > 300
    assert share == pytest.approx(0.257, abs=3 * standard_error)


def test_women_lose_bone_with_age(patients: list[Patient]) -> None:
    means = []
    for low, high in DECADES:
        women = _women(patients, low, high)
        t_scores = np.array([p.target_neck_t_score for p in women])
        expected = np.mean([mean_neck_t_score(p.age_years, "F") for p in women])
        assert t_scores.mean() == pytest.approx(expected, abs=3 / math.sqrt(len(women))), (low, high)
        means.append(t_scores.mean())
    assert all(np.diff(means) < 0), means


def test_men_are_the_stated_offset_above_women_of_the_same_age(patients: list[Patient]) -> None:
    men = [p for p in patients if p.sex == "M"]
    offsets = [p.target_neck_t_score - mean_neck_t_score(p.age_years, "F") for p in men]
    assert np.mean(offsets) == pytest.approx(MEN_T_OFFSET, abs=3 / math.sqrt(len(men)))
    residuals = [p.target_neck_t_score - mean_neck_t_score(p.age_years, p.sex) for p in patients]
    assert np.std(residuals) == pytest.approx(1.0, abs=3 / math.sqrt(2 * DRAWS))  # T-score SD of 1


def test_draws_stay_within_their_clipped_ranges(patients: list[Patient]) -> None:
    ages = [p.age_years for p in patients]
    assert min(ages) >= 40.0 and max(ages) <= 92.0
    assert 65.0 < np.median(ages) < 72.0  # triangular, peaking at 72
    assert all(17.0 <= p.bmi_kg_m2 <= 42.0 for p in patients)
    assert all(0.2 <= p.marrow_fat_fraction <= 0.85 for p in patients)
    for p in patients:
        for side in ("right", "left"):
            shape, density = p.femur_shapes[side], p.femur_densities[side]
            assert 0.74 <= shape.neck_flattening <= 0.86
            assert 0.8 <= density.neck_cortex_mm <= 3.0
            assert 0.3 <= density.texture_contrast <= 0.45
            assert shape.osteophyte_mm == 0.0 or 2.0 <= shape.osteophyte_mm <= 5.0


def test_femur_angles_stay_within_their_clipped_ranges(patients: list[Patient]) -> None:
    angles = np.array([p.femur_shapes[s].neck_shaft_angle_deg for p in patients for s in ("right", "left")])
    version = np.array([p.femur_shapes[s].anteversion_deg for p in patients for s in ("right", "left")])
    assert angles.min() >= 115.0 and angles.max() <= 145.0, (angles.min(), angles.max())
    assert version.min() >= -5.0 and version.max() <= 35.0, (version.min(), version.max())


def test_implants_are_in_the_hip_dxa_does_not_measure(patients: list[Patient]) -> None:
    with_implant = [p for p in patients if p.implant is not None]
    assert with_implant, "no implant in 2000 patients"
    assert all(p.implant is not None and p.implant.side != p.index_side for p in with_implant)
    assert {p.implant.kind for p in with_implant if p.implant is not None} == {"arthroplasty", "screws"}
    assert len(with_implant) < 0.15 * DRAWS


def test_osteoarthritis_narrows_the_joint_space(patients: list[Patient]) -> None:
    arthritic = [p for p in patients if any(s.osteophyte_mm > 0 for s in p.femur_shapes.values())]
    healthy = [p for p in patients if all(s.osteophyte_mm == 0 for s in p.femur_shapes.values())]
    assert arthritic and healthy
    assert all(1.0 <= p.pelvis.joint_space_mm <= 2.0 for p in arthritic)
    assert all(2.5 <= p.pelvis.joint_space_mm <= 4.5 for p in healthy)


def test_density_scale_multiplies_both_compartments(patients: list[Patient]) -> None:
    patient = patients[0]
    scaled = patient.with_density_scale(0.8)
    for side in ("right", "left"):
        before, after = patient.femur_densities[side], scaled.femur_densities[side]
        assert after.cortical_mg_cm3 == pytest.approx(0.8 * before.cortical_mg_cm3)
        assert after.trabecular_mg_cm3 == pytest.approx(0.8 * before.trabecular_mg_cm3)
        assert after.shaft_cortex_mm == before.shaft_cortex_mm
    assert scaled.femur_shapes == patient.femur_shapes and scaled.age_years == patient.age_years
