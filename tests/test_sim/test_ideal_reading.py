"""The ideal single-energy QCT reading of a simulated femur: closed forms and the simulated CT numbers."""

from __future__ import annotations

import numpy as np
import pytest

from hipbmd.calibration.fit import fit_line, fit_mindways
from hipbmd.calibration.phantoms import builtin_phantoms
from hipbmd.physics.xray import HA_CRYSTAL_MG_CM3
from hipbmd.sim.ct import attenuation_weights, true_hu
from hipbmd.sim.femur_model import FemurModel
from hipbmd.sim.femur_shape import FemurPlacement
from hipbmd.sim.grid import Grid
from hipbmd.sim.ideal_reading import ideal_femur_density, ideal_line, ideal_reading_mg_cm3
from hipbmd.sim.phantom_rods import RodLayout, phantom_slab
from hipbmd.sim.tissues import ADIPOSE_G_CM3, MARROW_BASE_G_CM3, SOFT_TISSUE_G_CM3, Tissues

ENERGY_KEV = 70.0


def test_a_block_full_of_bone_reads_its_mineral_plus_the_marrow_error() -> None:
    mineral, fat = 150.0, 0.6
    w = attenuation_weights(ENERGY_KEV)
    marrow = (1 - fat) * MARROW_BASE_G_CM3 * w["soft"] + fat * ADIPOSE_G_CM3 * w["fat"]
    slope = w["ha"] - 1000.0 / HA_CRYSTAL_MG_CM3
    expected = mineral + 1000.0 * (1 - mineral / HA_CRYSTAL_MG_CM3) * (marrow - 1.0) / slope
    block = np.full((3, 3, 3), mineral, np.float32)
    read = ideal_reading_mg_cm3(block, np.ones_like(block), np.full_like(block, fat), ENERGY_KEV, "HA")
    assert read == pytest.approx(np.full(block.shape, expected), rel=1e-5)
    assert expected < mineral - 20.0  # fatty marrow reads as negative mineral


def test_fattier_marrow_reads_lower_and_empty_voxels_read_zero() -> None:
    fats = np.array([0.0, 0.3, 0.6, 0.9], np.float32)
    read = ideal_reading_mg_cm3(np.full(4, 200.0), np.ones(4), fats, ENERGY_KEV, "HA")
    assert np.all(np.diff(read) < 0)
    assert ideal_reading_mg_cm3(0.0, 0.0, 0.5, ENERGY_KEV, "K2HPO4") == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("material", ["HA", "K2HPO4"])
@pytest.mark.parametrize("occupancy", [1.0, 0.6])
def test_reading_is_the_simulated_ct_number_through_the_ideal_line(material: str, occupancy: float) -> None:
    """A voxel of bone (in muscle) in the simulator's CT, read through the ideal line: the femur's share
    reads as the ideal reading, the muscle's share as muscle."""
    grid = Grid((1, 1, 1), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0))
    tissues = Tissues.empty(grid)
    tissues.soft_g_cm3[:] = SOFT_TISSUE_G_CM3
    mineral, fat = np.float32(180.0), 0.7
    index = (np.array([0]), np.array([0]), np.array([0]))
    tissues.add_bone(index, np.array([occupancy], np.float32), np.array([mineral]), fat, label=1)
    slope, intercept = ideal_line(material, ENERGY_KEV)
    read = (float(true_hu(tissues, None, ENERGY_KEV, slice(0, 1))[0, 0, 0]) - intercept) / slope
    muscle_hu = 1000.0 * (SOFT_TISSUE_G_CM3 * attenuation_weights(ENERGY_KEV)["soft"] - 1.0)
    muscle = (1.0 - occupancy) * (muscle_hu - intercept) / slope
    ideal = float(ideal_reading_mg_cm3(mineral, occupancy, fat, ENERGY_KEV, material))
    assert read == pytest.approx(ideal + muscle, abs=1e-3)


@pytest.mark.parametrize("name", ["B-MAS 200 (Kyoto Kagaku)", "Mindways Model 3 CT"])
def test_ideal_line_is_the_fit_to_noise_free_simulated_rods(name: str) -> None:
    phantom = builtin_phantoms()[name]
    grid = Grid.covering((-150.0, -40.0, 0.0), (150.0, 10.0, 1.0), (1.0, 1.0, 1.0))
    layout = RodLayout(top_y_mm=0.0)
    slab = phantom_slab(grid, phantom, layout)
    hu = true_hu(Tissues.empty(grid), slab, ENERGY_KEV, slice(0, 1))[:, :, 0]
    centres = np.array(layout.rod_centres_mm(len(phantom.densities_mg_cm3)))
    i, j = (np.rint((centres - np.asarray(grid.origin_mm[:2])) / 1.0).astype(int)).T
    if phantom.water_mg_cm3 is None:
        fit = fit_line(phantom.densities_mg_cm3, hu[i, j])
        line = fit.slope_hu_per_mg_cm3, fit.intercept_hu
    else:
        mindways = fit_mindways(phantom.densities_mg_cm3, phantom.water_mg_cm3, hu[i, j])
        line = mindways.sigma_ct, mindways.beta_ct
    assert line == pytest.approx(ideal_line(phantom.material, ENERGY_KEV), abs=1e-3)


def _tiny_femur(metal: bool = False) -> FemurModel:
    grid = Grid((4, 3, 5), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0))
    occupancy = np.zeros(grid.shape, np.float32)
    occupancy[1:3, 1, 1:4] = 1.0
    occupancy[0, 1, 2] = 0.3
    mineral = np.where(occupancy > 0, 120.0 * occupancy, 0.0).astype(np.float32)
    marrow = np.full(grid.shape, 0.5, np.float32)
    extra = {"titanium": np.zeros(grid.shape, np.float32)} if metal else {}
    return FemurModel("left", grid, mineral, occupancy, marrow, extra)


def test_ideal_femur_density_has_the_truth_voxels_and_is_zero_outside_the_bone() -> None:
    femur = _tiny_femur()
    where = FemurPlacement("left", (-90.0, 5.0, 0.0), flexion_deg=10.0)
    ideal = ideal_femur_density(femur, where, ENERGY_KEV, "HA", proximal_only=False)
    truth = femur.density(where)
    assert np.allclose(ideal.affine, truth.affine) and ideal.unit == "mg/cm3"
    inside = femur.occupancy > 0
    assert np.all(ideal.array[~inside] == 0.0)
    expected = ideal_reading_mg_cm3(femur.mineral_mg_cm3, femur.occupancy, 0.5, ENERGY_KEV, "HA")
    assert ideal.array[inside] == pytest.approx(expected[inside], rel=1e-6)


def test_femur_with_an_implant_has_no_ideal_reading() -> None:
    with pytest.raises(ValueError, match="implant"):
        ideal_femur_density(_tiny_femur(metal=True), FemurPlacement("left", (0.0, 0.0, 0.0)), 70.0, "HA")


def test_unknown_phantom_material_is_refused() -> None:
    with pytest.raises(ValueError, match="material"):
        ideal_line("CaCO3", ENERGY_KEV)
