"""A calibration phantom under the patient: rods of known density in a water-equivalent block.

The rods run head-to-foot through the whole scan, side by side under the hips, as with the B-MAS 200
(Kyoto Kagaku) or Mindways Model 3 pads. Rod densities come from the phantom definitions in
:mod:`hipbmd.calibration.phantoms`; the block, rod diameter and spacing are plausible values for such pads,
not vendor drawings. HA rods are hydroxyapatite in water-equivalent resin; K2HPO4 rods are the solution
with the per-rod water density the certificate gives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hipbmd.calibration.phantoms import Phantom
from hipbmd.physics.xray import HA_CRYSTAL_MG_CM3
from hipbmd.sim import shapes
from hipbmd.sim.grid import Grid

Array = npt.NDArray[np.float32]
TABLE_DENSITY_G_CM3 = 0.3  # carbon-fibre tabletop with a foam core, as soft-tissue equivalent
TABLE_THICKNESS_MM = 12.0


@dataclass(frozen=True)
class RodLayout:
    """Where the phantom lies (mm, world RAS+).

    Attributes:
        top_y_mm: height of the block's top face (the patient's back rests on it).
        centre_x_mm: left–right centre of the rod row.
        rod_radius_mm: rod radius.
        rod_spacing_mm: centre-to-centre distance of neighbouring rods.
        block_height_mm: thickness of the block.
    """

    top_y_mm: float
    centre_x_mm: float = 0.0
    rod_radius_mm: float = 7.0
    rod_spacing_mm: float = 45.0
    block_height_mm: float = 32.0

    def rod_centres_mm(self, count: int) -> list[tuple[float, float]]:
        """(x, y) of each rod's axis."""
        y = self.top_y_mm - self.block_height_mm / 2
        first = self.centre_x_mm - self.rod_spacing_mm * (count - 1) / 2
        return [(first + i * self.rod_spacing_mm, y) for i in range(count)]


@dataclass
class PhantomSlab:
    """The phantom and the tabletop in one axial plane (they do not change along z).

    Attributes:
        material: the rods' mineral: "ha" or "k2hpo4" (physics material names).
        mineral_mg_cm3: (X, Y) rod mineral density, mg/cm³.
        water_g_cm3: (X, Y) water-equivalent density of the block and the rods' base, g/cm³.
        table_g_cm3: (X, Y) tabletop density (soft-tissue equivalent), g/cm³.
        rods: rod centres (x, y) in mm with their nominal density, for the truth file.
    """

    material: str
    mineral_mg_cm3: Array
    water_g_cm3: Array
    table_g_cm3: Array
    rods: list[dict[str, float]]


def phantom_slab(grid: Grid, phantom: Phantom, layout: RodLayout) -> PhantomSlab:
    """The phantom and tabletop on the grid's axial plane."""
    count = len(phantom.densities_mg_cm3)
    half_width = layout.rod_spacing_mm * count / 2 + 10.0
    plane_x, plane_y = np.meshgrid(_axis(grid, 0), _axis(grid, 1), indexing="ij")
    top, bottom = layout.top_y_mm, layout.top_y_mm - layout.block_height_mm
    block = _occupancy_1d(np.abs(plane_x - layout.centre_x_mm) - half_width, grid.spacing_mm[0])
    block = block * _band(plane_y, bottom, top, grid.spacing_mm[1])
    table = _band(plane_y, bottom - TABLE_THICKNESS_MM, bottom, grid.spacing_mm[1]) * TABLE_DENSITY_G_CM3
    mineral = np.zeros(plane_x.shape, np.float32)
    water = block.copy()
    rods = []
    for (cx, cy), density, rod_water in zip(
        layout.rod_centres_mm(count), phantom.densities_mg_cm3, _rod_water(phantom), strict=True
    ):
        rod = _occupancy_1d(np.hypot(plane_x - cx, plane_y - cy) - layout.rod_radius_mm, grid.voxel_mm)
        mineral += rod * density
        water += rod * (rod_water - 1.0)
        rods.append({"x_mm": cx, "y_mm": cy, "radius_mm": layout.rod_radius_mm, "density_mg_cm3": density})
    material = "ha" if phantom.material == "HA" else "k2hpo4"
    return PhantomSlab(material, mineral, water, np.asarray(table, np.float32), rods)


def _rod_water(phantom: Phantom) -> list[float]:
    """Water (or resin) density of each rod's base material, g/cm³.

    HA rods: the water-equivalent resin fills what the hydroxyapatite crystals leave free. K2HPO4 rods:
    the water content the phantom's certificate gives.
    """
    if phantom.water_mg_cm3 is None:
        return [1.0 - density / HA_CRYSTAL_MG_CM3 for density in phantom.densities_mg_cm3]
    return [w / 1000.0 for w in phantom.water_mg_cm3]


def _axis(grid: Grid, axis: int) -> Array:
    return (np.arange(grid.shape[axis]) * grid.spacing_mm[axis] + grid.origin_mm[axis]).astype(np.float32)


def _occupancy_1d(distance_mm: Array, voxel_mm: float) -> Array:
    return shapes.occupancy(np.asarray(distance_mm, np.float32), voxel_mm)


def _band(values: Array, low: float, high: float, voxel_mm: float) -> Array:
    inside = np.maximum(low - values, values - high)
    return _occupancy_1d(inside, voxel_mm)
