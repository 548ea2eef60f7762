"""Simulated CT units: rods of known density come out on a line set by the scanner's gain and offset.

A slab of the phantom under a block of bone-like material (hydroxyapatite in a water-equivalent base)
is "scanned" without noise; CT numbers must follow HU = gain·1000·(μ/μ_water − 1) + offset, so that a
linear fit over the rods (the calibration every QCT site does) recovers the block's known density.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt
import pytest

from hipbmd.calibration.phantoms import load_phantom
from hipbmd.physics.xray import HA_CRYSTAL_MG_CM3
from hipbmd.sim.ct import HU_RANGE, Scanner, attenuation_weights, simulate_ct
from hipbmd.sim.grid import Grid
from hipbmd.sim.phantom_rods import PhantomSlab, RodLayout, phantom_slab
from hipbmd.sim.scanners import SCANNERS
from hipbmd.sim.tissues import Tissues
from hipbmd.types import Volume

BLOCK_MG_CM3 = 300.0
BLOCK_X_MM, BLOCK_Y_MM = (-30.0, 30.0), (0.0, 40.0)
LAYOUT = RodLayout(top_y_mm=-20.0)
CORE_MM = 4.5  # rod radius 7 mm minus blur and partial volume
Z_RANGE_MM = (-6.0, 6.0)


def _scanner(name: str = "ct_a") -> Scanner:
    return dataclasses.replace(SCANNERS[name], noise_hu=0.0)


def _tissues(energy_kev: float) -> Tissues:
    """Air, with a block of 300 mg/cm³ HA whose base attenuates exactly like water (like a rod's base)."""
    tissues = Tissues.empty(Grid.covering((-140.0, -70.0, -12.0), (140.0, 60.0, 12.0), (1.0, 1.0, 1.0)))
    box = tissues.grid.box((BLOCK_X_MM[0], BLOCK_Y_MM[0], -100.0), (BLOCK_X_MM[1], BLOCK_Y_MM[1], 100.0))
    tissues.mineral_mg_cm3[box] = BLOCK_MG_CM3
    # the mineral's crystals (3.16 g/cm³) take the place of some of the water-equivalent base
    tissues.soft_g_cm3[box] = (1.0 - BLOCK_MG_CM3 / HA_CRYSTAL_MG_CM3) / attenuation_weights(energy_kev)[
        "soft"
    ]
    return tissues


def _scan(
    phantom_name: str, scanner: Scanner, gain_drift: float = 0.0, seed: int = 0
) -> tuple[Volume, Volume, PhantomSlab]:
    tissues = _tissues(scanner.effective_energy_kev)
    slab = phantom_slab(tissues.grid, load_phantom(phantom_name), LAYOUT)
    rng = np.random.default_rng(seed)
    ct, labels = simulate_ct(tissues, slab, scanner, Z_RANGE_MM, 350.0, rng, gain_drift)
    return ct, labels, slab


def _in_plane_mm(ct: Volume) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    i, j = np.meshgrid(np.arange(ct.shape[0]), np.arange(ct.shape[1]), indexing="ij")
    x = ct.affine[0, 0] * i + ct.affine[0, 3]
    y = ct.affine[1, 1] * j + ct.affine[1, 3]
    return x, y


def _mean_hu(ct: Volume, mask: npt.NDArray[np.bool_]) -> float:
    assert mask.sum() > 10
    return float(ct.array[mask].mean())


def _rod_hu(ct: Volume, slab: PhantomSlab) -> npt.NDArray[np.float64]:
    x, y = _in_plane_mm(ct)
    return np.array([_mean_hu(ct, np.hypot(x - r["x_mm"], y - r["y_mm"]) < CORE_MM) for r in slab.rods])


def _block_hu(ct: Volume) -> float:
    x, y = _in_plane_mm(ct)
    core = (np.abs(x - np.mean(BLOCK_X_MM)) < 20.0) & (y > BLOCK_Y_MM[0] + 5.0) & (y < BLOCK_Y_MM[1] - 5.0)
    return _mean_hu(ct, core)


def _water_hu(ct: Volume) -> float:
    """The phantom block halfway between two rods: water-equivalent resin only."""
    x, y = _in_plane_mm(ct)
    middle = LAYOUT.top_y_mm - LAYOUT.block_height_mm / 2
    return _mean_hu(ct, (np.abs(x - LAYOUT.rod_spacing_mm / 2) < 5.0) & (np.abs(y - middle) < 5.0))


@pytest.fixture(scope="module")
def bmas_scan() -> tuple[Volume, Volume, PhantomSlab]:
    return _scan("B-MAS 200", _scanner())


def test_ha_rods_lie_on_a_line_set_by_gain_and_attenuation(
    bmas_scan: tuple[Volume, Volume, PhantomSlab],
) -> None:
    ct, _, slab = bmas_scan
    scanner = _scanner()
    density = np.array([r["density_mg_cm3"] for r in slab.rods])
    hu = _rod_hu(ct, slab)
    assert np.corrcoef(density, hu)[0, 1] > 0.999
    slope, intercept = np.polyfit(density, hu, 1)
    w_ha = attenuation_weights(scanner.effective_energy_kev)["ha"]
    # HU per mg/cm³: HA's attenuation relative to water, less the water its crystals displace
    assert slope == pytest.approx(scanner.hu_gain * (w_ha - 1000.0 / HA_CRYSTAL_MG_CM3), rel=0.005)
    assert intercept == pytest.approx(scanner.hu_offset, abs=1.0)
    assert w_ha > 1.0  # hydroxyapatite attenuates more than water per gram


def test_water_reads_the_scanner_offset(bmas_scan: tuple[Volume, Volume, PhantomSlab]) -> None:
    ct, _, _ = bmas_scan
    assert _water_hu(ct) == pytest.approx(_scanner().hu_offset, abs=1.0)


def test_rod_calibration_recovers_the_density_of_a_bone_block(
    bmas_scan: tuple[Volume, Volume, PhantomSlab],
) -> None:
    ct, _, slab = bmas_scan
    density = np.array([r["density_mg_cm3"] for r in slab.rods])
    slope, intercept = np.polyfit(_rod_hu(ct, slab), density, 1)  # HU → mg/cm³, as a site calibrates
    assert slope * _block_hu(ct) + intercept == pytest.approx(BLOCK_MG_CM3, rel=0.01)


def test_stored_values_are_whole_hu_in_the_12_bit_range(
    bmas_scan: tuple[Volume, Volume, PhantomSlab],
) -> None:
    ct, labels, _ = bmas_scan
    assert ct.unit == "HU" and labels.shape == ct.shape
    np.testing.assert_array_equal(ct.array, np.round(ct.array))
    assert ct.array.min() == HU_RANGE[0]  # air (−1000·gain + offset) clips at −1024
    assert ct.array.max() <= HU_RANGE[1]
    assert ct.spacing_mm == pytest.approx((0.9, 0.9, 1.5))  # the scanner's voxels, not the working grid's


def test_gain_drift_scales_the_slope(bmas_scan: tuple[Volume, Volume, PhantomSlab]) -> None:
    ct, _, slab = bmas_scan
    drifted, _, _ = _scan("B-MAS 200", _scanner(), gain_drift=0.02)
    density = np.array([r["density_mg_cm3"] for r in slab.rods])
    slope = np.polyfit(density, _rod_hu(ct, slab), 1)[0]
    drifted_slope = np.polyfit(density, _rod_hu(drifted, slab), 1)[0]
    assert drifted_slope / slope == pytest.approx(1.02, abs=0.004)  # whole-HU storage rounds each rod


def test_mindways_rods_follow_the_two_component_model() -> None:
    """K2HPO4 rods differ in water content too: HU = a·ρ_K2HPO4 + b·ρ_water + c holds exactly."""
    scanner = _scanner("ct_b")
    ct, _, slab = _scan("Mindways Model 3 CT", scanner)
    phantom = load_phantom("Mindways Model 3 CT")
    assert slab.material == "k2hpo4" and phantom.water_mg_cm3 is not None
    k2hpo4, water = np.array(phantom.densities_mg_cm3), np.array(phantom.water_mg_cm3)
    hu = _rod_hu(ct, slab)
    design = np.column_stack([k2hpo4, water, np.ones_like(k2hpo4)])
    (a, b, c), *_ = np.linalg.lstsq(design, hu, rcond=None)
    assert np.abs(design @ [a, b, c] - hu).max() < 1.0
    weights = attenuation_weights(scanner.effective_energy_kev)
    assert a == pytest.approx(scanner.hu_gain * weights["k2hpo4"], rel=0.01)
    assert b == pytest.approx(scanner.hu_gain, rel=0.01)  # 1 HU per mg/cm³ of water, times the gain
    # so a one-component fit on K2HPO4 alone would not do: rod B (less K2HPO4, more water) reads higher
    assert k2hpo4[1] < k2hpo4[0] and hu[1] > hu[0]


def test_noise_in_water_has_the_scanner_sigma() -> None:
    scanner = SCANNERS["ct_a"]
    ct, _, _ = _scan("B-MAS 200", scanner, seed=3)
    x, y = _in_plane_mm(ct)
    middle = LAYOUT.top_y_mm - LAYOUT.block_height_mm / 2
    water = (np.abs(x - LAYOUT.rod_spacing_mm / 2) < 12.0) & (np.abs(y - middle) < 8.0)
    values = ct.array[water]
    assert values.mean() == pytest.approx(scanner.hu_offset, abs=1.5)
    assert values.std() == pytest.approx(scanner.noise_hu, rel=0.15)  # a 350 mm wide patient
