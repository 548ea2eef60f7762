"""Material make-up of a simulated body on a voxel grid: what the CT and the radiographs are made from.

Each voxel holds the mass densities of a few basis materials, the two-component model of quantitative CT
extended with fat and metal: hydroxyapatite mineral (mg/cm³), soft tissue (ICRU-44 muscle-like, g/cm³),
adipose tissue (g/cm³), and metals (g/cm³). Bone is soft tissue and marrow fat plus its mineral. A label
map says which structure each voxel belongs to (:data:`LABELS`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from hipbmd.physics.xray import HA_CRYSTAL_MG_CM3
from hipbmd.sim.grid import Grid
from hipbmd.types import Volume

Array = npt.NDArray[np.float32]
Index = tuple[npt.NDArray[np.intp], ...]

LABELS = {  # the built-in label table "hipbmd" (resources/labels/hipbmd.tsv)
    "femur_right": 1,
    "femur_left": 2,
    "hip_right": 3,
    "hip_left": 4,
    "sacrum": 5,
    "implant": 6,
}
SOFT_TISSUE_G_CM3 = 1.05  # ICRU-44 muscle (ICRU Report 44, 1989)
ADIPOSE_G_CM3 = 0.95  # ICRU-44 adipose tissue
MARROW_BASE_G_CM3 = 1.0  # bone's non-mineral part: collagen, water and marrow
METAL_G_CM3 = {"titanium": 4.43, "cobalt_chrome": 8.3}  # Ti-6Al-4V; ASTM F75 CoCrMo


def bone_base_fraction(occupancy: Array, mineral_mg_cm3: Array) -> Array:
    """Share of a voxel filled by bone's non-mineral part: the bone's share less the mineral's own volume."""
    return np.asarray(np.clip(occupancy - mineral_mg_cm3 / HA_CRYSTAL_MG_CM3, 0.0, None), np.float32)


@dataclass
class Tissues:
    """Basis-material densities and labelled structures on one grid.

    Each voxel records the structure that covers it (``structure``, a label value, 0 for none) and the
    share of the voxel it fills (``coverage``, 0…1): the last structure added that fills at least half
    of it, else the one that fills most of it. The label map (:attr:`labels`) marks the voxels a
    structure fills at least half of; the shares let a coarser grid be labelled by what fills most of
    each of its voxels (:mod:`hipbmd.sim.label_sampling`).
    """

    grid: Grid
    mineral_mg_cm3: Array
    soft_g_cm3: Array
    fat_g_cm3: Array
    structure: npt.NDArray[np.uint8]
    coverage: Array
    metal_g_cm3: dict[str, Array] = field(default_factory=dict)

    @classmethod
    def empty(cls, grid: Grid) -> Tissues:
        """Air everywhere."""
        return cls(
            grid,
            np.zeros(grid.shape, np.float32),
            np.zeros(grid.shape, np.float32),
            np.zeros(grid.shape, np.float32),
            np.zeros(grid.shape, np.uint8),
            np.zeros(grid.shape, np.float32),
        )

    def copy(self) -> Tissues:
        """An independent copy."""
        return Tissues(
            self.grid,
            self.mineral_mg_cm3.copy(),
            self.soft_g_cm3.copy(),
            self.fat_g_cm3.copy(),
            self.structure.copy(),
            self.coverage.copy(),
            {name: values.copy() for name, values in self.metal_g_cm3.items()},
        )

    def add_bone(
        self,
        index: Index,
        occupancy: Array,
        mineral_mg_cm3: Array,
        marrow_fat_fraction: Array | float,
        label: int,
    ) -> None:
        """Put bone into the voxels ``index``: it displaces the soft tissue and fat it occupies.

        The mineral's crystals take up volume (:func:`bone_base_fraction`), which the marrow and
        collagen do not fill.
        """
        keep = 1.0 - occupancy
        base = bone_base_fraction(occupancy, mineral_mg_cm3)
        fat = base * marrow_fat_fraction
        self.soft_g_cm3[index] = self.soft_g_cm3[index] * keep + (base - fat) * MARROW_BASE_G_CM3
        self.fat_g_cm3[index] = self.fat_g_cm3[index] * keep + fat * ADIPOSE_G_CM3
        self.mineral_mg_cm3[index] = self.mineral_mg_cm3[index] * keep + mineral_mg_cm3
        self._cover(index, occupancy, label)

    def add_metal(self, index: Index, occupancy: Array, metal: str) -> None:
        """Put an implant of ``metal`` into the voxels ``index``, displacing everything else."""
        keep = 1.0 - occupancy
        for array in (self.soft_g_cm3, self.fat_g_cm3, self.mineral_mg_cm3, *self.metal_g_cm3.values()):
            array[index] *= keep
        values = self.metal_g_cm3.setdefault(metal, np.zeros(self.grid.shape, np.float32))
        values[index] += occupancy * METAL_G_CM3[metal]
        self._cover(index, occupancy, LABELS["implant"])

    def add_air(self, index: Index, occupancy: Array) -> None:
        """Replace tissue by gas (bowel gas) in the voxels ``index``."""
        keep = 1.0 - occupancy
        self.soft_g_cm3[index] *= keep
        self.fat_g_cm3[index] *= keep

    def _cover(self, index: Index, occupancy: Array, label: int) -> None:
        """Record ``label`` where it fills at least half of a voxel, or more than what covers it now."""
        present = self.coverage[index]
        take = (occupancy >= 0.5) | ((occupancy > present) & (present < 0.5))
        self.structure[index] = np.where(take, np.uint8(label), self.structure[index])
        self.coverage[index] = np.where(take, occupancy, present)

    @property
    def labels(self) -> npt.NDArray[np.uint8]:
        """The label map: each voxel's structure where it fills at least half of the voxel, else 0."""
        return np.where(self.coverage >= 0.5, self.structure, np.uint8(0))

    def label_volume(self) -> Volume:
        """The label map as a Volume."""
        return Volume(self.labels, self.grid.affine, "label", {"labels": dict(LABELS)})
