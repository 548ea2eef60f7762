"""Small simulated CTs for the calibration tests: a body of muscle and fat over a calibration phantom.

The body is the simulator's trunk (an ellipse of ICRU muscle under a layer of fat) with a square block of
300 mg/cm³ hydroxyapatite in a water-equivalent base inside it, and two "femoral heads" (HA balls that
change from slice to slice, like anatomy). The phantom lies under the body's back, as in
:mod:`hipbmd.sim.phantom_rods`. Everything is scanned by :func:`hipbmd.sim.ct.simulate_ct`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from hipbmd.calibration.phantoms import Phantom, load_phantom
from hipbmd.physics.xray import HA_CRYSTAL_MG_CM3
from hipbmd.sim.body import BodyShape, add_body
from hipbmd.sim.ct import Scanner, attenuation_weights, simulate_ct
from hipbmd.sim.grid import Grid
from hipbmd.sim.phantom_rods import PhantomSlab, RodLayout, phantom_slab
from hipbmd.sim.scanners import SCANNERS
from hipbmd.sim.tissues import Tissues
from hipbmd.types import Volume

BODY = BodyShape(width_mm=300.0, depth_mm=180.0, fat_mm=20.0, centre_y_mm=0.0)
BACK_Y_MM = -90.0
BONE_MG_CM3 = 300.0
BONE_BOX_MM = ((-20.0, -10.0), (20.0, 30.0))  # x and y ranges of the bone block
Z_RANGE_MM = (-9.0, 9.0)


@dataclass(frozen=True)
class Scan:
    """A simulated CT with what is known about it."""

    ct: Volume
    slab: PhantomSlab | None
    scanner: Scanner


def reversed_phantom(phantom: Phantom) -> Phantom:
    """The same rods in the opposite order (the phantom lying the other way round)."""
    water = None if phantom.water_mg_cm3 is None else phantom.water_mg_cm3[::-1]
    return dataclasses.replace(phantom, densities_mg_cm3=phantom.densities_mg_cm3[::-1], water_mg_cm3=water)


def scan(
    phantom: str | Phantom | None = "B-MAS 200",
    layout: RodLayout | None = None,
    scanner: str = "ct_a",
    noise: bool = True,
    seed: int = 0,
    voxel_mm: float = 1.0,
) -> Scan:
    """Simulate the body over a phantom (None: no phantom) with a site scanner.

    ``voxel_mm`` sets both the working grid and the CT's voxels (in-plane and slice) for coarse scans.
    """
    chosen = dataclasses.replace(SCANNERS[scanner], noise_hu=SCANNERS[scanner].noise_hu * noise)
    if voxel_mm != 1.0:
        chosen = dataclasses.replace(chosen, pixel_mm=voxel_mm, slice_mm=voxel_mm)
    grid = Grid.covering((-190.0, -150.0, -20.0), (190.0, 95.0, 20.0), (voxel_mm,) * 3)
    tissues = _body(grid, chosen.effective_energy_kev)
    slab = None
    if phantom is not None:
        definition = load_phantom(phantom) if isinstance(phantom, str) else phantom
        slab = phantom_slab(grid, definition, layout or RodLayout(top_y_mm=BACK_Y_MM - 1.0))
    rng = np.random.default_rng(seed)
    ct, _ = simulate_ct(tissues, slab, chosen, Z_RANGE_MM, BODY.width_mm, rng)
    return Scan(ct, slab, chosen)


def _body(grid: Grid, energy_kev: float) -> Tissues:
    tissues = Tissues.empty(grid)
    add_body(tissues, BODY)
    (x0, x1), (y0, y1) = BONE_BOX_MM
    box = grid.box((x0, y0, -100.0), (x1, y1, 100.0))
    tissues.mineral_mg_cm3[box] = BONE_MG_CM3
    # water-equivalent base, less the volume the mineral's crystals (3.16 g/cm³) take
    tissues.soft_g_cm3[box] = (1.0 - BONE_MG_CM3 / HA_CRYSTAL_MG_CM3) / attenuation_weights(energy_kev)[
        "soft"
    ]
    tissues.fat_g_cm3[box] = 0.0
    points = grid.points(tuple(slice(0, n) for n in grid.shape))  # type: ignore[arg-type]
    for centre_x in (-80.0, 80.0):  # balls whose cross-section changes along z, like femoral heads
        ball = np.linalg.norm(points - np.array([centre_x, 20.0, 0.0], np.float32), axis=-1) < 22.0
        tissues.mineral_mg_cm3[ball] = 250.0
    return tissues


def rod_positions_mm(slab: PhantomSlab) -> np.ndarray:
    """(n, 2) true rod centres in phantom order."""
    return np.array([(rod["x_mm"], rod["y_mm"]) for rod in slab.rods])
