"""Random radiograph styles: seeded draws, the families of each split, their ranges, the geometry tags."""

from __future__ import annotations

import numpy as np
import pytest

from hipbmd.sim.random_style import (
    HELD_OUT_FAMILIES,
    SITE_GEOMETRY,
    TRAINING_FAMILIES,
    GeometryTags,
    radiograph_style,
)
from hipbmd.sim.sites import SITE_PROFILES


def _styles(mode: str, count: int, seed: int = 0) -> list:  # type: ignore[type-arg]
    rng = np.random.default_rng(seed)
    return [radiograph_style(mode, "site_a_csi", rng) for _ in range(count)]


def test_the_same_seed_draws_the_same_styles() -> None:
    assert _styles("random", 5, seed=7) == _styles("random", 5, seed=7)
    assert _styles("random", 5, seed=7) != _styles("random", 5, seed=8)


def test_named_sites_draw_nothing_and_keep_their_profile() -> None:
    rng = np.random.default_rng(3)
    before = rng.bit_generator.state
    style = radiograph_style("sites", "site_c_cr", rng)
    assert rng.bit_generator.state == before
    assert style.profile is SITE_PROFILES["site_c_cr"] and style.family == "site"
    assert style.geometry == SITE_GEOMETRY["site_c_cr"]


def test_each_split_draws_only_its_own_families() -> None:
    training = {style.family for style in _styles("random", 80)}
    held_out = {style.family for style in _styles("random-held-out", 40)}
    assert training == set(TRAINING_FAMILIES)
    assert held_out == set(HELD_OUT_FAMILIES)
    assert all(style.profile.held_out for style in _styles("random-held-out", 10))


def test_drawn_settings_stay_in_their_ranges() -> None:
    for style in _styles("random", 60, seed=11):
        technique, detector = style.profile.technique, style.profile.detector
        assert 1000.0 <= technique.sid_range_mm[0] <= technique.sid_range_mm[1] <= 1200.0
        assert 60.0 <= technique.kvp <= 100.0
        assert 0.2 <= detector.pixel_pitch_mm <= 0.4
        assert 8 <= style.profile.processing.bits_stored <= 16
        assert 240.0 <= max(style.profile.field_mm) <= 430.0
        assert all(abs(v) <= 50.0 for v in style.framing_offset_mm)


def test_random_styles_vary_what_sites_fix() -> None:
    styles = _styles("random", 60, seed=2)
    assert {s.profile.view for s in styles} == {"AP pelvis", "AP hip"}
    assert {s.finishing.export for s in styles} == {"dicom", "png", "jpeg"}
    assert {s.profile.processing.monochrome1 for s in styles} == {True, False}
    assert {s.profile.technique.grid_ratio is None for s in styles} == {True, False}
    assert {s.geometry.distance_convention for s in styles} == {"table_top", "entrance_surface", "none"}


def test_unknown_style_is_named() -> None:
    with pytest.raises(ValueError, match="unknown style 'vintage'"):
        radiograph_style("vintage", "site_a_csi", np.random.default_rng(0))


def test_distance_source_to_patient_as_devices_write_it() -> None:
    sid, gap, depth = 1100.0, 60.0, 220.0
    assert GeometryTags("table_top").distance_source_to_patient_mm(sid, gap, depth) == 1040.0
    assert GeometryTags("entrance_surface").distance_source_to_patient_mm(sid, gap, depth) == 820.0
    assert GeometryTags("none").distance_source_to_patient_mm(sid, gap, depth) is None


def test_calibrated_spacing_is_the_detector_spacing_over_the_hip_magnification() -> None:
    assert GeometryTags(calibrated_spacing=True).calibrated_spacing_mm((0.3, 0.3), 1.2) == pytest.approx(
        (0.25, 0.25)
    )
    assert GeometryTags().calibrated_spacing_mm((0.3, 0.3), 1.2) is None
