"""X-ray physics tables and the quantities derived from them, checked against published reference values."""

from __future__ import annotations

import numpy as np
import pytest

from hipbmd.physics import xray as physics


@pytest.mark.parametrize(
    ("material", "energy_kev", "nist_cm2_g"),
    [("water", 60.0, 0.2059), ("ha", 60.0, 0.4067), ("water", 20.0, 0.8096), ("aluminium", 60.0, 0.2778)],
)
def test_mass_attenuation_matches_nist_xcom(material: str, energy_kev: float, nist_cm2_g: float) -> None:
    assert physics.mass_attenuation_cm2_g(material, energy_kev) == pytest.approx(nist_cm2_g, rel=0.01)


def test_every_material_has_a_positive_decreasing_coefficient_away_from_edges() -> None:
    energies = np.arange(40.0, 150.0)  # above the K edges of Cs, I and Ba (36–37 keV), below W's
    for material in physics.MATERIALS:
        mu = physics.mass_attenuation_cm2_g(material, energies)
        assert np.all(mu > 0)
        assert np.all(np.diff(mu) < 0), material


def test_log_log_interpolation_lies_between_grid_values() -> None:
    low, mid, high = physics.mass_attenuation_cm2_g("soft", [60.0, 60.5, 61.0])
    assert high < mid < low
    assert mid == pytest.approx(np.sqrt(low * high), rel=1e-3)  # log-linear in between, near the midpoint


def test_unknown_material_and_out_of_range_energy_are_errors() -> None:
    with pytest.raises(ValueError, match="unknown material"):
        physics.mass_attenuation_cm2_g("bone", 60.0)
    with pytest.raises(ValueError, match="10–150 keV"):
        physics.mass_attenuation_cm2_g("water", 5.0)


def test_linear_attenuation_and_ct_numbers() -> None:
    assert physics.linear_attenuation_per_mm("water", 1.0, 60.0) == pytest.approx(0.02059, rel=0.01)
    water = physics.mixture_attenuation_per_mm({"water": 1.0}, 70.0)
    air = physics.linear_attenuation_per_mm("air", physics.nominal_density_g_cm3("air"), 70.0)
    hu = physics.ct_number_hu(np.array([water, air, 2 * water]), 70.0)
    np.testing.assert_allclose(hu, [0.0, -999.0, 1000.0], atol=0.5)  # air: ρ/ρ_water ≈ 0.0012


def test_mixture_sums_partial_densities_per_voxel() -> None:
    ha_mg_cm3 = np.array([0.0, 100.0, 400.0])
    mu = physics.mixture_attenuation_per_mm({"ha": ha_mg_cm3 / 1000.0, "soft": 1.0}, 60.0)
    expected = (0.4067 * ha_mg_cm3 / 1000.0 + float(physics.mass_attenuation_cm2_g("soft", 60.0))) / 10.0
    np.testing.assert_allclose(mu, expected, rtol=0.01)
    assert np.all(np.diff(physics.ct_number_hu(mu, 60.0)) > 0)


def test_spectrum_80_kvp_hvl_and_mean_energy_are_those_of_a_diagnostic_beam() -> None:
    spectrum = physics.tube_spectrum(80.0)  # 2.5 mm Al total filtration
    assert 2.5 < physics.half_value_layer_al_mm(spectrum) < 3.5
    assert physics.half_value_layer_al_mm(spectrum) == pytest.approx(2.73, rel=0.03)  # SpekPy's own HVL
    assert 80.0 / 3 < spectrum.mean_energy_kev < 80.0 / 2 + 5
    assert physics.air_kerma_ugy_per_mas_at_1m(spectrum) == pytest.approx(82.0, rel=0.05)  # SpekPy's kerma


def test_spectrum_is_zero_above_kvp_and_interpolates_between_tabulated_kvp() -> None:
    spectrum = physics.tube_spectrum(77.5)
    assert np.all(spectrum.photons_per_mm2_per_mas_at_1m[spectrum.energies_kev > 78.0] == 0)
    totals = [physics.tube_spectrum(kvp).total_photons_per_mm2_per_mas_at_1m for kvp in (75.0, 80.0)]
    assert totals[0] < spectrum.total_photons_per_mm2_per_mas_at_1m < totals[1]
    with pytest.raises(ValueError, match="kVp"):
        physics.tube_spectrum(40.0)


def test_added_filtration_hardens_the_beam() -> None:
    plain = physics.tube_spectrum(80.0)
    hardened = physics.tube_spectrum(80.0, added_al_mm=1.0, added_cu_mm=0.1)
    assert hardened.mean_energy_kev > plain.mean_energy_kev + 2.0
    assert physics.half_value_layer_al_mm(hardened) > physics.half_value_layer_al_mm(plain) + 0.5
    assert hardened.total_photons_per_mm2_per_mas_at_1m < plain.total_photons_per_mm2_per_mas_at_1m


def test_rqa5_beam_fluence_per_kerma_matches_iec_62220() -> None:
    rqa5 = physics.tube_spectrum(70.0, added_al_mm=21.0)
    per_ugy = rqa5.total_photons_per_mm2_per_mas_at_1m / physics.air_kerma_ugy_per_mas_at_1m(rqa5)
    assert per_ugy == pytest.approx(29653.0, rel=0.03)  # IEC 62220-1: SNR²_in per µGy for RQA5, 1/mm²


def test_beam_hardening_lowers_the_effective_attenuation_of_water_with_thickness() -> None:
    spectrum = physics.tube_spectrum(80.0)
    mu = physics.linear_attenuation_per_mm("water", 1.0, spectrum.energies_kev)
    photons = spectrum.photons_per_mm2_per_mas_at_1m
    thickness_mm = np.array([10.0, 50.0, 100.0, 200.0, 300.0])
    transmission = np.array([np.sum(photons * np.exp(-mu * t)) / photons.sum() for t in thickness_mm])
    effective = -np.log(transmission) / thickness_mm
    assert np.all(np.diff(effective) < 0)
    mu_at_kvp = float(physics.linear_attenuation_per_mm("water", 1.0, 80.0))
    assert mu_at_kvp < effective[-1] < effective[0]
