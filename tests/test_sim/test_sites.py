"""The site registry: enough sites, held-out ones, and every number within the range its comment claims."""

from __future__ import annotations

import numpy as np
import pytest

from hipbmd.physics import xray as physics
from hipbmd.sim.sites import SITE_PROFILES, SiteProfile, held_out_sites, training_sites

PROFILES = list(SITE_PROFILES.values())


def test_registry_has_four_training_and_two_held_out_sites() -> None:
    assert len(training_sites()) >= 4
    assert len(held_out_sites()) >= 2
    assert all(name == profile.name for name, profile in SITE_PROFILES.items())


def test_sites_differ_as_vendors_do() -> None:
    assert {p.detector.kind for p in PROFILES} == {"CsI flat panel", "a-Se flat panel", "CR storage phosphor"}
    assert {p.processing.presentation for p in PROFILES} == {"FOR PROCESSING", "FOR PRESENTATION"}
    assert {p.processing.bits_stored for p in PROFILES} == {10, 12, 14, 16}
    assert {p.processing.tone_curve for p in PROFILES} >= {"gamma", "sigmoid", "film"}
    assert {p.view for p in PROFILES} == {"AP pelvis", "AP hip"}
    assert any(p.processing.monochrome1 for p in PROFILES)
    assert any(p.technique.grid_ratio is None for p in PROFILES)
    assert any(p.technique.aec_detector_ugy is None for p in PROFILES)
    assert any(p.technique.heel_gradient > 0 for p in PROFILES)
    assert len({p.manufacturer for p in PROFILES}) == len(PROFILES)


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_profile_values_are_plausible(profile: SiteProfile) -> None:
    detector, technique, processing = profile.detector, profile.technique, profile.processing
    assert 0.25 <= detector.pixel_pitch_mm <= 0.35
    assert detector.absorber in physics.MATERIALS
    assert 0.05 <= detector.absorber_g_cm2 <= 0.3
    assert 0.0 < detector.blur_sigma_mm < 0.3
    assert 70.0 <= technique.kvp <= 90.0
    assert 1000.0 <= technique.sid_range_mm[0] <= technique.sid_range_mm[1] <= 1200.0
    assert 0.0 < technique.table_gap_mm < 100.0
    assert technique.aec_detector_ugy is None or 1.0 <= technique.aec_detector_ugy <= 10.0
    assert technique.grid_ratio is None or 6.0 <= technique.grid_ratio <= 16.0
    assert len(processing.detail_radii_mm) == len(processing.detail_gains)
    assert list(processing.detail_radii_mm) == sorted(processing.detail_radii_mm)
    assert 0.0 <= processing.window_percentiles[0] < processing.window_percentiles[1] <= 100.0
    assert profile.body_part == ("PELVIS" if profile.view == "AP pelvis" else "HIP")


def test_sid_draws_are_within_range_and_seeded() -> None:
    profile = SITE_PROFILES["site_c_cr"]
    draws = [profile.draw_sid_mm(np.random.default_rng(seed)) for seed in range(20)]
    low, high = profile.technique.sid_range_mm
    assert all(low <= sid <= high for sid in draws)
    assert profile.draw_sid_mm(np.random.default_rng(3)) == draws[3]
