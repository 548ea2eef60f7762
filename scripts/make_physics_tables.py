"""Generate the X-ray physics tables that ``hipbmd.physics.xray`` ships as package resources.

Needs the ``simdata`` extra (``pip install spekpy==2.5.4 xraylib==4.3.0``); neither is a runtime dependency.

    python scripts/make_physics_tables.py [--out src/hipbmd/resources/physics]

Writes, all on a 1 keV grid from 10 to 150 keV:

- ``mass_attenuation.csv``: total mass attenuation coefficient μ/ρ with coherent scattering, cm²/g, per
  material (xraylib ``CS_Total`` = photoionisation + Rayleigh + Compton, summed by mass fraction).
- ``mass_energy_absorption.csv``: μ_en/ρ of dry air, cm²/g, for air kerma and HVL: NIST values (Hubbell &
  Seltzer, NIST SRD 126) interpolated log-log. Not xraylib's ``CS_Energy``, which disagrees with NIST
  (xraylib issues #176 and #255: 0.355 instead of 0.539 cm²/g for air at 20 keV).
- ``tube_spectra.csv``: tungsten-anode spectra from SpekPy for 50–150 kVp in 5 kV steps, 12° anode angle,
  2.5 mm Al total filtration, photons per mm² per mAs at 1 m in each 1 keV bin (E − 0.5, E + 0.5] keV.
- ``materials.csv``: each material's nominal density and composition, with its source.

PROVENANCE.txt is written by hand next to them; keep it in step with the constants below.
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ENERGIES_KEV = np.arange(10, 151, dtype=np.float64)
KVPS = np.arange(50, 151, 5)
ANODE_ANGLE_DEG = 12.0
TOTAL_FILTRATION_AL_MM = 2.5  # IEC 60601-1-3: at least 2.5 mm Al total filtration for tubes above 70 kV
SPEKPY_BIN_KEV = 0.5
# μ_en/ρ of dry air near sea level, cm²/g, at these energies (NIST SRD 126, Table 4)
AIR_MUEN_NIST_KEV = (10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 80.0, 100.0, 150.0)
AIR_MUEN_NIST_CM2_G = (4.742, 1.334, 0.5389, 0.1537, 0.06833, 0.04098, 0.03041, 0.02407, 0.02325, 0.02496)
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src" / "hipbmd" / "resources" / "physics"


@dataclass(frozen=True)
class Material:
    """A material for the tables: a chemical formula or mass fractions (%), a nominal density and a source."""

    name: str
    density_g_cm3: float
    source: str
    formula: str = ""
    percent_by_mass: tuple[tuple[str, float], ...] = ()


MATERIALS = (
    Material("ha", 3.16, "stoichiometric hydroxyapatite; density of the crystal", "Ca10(PO4)6(OH)2"),
    Material("k2hpo4", 2.44, "stoichiometric dipotassium phosphate; density of the solid", "K2HPO4"),
    Material("water", 1.0, "H2O", "H2O"),
    Material(
        "soft",
        1.05,
        "ICRU Report 44 (1989), skeletal muscle (Woodard & White, Br J Radiol 59:1209, 1986)",
        percent_by_mass=(
            ("H", 10.2),
            ("C", 14.3),
            ("N", 3.4),
            ("O", 71.0),
            ("Na", 0.1),
            ("P", 0.2),
            ("S", 0.3),
            ("Cl", 0.1),
            ("K", 0.4),
        ),
    ),
    Material(
        "fat",
        0.95,
        "ICRU Report 44 (1989), adipose tissue (Woodard & White, Br J Radiol 59:1209, 1986)",
        percent_by_mass=(
            ("H", 11.4),
            ("C", 59.8),
            ("N", 0.7),
            ("O", 27.8),
            ("Na", 0.1),
            ("S", 0.1),
            ("Cl", 0.1),
        ),
    ),
    Material(
        "titanium",
        4.43,
        "Ti-6Al-4V ELI, ASTM F136: Al 5.5-6.5, V 3.5-4.5, Fe <= 0.25, O <= 0.13, Ti balance (nominal values)",
        percent_by_mass=(("Ti", 89.7), ("Al", 6.0), ("V", 4.0), ("Fe", 0.2), ("O", 0.1)),
    ),
    Material(
        "cobalt_chrome",
        8.3,
        "CoCrMo casting alloy, ASTM F75: Cr 27-30, Mo 5-7, Ni/Fe/Mn/Si <= 0.5-1 each, Co balance (mid-range)",
        percent_by_mass=(
            ("Co", 64.0),
            ("Cr", 28.0),
            ("Mo", 6.0),
            ("Ni", 0.5),
            ("Fe", 0.5),
            ("Mn", 0.5),
            ("Si", 0.5),
        ),
    ),
    Material("aluminium", 2.699, "pure Al", "Al"),
    Material("copper", 8.96, "pure Cu", "Cu"),
    Material(
        "air",
        0.001205,
        "dry air near sea level (NIST ESTAR/XCOM composition)",
        percent_by_mass=(("C", 0.0124), ("N", 75.5268), ("O", 23.1781), ("Ar", 1.2827)),
    ),
    Material("csi", 4.51, "caesium iodide scintillator (CsI:Tl; thallium dopant neglected)", "CsI"),
    Material("selenium", 4.28, "amorphous selenium photoconductor", "Se"),
    Material(
        "bafbr", 5.1, "storage phosphor BaFBr0.85I0.15:Eu (europium dopant neglected)", "BaFBr0.85I0.15"
    ),
)


def mass_fractions(material: Material) -> dict[int, float]:
    """Atomic number → mass fraction (summing to one) of a material."""
    import xraylib

    if material.formula:
        parsed = xraylib.CompoundParser(material.formula)
        return dict(zip(parsed["Elements"], parsed["massFractions"], strict=True))
    total = sum(percent for _, percent in material.percent_by_mass)
    return {xraylib.SymbolToAtomicNumber(sym): percent / total for sym, percent in material.percent_by_mass}


def total_attenuation_cm2_g(fractions: dict[int, float]) -> np.ndarray:
    """μ/ρ = Σ_Z w_Z (μ/ρ)_Z(E) on ENERGIES_KEV, with xraylib's CS_Total (photo + Rayleigh + Compton)."""
    import xraylib

    return np.array(
        [sum(w * xraylib.CS_Total(z, float(e)) for z, w in fractions.items()) for e in ENERGIES_KEV]
    )


