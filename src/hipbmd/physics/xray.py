"""X-ray physics: material attenuation, tungsten tube spectra, air kerma, HVL and CT numbers.

All numbers come from the tables in ``hipbmd/resources/physics`` (see its PROVENANCE.txt), generated once by
``scripts/make_physics_tables.py`` with xraylib 4.3.0 and SpekPy 2.5.4; neither is needed at run time.
Energies are keV on the tables' 1 keV grid, 10–150 keV; mass attenuation coefficients μ/ρ are cm²/g and
include coherent scattering; linear attenuation coefficients are per mm, as everything else in hipbmd.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import numpy.typing as npt
from scipy.optimize import brentq

FloatArray = npt.NDArray[np.float64]

MATERIALS: tuple[str, ...] = (
    "ha", "k2hpo4", "water", "soft", "fat", "titanium", "cobalt_chrome",
    "aluminium", "copper", "air", "csi", "selenium", "bafbr",
)  # fmt: skip
"""Materials with a μ/ρ column; their names are the interface (csi, selenium, bafbr: detector layers)."""

HA_CRYSTAL_MG_CM3 = 3160.0  # density of hydroxyapatite itself: its mineral displaces that much volume
ENERGY_RANGE_KEV = (10.0, 150.0)
KVP_RANGE = (50.0, 150.0)
_KEV_TO_J = 1.602176634e-16


@cache
def _read_table(name: str) -> dict[str, FloatArray]:
    """A CSV resource of ``resources/physics`` as column name → read-only float64 array."""
    text = resources.files("hipbmd.resources").joinpath("physics", name).read_text()
    rows = list(csv.reader(text.splitlines()))
    values = np.asarray(rows[1:], dtype=np.float64)
    values.setflags(write=False)
    return {column: values[:, i] for i, column in enumerate(rows[0])}


@cache
def _densities() -> dict[str, float]:
    text = resources.files("hipbmd.resources").joinpath("physics", "materials.csv").read_text()
    return {row["material"]: float(row["density_g_cm3"]) for row in csv.DictReader(text.splitlines())}


def nominal_density_g_cm3(material: str) -> float:
    """The nominal density of a table material, g/cm³ (materials.csv: ICRU-44 tissues, alloys, crystals)."""
    _check_material(material)
    return _densities()[material]


def _check_material(material: str) -> None:
    if material not in MATERIALS:
        raise ValueError(f"unknown material {material!r}; known: {', '.join(MATERIALS)}")


def _log_log(table: str, column: str, energies_kev: npt.ArrayLike) -> FloatArray:
    """Log-log interpolation of a tabulated coefficient; energies outside 10–150 keV are an error."""
    energies = np.asarray(energies_kev, dtype=np.float64)
    low, high = ENERGY_RANGE_KEV
    if np.any(energies < low) or np.any(energies > high):
        raise ValueError(f"energies must lie in {low:g}–{high:g} keV")
    columns = _read_table(table)
    log_value = np.interp(np.log(energies), np.log(columns["energy_keV"]), np.log(columns[column]))
    return np.asarray(np.exp(log_value), dtype=np.float64)


def mass_attenuation_cm2_g(material: str, energies_kev: npt.ArrayLike) -> FloatArray:
    """Total mass attenuation coefficient μ/ρ (with coherent scattering) of a material, cm²/g."""
    _check_material(material)
    return _log_log("mass_attenuation.csv", material, energies_kev)


def air_mass_energy_absorption_cm2_g(energies_kev: npt.ArrayLike) -> FloatArray:
    """Mass energy-absorption coefficient μ_en/ρ of dry air, cm²/g (for air kerma)."""
    return _log_log("mass_energy_absorption.csv", "air", energies_kev)


def linear_attenuation_per_mm(material: str, density_g_cm3: float, energy_kev: npt.ArrayLike) -> FloatArray:
    """Linear attenuation coefficient μ = (μ/ρ)·ρ of a material at a density, 1/mm (μ/ρ·ρ in 1/cm ÷ 10)."""
    return mass_attenuation_cm2_g(material, energy_kev) * density_g_cm3 / 10.0


def mixture_attenuation_per_mm(
    partial_densities_g_cm3: Mapping[str, npt.ArrayLike], energy_kev: float
) -> FloatArray:
    """μ of a mixture, 1/mm: Σ_m (μ/ρ)_m(E)·ρ_m / 10, with ρ_m each material's mass per volume (g/cm³).

    The arrays (e.g. per-voxel partial densities of ``ha``, ``soft`` and ``fat``) broadcast together.
    """
    total: FloatArray = np.zeros(())
    for material, density in partial_densities_g_cm3.items():
        mu_rho = float(mass_attenuation_cm2_g(material, energy_kev))
        total = total + mu_rho * np.asarray(density, dtype=np.float64) / 10.0
    return total


def ct_number_hu(mu_per_mm: npt.ArrayLike, effective_energy_kev: float) -> FloatArray:
    """CT number, HU = 1000·(μ/μ_water − 1), with μ_water that of water at 1 g/cm³ at the effective energy."""
    mu_water = float(linear_attenuation_per_mm("water", 1.0, effective_energy_kev))
    return 1000.0 * (np.asarray(mu_per_mm, dtype=np.float64) / mu_water - 1.0)


@dataclass(frozen=True, eq=False)
class Spectrum:
    """An X-ray spectrum on the tables' 1 keV grid.

    Attributes:
        energies_kev: (N,) bin centres; bin E holds photons of energy in (E − 0.5, E + 0.5] keV.
        photons_per_mm2_per_mas_at_1m: (N,) photons per mm² per mAs at 1 m from the focal spot, per bin.
    """

    energies_kev: FloatArray
    photons_per_mm2_per_mas_at_1m: FloatArray

    @property
    def total_photons_per_mm2_per_mas_at_1m(self) -> float:
        """Photon fluence summed over energy, photons/mm²/mAs at 1 m."""
        return float(self.photons_per_mm2_per_mas_at_1m.sum())

    @property
    def mean_energy_kev(self) -> float:
        """Fluence-weighted mean photon energy, keV."""
        return float(np.average(self.energies_kev, weights=self.photons_per_mm2_per_mas_at_1m))

    def filtered(self, material: str, thickness_mm: float, density_g_cm3: float | None = None) -> Spectrum:
        """The spectrum after a slab: Φ(E)·exp(−μ(E)·t), at the material's nominal density unless given."""
        density = nominal_density_g_cm3(material) if density_g_cm3 is None else density_g_cm3
        mu_per_mm = linear_attenuation_per_mm(material, density, self.energies_kev)
        return Spectrum(
            self.energies_kev, self.photons_per_mm2_per_mas_at_1m * np.exp(-mu_per_mm * thickness_mm)
        )


