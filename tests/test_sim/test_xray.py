"""Radiograph formation: physical behaviour on small phantoms whose answer is known, and DX files per site."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from hipbmd.io import read_radiograph
from hipbmd.io.dicom_dx import write_dx
from hipbmd.sim.sites import SITE_PROFILES, SiteProfile
from hipbmd.sim.xray import dx_acquisition, expose, grid_transmission, simulate_radiograph

PROFILES = list(SITE_PROFILES.values())
SPACING_MM = 0.3
SID_MM = 1100.0


def slab(soft_g_cm2: float = 15.0, shape: tuple[int, int] = (64, 64)) -> dict[str, np.ndarray]:
    """Uniform soft tissue with a little fat; no bone."""
    return {"soft": np.full(shape, soft_g_cm2, np.float32), "fat": np.full(shape, 3.0, np.float32)}


def bone_steps(levels_g_cm2: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5)) -> dict[str, np.ndarray]:
    """A slab with vertical strips of increasing hydroxyapatite, 16 columns each."""
    rays = slab(shape=(64, 16 * len(levels_g_cm2)))
    rays["ha"] = np.repeat(np.asarray(levels_g_cm2, np.float32), 16)[None, :].repeat(64, axis=0)
    return rays


def fixed_mas(profile: SiteProfile, mas: float) -> SiteProfile:
    technique = dataclasses.replace(profile.technique, mas=mas, aec_detector_ugy=None, heel_gradient=0.0)
    return dataclasses.replace(profile, technique=technique)


def strip_means(image: np.ndarray, strips: int) -> np.ndarray:
    """Mean of the inner 8 columns of each 16-column strip, rows 8–56 (away from edge halos)."""
    return np.array([image[8:56, 16 * k + 4 : 16 * k + 12].mean() for k in range(strips)])


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_more_mineral_is_brighter_at_every_site(profile: SiteProfile, rng: np.random.Generator) -> None:
    image = simulate_radiograph(bone_steps(), SPACING_MM, SID_MM, profile, rng)
    assert np.all(np.diff(strip_means(image, 4)) > 0)


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_every_site_writes_a_dx_file_that_reads_back(
    profile: SiteProfile, rng: np.random.Generator, tmp_path: Path
) -> None:
    rays = bone_steps()
    image = simulate_radiograph(rays, SPACING_MM, SID_MM, profile, rng)
    assert image.shape == rays["soft"].shape and image.dtype == np.float32 and np.all(np.isfinite(image))
    assert image.min() >= 0 and image.max() <= 2**profile.processing.bits_stored - 1
    laterality = "both" if profile.view == "AP pelvis" else "left"
    acquisition = dx_acquisition(
        profile, SID_MM, 1000.0, SPACING_MM, age_years=70, sex="F", laterality=laterality
    )
    read = read_radiograph(write_dx(image, tmp_path / "hip.dcm", acquisition))
    assert read.pixel_spacing_mm == pytest.approx((SPACING_MM, SPACING_MM))
    assert read.sid_mm == pytest.approx(SID_MM) and read.sod_mm == pytest.approx(1000.0)
    assert read.presentation == profile.processing.presentation and read.laterality == laterality
    assert read.meta["manufacturer"] == profile.manufacturer
    assert np.all(np.diff(strip_means(read.array, 4)) > 0)  # still bone bright, MONOCHROME1 or not


def test_acquisition_laterality_must_match_the_view() -> None:
    with pytest.raises(ValueError, match="both hips"):
        dx_acquisition(SITE_PROFILES["site_a_csi"], SID_MM, 1000.0, SPACING_MM, laterality="left")
    with pytest.raises(ValueError, match="one side"):
        dx_acquisition(SITE_PROFILES["site_e_ase"], SID_MM, 1000.0, SPACING_MM, laterality="both")


def test_same_generator_state_gives_the_same_image() -> None:
    profile, rays = SITE_PROFILES["site_b_csi"], bone_steps()
    first = simulate_radiograph(rays, SPACING_MM, SID_MM, profile, np.random.default_rng(7))
    again = simulate_radiograph(rays, SPACING_MM, SID_MM, profile, np.random.default_rng(7))
    other = simulate_radiograph(rays, SPACING_MM, SID_MM, profile, np.random.default_rng(8))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_relative_noise_variance_falls_inversely_with_dose(rng: np.random.Generator) -> None:
    profile = SITE_PROFILES["site_a_csi"]
    relative_variance = []
    for mas in (5.0, 20.0):
        signal = expose(slab(shape=(96, 96)), SPACING_MM, SID_MM, fixed_mas(profile, mas), rng).signal_kev
        inner = signal[8:-8, 8:-8]
        relative_variance.append(inner.var() / inner.mean() ** 2)
    assert relative_variance[0] / relative_variance[1] == pytest.approx(4.0, rel=0.2)


def test_quantum_noise_matches_the_number_of_absorbed_quanta(rng: np.random.Generator) -> None:
    profile = fixed_mas(SITE_PROFILES["site_e_ase"], 10.0)  # a-Se: PSF far narrower than a pixel
    exposure = expose(slab(shape=(96, 96)), SPACING_MM, SID_MM, profile, rng)
    inner = exposure.signal_kev[8:-8, 8:-8]
    quanta = inner.mean() / exposure.kev_per_quantum
    blur_variance_kept = 0.95  # a Gaussian of σ 0.05/0.3 px barely smooths the noise
    assert inner.var() / exposure.kev_per_quantum**2 == pytest.approx(quanta * blur_variance_kept, rel=0.15)


def test_thicker_patients_get_more_mas_from_the_aec_and_the_same_detector_signal(
    rng: np.random.Generator,
) -> None:
    profile = SITE_PROFILES["site_a_csi"]
    thin = expose(slab(10.0), SPACING_MM, SID_MM, profile, rng)
    thick = expose(slab(25.0), SPACING_MM, SID_MM, profile, rng)
    assert thick.mas > 3 * thin.mas
    assert thick.signal_kev[21:43, 21:43].mean() == pytest.approx(
        thin.signal_kev[21:43, 21:43].mean(), rel=0.03
    )


def test_signal_follows_the_inverse_square_law(rng: np.random.Generator) -> None:
    profile = fixed_mas(SITE_PROFILES["site_a_csi"], 10.0)
    near = expose(slab(), SPACING_MM, 1000.0, profile, rng)
    far = expose(slab(), SPACING_MM, 1200.0, profile, rng)
    assert near.direct_signal_kev / far.direct_signal_kev == pytest.approx(1.44, rel=1e-6)
    assert near.signal_kev.mean() / far.signal_kev.mean() == pytest.approx(1.44, rel=0.01)


def test_a_grid_raises_bone_contrast(rng: np.random.Generator) -> None:
    with_grid = fixed_mas(SITE_PROFILES["site_b_csi"], 20.0)
    without = dataclasses.replace(
        with_grid, technique=dataclasses.replace(with_grid.technique, grid_ratio=None)
    )
    contrasts = []
    for profile in (with_grid, without):  # 4 mm pixels: a 26 × 13 cm field, with pelvis-like scatter
        means = strip_means(expose(bone_steps((0.0, 1.5)), 4.0, SID_MM, profile, rng).signal_kev, 2)
        contrasts.append(np.log(means[0] / means[1]))
    assert contrasts[0] > 1.3 * contrasts[1]
    assert grid_transmission(None) == (1.0, 1.0)
    primary, scatter = grid_transmission(10.0)
    assert 0.6 < primary < 0.8 and scatter < 0.2


def test_heel_effect_makes_a_row_gradient(rng: np.random.Generator) -> None:
    base = fixed_mas(SITE_PROFILES["site_a_csi"], 20.0)
    heel = dataclasses.replace(base, technique=dataclasses.replace(base.technique, heel_gradient=0.1))
    signal = expose(slab(shape=(128, 32)), SPACING_MM, SID_MM, heel, rng).signal_kev
    top, bottom = signal[4:20].mean(), signal[-20:-4].mean()
    assert bottom / top == pytest.approx(1.0 + 0.1 * 108 / 127, rel=0.02)


def test_metal_implants_attenuate_far_more_than_bone(rng: np.random.Generator) -> None:
    rays = bone_steps((0.0, 1.0))
    rays["titanium"] = np.zeros_like(rays["soft"])
    rays["titanium"][:, 16:] = 2.0  # ~4.5 mm of Ti-6Al-4V over the bone strip
    signal = expose(rays, SPACING_MM, SID_MM, fixed_mas(SITE_PROFILES["site_a_csi"], 20.0), rng).signal_kev
    bone_only = expose(
        bone_steps((0.0, 1.0)), SPACING_MM, SID_MM, fixed_mas(SITE_PROFILES["site_a_csi"], 20.0), rng
    )
    assert strip_means(signal, 2)[1] < 0.5 * strip_means(bone_only.signal_kev, 2)[1]


def test_bad_line_integrals_are_rejected(rng: np.random.Generator) -> None:
    profile = SITE_PROFILES["site_a_csi"]
    with pytest.raises(ValueError, match="some of"):
        expose({"bone": np.ones((4, 4))}, SPACING_MM, SID_MM, profile, rng)
    with pytest.raises(ValueError, match="one shape"):
        expose({"soft": np.ones((4, 4)), "ha": np.ones((4, 5))}, SPACING_MM, SID_MM, profile, rng)
    with pytest.raises(ValueError, match="non-negative"):
        expose({"soft": -np.ones((4, 4))}, SPACING_MM, SID_MM, profile, rng)