def air_energy_absorption_cm2_g() -> np.ndarray:
    """NIST μ_en/ρ of air, log-log onto ENERGIES_KEV (smooth: air has no absorption edge in 10–150 keV)."""
    log_energy, log_muen = np.log(AIR_MUEN_NIST_KEV), np.log(AIR_MUEN_NIST_CM2_G)
    return np.exp(np.interp(np.log(ENERGIES_KEV), log_energy, log_muen))


def tube_spectrum_photons_per_mm2(kvp: float) -> np.ndarray:
    """SpekPy W spectrum at 1 m per mAs, summed into 1 keV bins centred on ENERGIES_KEV, photons/mm²."""
    import spekpy

    spek = spekpy.Spek(kvp=kvp, th=ANODE_ANGLE_DEG, dk=SPEKPY_BIN_KEV, z=100.0, mas=1.0)
    spek.filter("Al", TOTAL_FILTRATION_AL_MM)
    centres_kev, fluence_per_cm2_kev = spek.get_spectrum(edges=False, flu=True, diff=True)
    photons_per_mm2 = fluence_per_cm2_kev * SPEKPY_BIN_KEV / 100.0
    bin_index = np.floor(centres_kev + 0.5).astype(int)  # centre in (E − 0.5, E + 0.5] → E
    binned = np.zeros(ENERGIES_KEV.size)
    inside = (bin_index >= ENERGIES_KEV[0]) & (bin_index <= ENERGIES_KEV[-1])
    np.add.at(binned, bin_index[inside] - int(ENERGIES_KEV[0]), photons_per_mm2[inside])
    return binned


def spekpy_reference(kvp: float) -> tuple[float, float]:
    """SpekPy's own air kerma (µGy per mAs at 1 m) and first HVL (mm Al), to check the tables against."""
    import spekpy

    spek = spekpy.Spek(kvp=kvp, th=ANODE_ANGLE_DEG, dk=SPEKPY_BIN_KEV, z=100.0, mas=1.0)
    spek.filter("Al", TOTAL_FILTRATION_AL_MM)
    return float(spek.get_kerma()), float(spek.get_hvl1())


def write_table(path: Path, columns: dict[str, np.ndarray], formats: dict[str, str]) -> None:
    """Write named equal-length columns as CSV, each formatted with its format (default 6 significant)."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in zip(*columns.values(), strict=True):
            writer.writerow(
                [format(value, formats.get(name, ".6g")) for name, value in zip(columns, row, strict=True)]
            )


def write_materials(path: Path) -> None:
    """One row per material: name, density, composition by mass (%), source."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["material", "density_g_cm3", "composition", "source"])
        for material in MATERIALS:
            composition = material.formula or " ".join(f"{s}:{p:g}" for s, p in material.percent_by_mass)
            writer.writerow([material.name, f"{material.density_g_cm3:g}", composition, material.source])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    energy = {"energy_keV": ENERGIES_KEV}
    integer = {"energy_keV": ".0f"}
    attenuation = {m.name: total_attenuation_cm2_g(mass_fractions(m)) for m in MATERIALS}
    write_table(out / "mass_attenuation.csv", energy | attenuation, integer)
    write_table(out / "mass_energy_absorption.csv", energy | {"air": air_energy_absorption_cm2_g()}, integer)
    spectra = {f"kvp_{kvp}": tube_spectrum_photons_per_mm2(float(kvp)) for kvp in KVPS}
    write_table(out / "tube_spectra.csv", energy | spectra, integer | dict.fromkeys(spectra, ".5g"))
    write_materials(out / "materials.csv")
    for kvp in (60, 80, 120):
        kerma, hvl = spekpy_reference(kvp)
        print(f"SpekPy {kvp} kVp: {kerma:.2f} µGy/mAs at 1 m, HVL {hvl:.3f} mm Al")
    print(f"water μ/ρ at 60 keV: {attenuation['water'][50]:.4f} cm²/g; tables written to {out}")


if __name__ == "__main__":
    main()