def tube_spectrum(kvp: float, added_al_mm: float = 0.0, added_cu_mm: float = 0.0) -> Spectrum:
    """Tungsten-anode spectrum (SpekPy, 12° anode, 2.5 mm Al total inherent filtration) plus added filters.

    Between the tabulated 5 kV steps each bin is interpolated linearly in kVp; bins above kVp are zero.
    """
    low, high = KVP_RANGE
    if not low <= kvp <= high:
        raise ValueError(f"kVp must lie in {low:g}–{high:g}, got {kvp}")
    table = _read_table("tube_spectra.csv")
    kvps = np.array([float(name.removeprefix("kvp_")) for name in table if name.startswith("kvp_")])
    upper = min(int(np.searchsorted(kvps, kvp)), kvps.size - 1)
    lower = max(upper - 1, 0)
    fraction = 0.0 if upper == lower else (kvp - kvps[lower]) / (kvps[upper] - kvps[lower])
    photons = (1.0 - fraction) * table[f"kvp_{kvps[lower]:.0f}"] + fraction * table[f"kvp_{kvps[upper]:.0f}"]
    energies = table["energy_keV"]
    spectrum = Spectrum(energies.copy(), np.where(energies - 0.5 >= kvp, 0.0, photons))
    if added_al_mm > 0:
        spectrum = spectrum.filtered("aluminium", added_al_mm)
    if added_cu_mm > 0:
        spectrum = spectrum.filtered("copper", added_cu_mm)
    return spectrum


def air_kerma_ugy_per_mas_at_1m(spectrum: Spectrum) -> float:
    """Air kerma in free air, µGy per mAs at 1 m: K = Σ_E Φ(E)·E·(μ_en/ρ)_air(E)."""
    fluence_per_cm2 = spectrum.photons_per_mm2_per_mas_at_1m * 100.0
    joule_per_g = (
        fluence_per_cm2
        * spectrum.energies_kev
        * _KEV_TO_J
        * air_mass_energy_absorption_cm2_g(spectrum.energies_kev)
    )
    return float(joule_per_g.sum() * 1e3 * 1e6)


def half_value_layer_al_mm(spectrum: Spectrum) -> float:
    """First half-value layer, mm Al: the aluminium thickness that halves the air kerma (narrow beam)."""
    unfiltered = air_kerma_ugy_per_mas_at_1m(spectrum)

    def excess(thickness_mm: float) -> float:
        return air_kerma_ugy_per_mas_at_1m(spectrum.filtered("aluminium", thickness_mm)) / unfiltered - 0.5

    return float(brentq(excess, 0.0, 100.0, xtol=1e-6))
