"""What an ideal single-energy QCT reads for a simulated femur: mineral plus the marrow-fat error.

A calibrated single-energy CT does not measure mineral alone: each voxel's CT number also carries its
marrow and collagen, which the phantom's calibration line reads as if they were water plus some
mineral. Fat attenuates less than water, so fatty marrow reads as *negative* mineral (the known error
of single-energy QCT, larger in older, fattier marrow). This module gives, from the simulator's own
tissue and CT-number model (:mod:`hipbmd.sim.tissues`, :func:`hipbmd.sim.ct.true_hu`), the density a
perfect calibration of a noise-free, blur-free CT would read in each voxel of a femur: the reference a
measured CT-aBMD can be held to, where the mineral-only truth cannot.

A femur voxel holds bone in a share ``o`` of its volume (occupancy) with mineral ``m`` (mg/cm³ of the
voxel); the mineral's crystals fill m / ρ_crystal of it (ρ_crystal = 3160 mg/cm³), the rest of the bone,
b = o − m / ρ_crystal, is marrow and collagen with a fat share f. With w = (μ/ρ) / (μ/ρ)_water at the
scanner's effective energy, the bone raises the CT number (gain 1, offset 0) over water filling the same
share by

    ΔHU = w_HA·m + 1000·(b·A(f) − o),   A(f) = (1 − f)·ρ_base·w_soft + f·ρ_adipose·w_fat   (g/cm³),

and the ideal calibration line HU = slope·ρ + intercept of the phantom's material (:func:`ideal_line`)
reads that share of the voxel, filled with bone tissue of CT number HU_t (o·HU_t = ΔHU), as

    ρ_ideal = o·(HU_t − intercept) / slope = (ΔHU − o·intercept) / slope   (mg/cm³).

For a voxel full of bone and HA calibration this is m + 1000·b·(A(f) − 1)/slope: the mineral plus the
marrow's error, which is negative for fatty marrow. The surrounding tissue in a partial voxel is not femur
and is left out, as the mineral-only truth leaves it out.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import numpy.typing as npt

from hipbmd.calibration.fit import MINDWAYS_BETA_SHIFT, MINDWAYS_SIGMA_SHIFT
from hipbmd.physics.xray import HA_CRYSTAL_MG_CM3
from hipbmd.sim.ct import attenuation_weights
from hipbmd.sim.femur_model import FemurModel
from hipbmd.sim.femur_shape import FemurPlacement
from hipbmd.sim.tissues import ADIPOSE_G_CM3, MARROW_BASE_G_CM3, bone_base_fraction
from hipbmd.types import Volume

FloatArray = npt.NDArray[np.float32]


def ideal_line(material: str, energy_kev: float) -> tuple[float, float]:
    """(slope HU per mg/cm³, intercept HU) a perfect phantom calibration gives at gain 1, offset 0.

    ``material`` is the phantom's ("HA" or "K2HPO4", any case). HA rods are hydroxyapatite in
    water-equivalent resin whose crystals displace resin: slope w_HA − 1000/ρ_crystal, intercept 0.
    K2HPO4 (Mindways) rods: the exact step 1 of the two-component fit (σ_ref = w_K2HPO4, β_ref = −1000)
    through step 2 (:mod:`hipbmd.calibration.fit`): slope σ_CT = σ_ref − 0.2174, intercept
    β_CT = β_ref + 999.6.
    """
    w = attenuation_weights(energy_kev)
    kind = material.upper()
    if kind == "HA":
        return w["ha"] - 1000.0 / HA_CRYSTAL_MG_CM3, 0.0
    if kind == "K2HPO4":
        return w["k2hpo4"] - MINDWAYS_SIGMA_SHIFT, -1000.0 + MINDWAYS_BETA_SHIFT
    raise ValueError(f"unknown phantom material {material!r} (HA or K2HPO4)")


def ideal_reading_mg_cm3(
    mineral_mg_cm3: npt.ArrayLike,
    occupancy: npt.ArrayLike,
    marrow_fat: npt.ArrayLike,
    energy_kev: float,
    material: str,
) -> FloatArray:
    """Per voxel, the femur's share as an ideal single-energy QCT reads it (module docstring), mg/cm³.

    Args:
        mineral_mg_cm3: hydroxyapatite per voxel volume.
        occupancy: share of the voxel inside the bone (0…1).
        marrow_fat: fat share of the bone's non-mineral part (0…1).
        energy_kev: the scanner's effective energy.
        material: the calibration phantom's material ("HA" or "K2HPO4").
    """
    mineral = np.asarray(mineral_mg_cm3, np.float32)
    share = np.asarray(occupancy, np.float32)
    fat = np.asarray(marrow_fat, np.float32)
    w = attenuation_weights(energy_kev)
    marrow = (1.0 - fat) * MARROW_BASE_G_CM3 * w["soft"] + fat * ADIPOSE_G_CM3 * w["fat"]
    delta_hu = w["ha"] * mineral + 1000.0 * (bone_base_fraction(share, mineral) * marrow - share)
    slope, intercept = ideal_line(material, energy_kev)
    return np.asarray((delta_hu - share * intercept) / slope, np.float32)


def ideal_femur_density(
    femur: FemurModel, where: FemurPlacement, energy_kev: float, material: str, proximal_only: bool = True
) -> Volume:
    """The femur's ideal reading placed in the world, cropped as :meth:`FemurModel.density` crops it.

    The volume has the truth density's voxels and affine, so its CT-aBMD
    (:func:`hipbmd.femur.ct_abmd.ct_abmd`) differs from the truth's only by what single-energy QCT reads in
    place of the mineral. Voxels outside the bone stay exactly zero. A femur with an implant is refused
    (the reading of metal is not modelled).
    """
    if femur.metal:
        raise ValueError("the ideal reading of a femur with an implant is not defined")
    values = ideal_reading_mg_cm3(
        femur.mineral_mg_cm3, femur.occupancy, femur.marrow_fat, energy_kev, material
    )
    values = np.where(femur.occupancy > 0, values, np.float32(0.0))
    volume = replace(femur, mineral_mg_cm3=np.asarray(values, np.float32)).density(where, proximal_only)
    meta = {**volume.meta, "reading": f"ideal single-energy QCT, {material} phantom, {energy_kev:g} keV"}
    return Volume(volume.array, volume.affine, "mg/cm3", meta)


def femur_outline_labels(femur: FemurModel, where: FemurPlacement, proximal_only: bool = True) -> Volume:
    """The femur's voxels at least half inside the bone (label 1), on the grid of
    :func:`ideal_femur_density`: the outline the simulator's label maps draw, whose footprint is the
    bone's projected area without the rim of barely touched voxels."""
    outline = np.asarray(femur.occupancy >= 0.5, np.float32)
    volume = replace(femur, mineral_mg_cm3=outline).density(where, proximal_only)
    return Volume(volume.array.astype(np.uint8), volume.affine, "label", {"structure": f"femur_{femur.side}"})
