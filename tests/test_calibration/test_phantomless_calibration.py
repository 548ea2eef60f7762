"""Phantomless calibration: fat and muscle of the patient as references, always flagged."""

from __future__ import annotations

import numpy as np
import pytest
from calibration_ct import Scan

from hipbmd.calibration import calibrate_with_phantom, phantomless_calibration
from hipbmd.calibration.phantomless import PHANTOMLESS_FLAG, ha_equivalent_mg_cm3
from hipbmd.errors import InputError
from hipbmd.physics.xray import HA_CRYSTAL_MG_CM3
from hipbmd.sim.ct import attenuation_weights
from hipbmd.types import Volume


@pytest.mark.parametrize("energy_kev", [62.0, 70.0, 75.0])
def test_ha_equivalent_density_of_icru_tissues(energy_kev: float) -> None:
    """HA displacing water: 1000·(ρ·w_tissue − 1) / (w_HA − 1/3.16), from μ/ρ relative to water."""
    w = attenuation_weights(energy_kev)
    per_g_ha = w["ha"] - 1000.0 / HA_CRYSTAL_MG_CM3
    assert ha_equivalent_mg_cm3("muscle", energy_kev) == pytest.approx(
        1000 * (1.05 * w["soft"] - 1) / per_g_ha
    )
    assert ha_equivalent_mg_cm3("fat", energy_kev) == pytest.approx(1000 * (0.95 * w["fat"] - 1) / per_g_ha)


def test_phantomless_is_flagged_and_close_to_the_phantom(bmas_scan: Scan) -> None:
    calibration = phantomless_calibration(bmas_scan.ct, "ct.nii.gz")
    assert calibration.method == "phantomless" and PHANTOMLESS_FLAG in calibration.flags
    fat, muscle = calibration.references
    assert (fat.name, muscle.name) == ("fat", "muscle")
    assert 20.0 < muscle.density_mg_cm3 < 45.0 and -70.0 < fat.density_mg_cm3 < -40.0
    assert 20.0 < muscle.mean_hu < 70.0 and -120.0 < fat.mean_hu < -50.0
    phantom = calibrate_with_phantom(bmas_scan.ct)
    assert calibration.slope_hu_per_mg_cm3 == pytest.approx(phantom.slope_hu_per_mg_cm3, rel=0.03)
    rods = calibration.density_mg_cm3([rod.mean_hu for rod in phantom.rods])
    np.testing.assert_allclose(rods, phantom.rod_densities_mg_cm3, atol=0.03 * 200)


def test_phantomless_needs_fat(rng: np.random.Generator) -> None:
    water = Volume((rng.normal(0.0, 10.0, (60, 60, 8))).astype(np.float32), np.eye(4), "HU")
    with pytest.raises(InputError, match="no fat peak"):
        phantomless_calibration(water, "water.nii.gz")
