"""Bowel gas of the ``parametric_wide`` source: more and larger pockets, and mottled faeces.

Pockets: 5–24 ellipsoids with semi-axes of 4–18 mm (× 1.4, 0.8, 1.0 left–right, antero-posterior,
supero-inferior), in the lower abdomen as in :func:`hipbmd.sim.body.add_bowel_gas` but reaching lower,
over the sacrum (−10 to 170 mm above the hip centres). Mottled faeces: 0–4 clusters (35–70 mm across) of
12–40 small bubbles, 1.5–5 mm in radius, each holding 40–90 % gas, the speckled gas of a stool-filled colon.
"""

from __future__ import annotations

import numpy as np

from hipbmd.sim.body import BodyShape, add_gas_pocket
from hipbmd.sim.tissues import Tissues

POCKET_SHAPE = np.array([1.4, 0.8, 1.0])


def add_wide_bowel_gas(tissues: Tissues, body: BodyShape, rng: np.random.Generator) -> None:
    """Add the pockets and the mottled clusters (see the module docstring), positions relative to the hips."""
    half = body.hip_half_distance_mm
    for _ in range(int(rng.integers(5, 25))):
        centre = np.array(
            [rng.uniform(-0.9, 0.9) * half, rng.uniform(-30.0, 70.0), rng.uniform(-10.0, 170.0)]
        )
        add_gas_pocket(tissues, centre, rng.uniform(4.0, 18.0, size=3) * POCKET_SHAPE)
    for _ in range(int(rng.integers(0, 5))):
        centre = np.array([rng.uniform(-0.8, 0.8) * half, rng.uniform(-20.0, 60.0), rng.uniform(10.0, 150.0)])
        _add_mottled_cluster(tissues, centre, float(rng.uniform(17.5, 35.0)), rng)


def _add_mottled_cluster(
    tissues: Tissues, centre_mm: np.ndarray, radius_mm: float, rng: np.random.Generator
) -> None:
    """Small partly gas-filled bubbles scattered in a ball of ``radius_mm`` about ``centre_mm``."""
    for _ in range(int(rng.integers(12, 41))):
        offset = rng.uniform(-1.0, 1.0, size=3) * radius_mm
        add_gas_pocket(
            tissues, centre_mm + offset, np.full(3, rng.uniform(1.5, 5.0)), float(rng.uniform(0.4, 0.9))
        )
