"""A femur sampled once in its own frame, then placed anywhere by its affine alone.

The femur of a patient is sampled on a grid of its canonical frame (:mod:`hipbmd.sim.femur_shape`). A pose
of the hip only changes the affine that maps this grid to the world, so the same voxels serve the truth
density volume, the CT-aBMD in the DXA position and the radiograph in any joint pose, with no resampling.
For the radiograph the femur is rendered as a change to the surrounding soft tissue: its mineral, its
marrow and collagen, minus the muscle it displaces.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from hipbmd.sim.femur_bone import FemurDensity, canonical_points, femur_fields, femur_surface
from hipbmd.sim.femur_shape import FemurPlacement, FemurShape, femur_frame
from hipbmd.sim.grid import Grid, index_points, near_voxels
from hipbmd.sim.implants import Implant
from hipbmd.sim.tissues import (
    ADIPOSE_G_CM3,
    MARROW_BASE_G_CM3,
    METAL_G_CM3,
    SOFT_TISSUE_G_CM3,
    bone_base_fraction,
)
from hipbmd.types import Side, Volume

Array = npt.NDArray[np.float32]
CANAL_FAT_FRACTION = 0.9  # yellow marrow of the adult femoral canal
FEMUR_BOX_LOW_MM = np.array([-45.0, -50.0, -250.0])
FEMUR_BOX_HIGH_MM = np.array([95.0, 50.0, 40.0])
PROXIMAL_CUT_MM = -160.0  # the DXA regions end well above this height below the head centre


@dataclass(frozen=True)
class FemurModel:
    """One femur on its canonical grid.

    Attributes:
        side: the patient's side.
        grid: the canonical grid (mm, head centre at the origin, right-femur axes).
        mineral_mg_cm3: hydroxyapatite density.
        occupancy: fraction of each voxel inside the bone.
        marrow_fat: fat share of the bone's non-mineral part (higher in the canal).
        metal: voxel fraction of each implant metal, by material (empty without an implant).
    """

    side: Side
    grid: Grid
    mineral_mg_cm3: Array
    occupancy: Array
    marrow_fat: Array
    metal: dict[str, Array] = field(default_factory=dict)

    def scaled(self, factor: float) -> FemurModel:
        """The same femur with its mineral density multiplied by ``factor``."""
        return replace(self, mineral_mg_cm3=self.mineral_mg_cm3 * np.float32(factor))

    def affine(self, where: FemurPlacement) -> npt.NDArray[np.float64]:
        """Canonical voxel index → world mm for a placement."""
        placed = np.eye(4)
        placed[:3, :3] = where.rotation()
        placed[:3, 3] = where.head_centre_mm
        return np.asarray(placed @ self.grid.affine)

    def density(self, where: FemurPlacement, proximal_only: bool = False) -> Volume:
        """The mineral density (mg/cm³) placed in the world; ``proximal_only`` drops the distal shaft."""
        values, affine = self.mineral_mg_cm3, self.affine(where)
        if proximal_only:
            first = max(int((PROXIMAL_CUT_MM - self.grid.origin_mm[2]) / self.grid.spacing_mm[2]), 0)
            values = values[:, :, first:]
            affine = affine.copy()
            affine[:3, 3] += affine[:3, 2] * first
        return Volume(values, affine, "mg/cm3", {"structure": f"femur_{self.side}"})

    def tissue_change(self, where: FemurPlacement) -> dict[str, Volume]:
        """Mass densities (as mg/cm³ volumes) the femur adds to soft tissue that fills its place.

        Keys are the radiograph's materials: "ha" (mineral), "soft" (marrow and collagen minus the
        displaced muscle, negative) and "fat" (marrow fat).
        """
        affine = self.affine(where)
        displaced = self.occupancy + sum(self.metal.values(), np.zeros_like(self.occupancy))
        bone_base = bone_base_fraction(self.occupancy, self.mineral_mg_cm3)
        base = bone_base * (1.0 - self.marrow_fat) * MARROW_BASE_G_CM3 - displaced * SOFT_TISSUE_G_CM3
        fat = bone_base * self.marrow_fat * ADIPOSE_G_CM3
        volumes = {
            "ha": Volume(self.mineral_mg_cm3, affine, "mg/cm3"),
            "soft": Volume(np.asarray(base * 1000.0, np.float32), affine, "mg/cm3"),
            "fat": Volume(np.asarray(fat * 1000.0, np.float32), affine, "mg/cm3"),
        }
        for name, occupancy in self.metal.items():
            volumes[name] = Volume(
                np.asarray(occupancy * METAL_G_CM3[name] * 1000.0, np.float32), affine, "mg/cm3"
            )
        return volumes


def femur_box_mm(where: FemurPlacement) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """World bounding box (mm) of a placed femur's canonical box."""
    corners = np.array(np.meshgrid(*zip(FEMUR_BOX_LOW_MM, FEMUR_BOX_HIGH_MM, strict=True), indexing="ij"))
    world = corners.reshape(3, -1).T @ where.rotation().T + np.asarray(where.head_centre_mm)
    return world.min(axis=0), world.max(axis=0)


def femur_voxels(
    grid: Grid, shape: FemurShape, where: FemurPlacement
) -> tuple[tuple[npt.NDArray[np.intp], ...], Array]:
    """Index and world points (mm) of the grid voxels a placed femur of ``shape`` may touch."""
    frame = femur_frame(shape)
    box = grid.box(*femur_box_mm(where))
    if any(s.stop <= s.start for s in box):
        empty = np.zeros(0, np.intp)
        return (empty, empty, empty), np.zeros((0, 3), np.float32)

    def surface(points: Array) -> Array:
        return femur_surface(canonical_points(points, where), shape, frame)

    index = near_voxels(grid, box, surface)
    return index, index_points(grid, index)


def femur_model(
    side: Side,
    shape: FemurShape,
    density: FemurDensity,
    texture: Array,
    marrow_fat_fraction: float,
    spacing_mm: float,
    implant: Implant | None = None,
) -> FemurModel:
    """Sample one femur (with its implant, if any) on its canonical grid (``spacing_mm`` voxels)."""
    canonical = FemurPlacement("right", (0.0, 0.0, 0.0))
    grid = Grid.covering(FEMUR_BOX_LOW_MM, FEMUR_BOX_HIGH_MM, (spacing_mm,) * 3)
    index, points = femur_voxels(grid, shape, canonical)
    fields = femur_fields(points, shape, density, canonical, texture, grid.voxel_mm, implant)
    mineral = np.zeros(grid.shape, np.float32)
    occupancy = np.zeros(grid.shape, np.float32)
    marrow = np.zeros(grid.shape, np.float32)
    mineral[index] = fields.mineral_mg_cm3
    occupancy[index] = fields.occupancy
    cavity = fields.marrow_cavity / np.maximum(fields.occupancy, np.float32(1e-6))
    marrow[index] = marrow_fat_fraction + (CANAL_FAT_FRACTION - marrow_fat_fraction) * cavity
    metal = {}
    for name, values in fields.metal.items():
        metal[name] = np.zeros(grid.shape, np.float32)
        metal[name][index] = values
    return FemurModel(side, grid, mineral, occupancy, marrow, metal)
