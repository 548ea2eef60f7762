"""CT numbers of a real scan → the simulator's basis materials (mineral, soft tissue, fat; see tissues.py).

A single-energy CT number gives one equation per voxel, so the split into materials follows the usual
piecewise model of quantitative CT, written with the materials of :mod:`hipbmd.sim.tissues` at the
scan's effective energy E (μ relative to water, r = HU/1000 + 1):

* r ≤ r_fat (air to fat): adipose tissue of volume share r / r_fat, the rest air;
* r_fat < r ≤ r_soft (fat to muscle): adipose and soft tissue sharing the voxel, linear in r;
* r > r_soft (bone, calcification): soft tissue and hydroxyapatite, the mineral displacing its own volume
  (crystal density 3160 mg/cm³), as in the two-component model of QCT.

Here r_fat = w_fat·ρ_fat and r_soft = w_soft·ρ_soft with w = (μ/ρ)/(μ/ρ)_water at E. Simulating a CT of the
result at the same energy (:func:`hipbmd.sim.ct.true_hu`) gives back the CT numbers it came from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hipbmd.physics.xray import HA_CRYSTAL_MG_CM3
from hipbmd.sim.ct import attenuation_weights
from hipbmd.sim.tissues import ADIPOSE_G_CM3, SOFT_TISSUE_G_CM3

Array = npt.NDArray[np.float32]
MAX_MINERAL_MG_CM3 = 2000.0  # above dense cortex: what a scan shows there is metal or its streaks


@dataclass(frozen=True)
class BasisDensities:
    """Basis-material densities of voxels: hydroxyapatite (mg/cm³), soft tissue and fat (g/cm³)."""

    mineral_mg_cm3: Array
    soft_g_cm3: Array
    fat_g_cm3: Array


def hu_to_basis(hu: npt.ArrayLike, energy_kev: float) -> BasisDensities:
    """Split CT numbers (HU) measured at ``energy_kev`` into basis materials (see the module docstring)."""
    w = attenuation_weights(energy_kev)
    relative = np.asarray(hu, np.float64) / 1000.0 + 1.0
    r_fat, r_soft = w["fat"] * ADIPOSE_G_CM3, w["soft"] * SOFT_TISSUE_G_CM3
    fat_share = np.clip(relative / r_fat, 0.0, 1.0)
    soft_share = np.clip((relative - r_fat) / (r_soft - r_fat), 0.0, 1.0)
    per_mineral = w["ha"] * 1e-3 - r_soft / HA_CRYSTAL_MG_CM3  # change of r per mg/cm³ of mineral
    mineral = np.clip((relative - r_soft) / per_mineral, 0.0, MAX_MINERAL_MG_CM3)
    soft = SOFT_TISSUE_G_CM3 * soft_share * (1.0 - mineral / HA_CRYSTAL_MG_CM3)
    fat = ADIPOSE_G_CM3 * fat_share * (1.0 - soft_share)
    return BasisDensities(mineral.astype(np.float32), soft.astype(np.float32), fat.astype(np.float32))
