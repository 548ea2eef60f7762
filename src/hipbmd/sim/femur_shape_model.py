"""Femurs with real shape variation: draws from the gias2 femur PCA model (26 adult femurs).

The model (``resources/anatomy/gias2_femur_pca.npz``, converted by ``scripts/convert_gias2_shapes.py``;
MPL-2.0, see PROVENANCE.txt there) is a closed triangle surface of a whole right femur in RAS+ mm
(anatomical position) with a mean and orthonormal modes, each with its SD over the 26 subjects. A femur
is mean + Σ wₖ·SDₖ·modeₖ with weights wₖ in SD units:

* region "training": every weight from a standard normal truncated to ±2 SD;
* region "held-out": a training draw in which one of the first HELD_OUT_MODES modes is set to 2–3 SD
  (either sign), so every held-out femur lies beyond the training region along a major mode.

The surface is moved to the canonical femur frame of :mod:`hipbmd.sim.femur_shape` (head centre at the
origin; a small turn about x puts the proximal shaft in the coronal plane), scaled to the patient's size,
measured into a :class:`FemurShape` (:mod:`hipbmd.sim.femur_mesh_fit`) and given its signed distance as
the femur's outline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources

import numpy as np
import numpy.typing as npt

from hipbmd.sim.femur_mesh_fit import femur_shape_from_measures, measure_femur
from hipbmd.sim.femur_shape import FemurShape
from hipbmd.sim.grid import Grid
from hipbmd.sim.mesh_distance import mesh_distance
from hipbmd.types import Side

Points = npt.NDArray[np.float64]
TRAINING_LIMIT_SD = 2.0
HELD_OUT_RANGE_SD = (2.0, 3.0)
HELD_OUT_MODES = 3
OTHER_SIDE_SD = 0.15  # left and right femurs of one patient differ a little
OUTLINE_SPACING_MM = 1.0
OUTLINE_LOW_MM = (-50.0, -55.0, -255.0)  # covers the femur box of hipbmd.sim.femur_model
OUTLINE_HIGH_MM = (100.0, 55.0, 45.0)
OUTLINE_MARGIN_MM = 12.0


@dataclass(frozen=True)
class FemurShapeModel:
    """A point-distribution model of a closed femur surface (RAS+ mm, right femur).

    Attributes:
        mean_mm: mean vertex positions, (V, 3).
        modes: orthonormal modes, (K, V, 3).
        mode_sd_mm: SD of each mode's weight over the training subjects, (K,).
        triangles: vertex indices of the surface's triangles, outward normals, (T, 3).
    """

    mean_mm: Points
    modes: Points
    mode_sd_mm: npt.NDArray[np.float64]
    triangles: npt.NDArray[np.int32]

    def instance(self, weights_sd: npt.ArrayLike) -> Points:
        """Vertices (mm) of the femur with mode weights ``weights_sd`` (SD units; missing modes 0)."""
        weights = np.zeros(len(self.mode_sd_mm))
        given = np.asarray(weights_sd, np.float64)
        weights[: len(given)] = given
        return np.asarray(self.mean_mm + np.einsum("k,kvj->vj", weights * self.mode_sd_mm, self.modes))


@dataclass(frozen=True)
class ShapeModelFemur:
    """The shape-model draw of one femur (what the truth records).

    Attributes:
        mode_weights_sd: weight of each mode in SD units.
        scale: size factor applied to the model femur (the patient's skeletal scale).
    """

    mode_weights_sd: tuple[float, ...]
    scale: float


@lru_cache(maxsize=1)
def load_femur_model() -> FemurShapeModel:
    """The converted gias2 femur model shipped with the package."""
    path = resources.files("hipbmd.resources").joinpath("anatomy", "gias2_femur_pca.npz")
    with path.open("rb") as stream, np.load(stream) as arrays:
        return FemurShapeModel(
            arrays["mean_mm"].astype(np.float64),
            arrays["modes"].astype(np.float64),
            arrays["mode_sd_mm"].astype(np.float64),
            arrays["triangles"].astype(np.int32),
        )


def draw_mode_weights(rng: np.random.Generator, n_modes: int, region: str) -> npt.NDArray[np.float64]:
    """Mode weights (SD units) of the training region, or of its held-out tails (module docstring)."""
    weights = rng.standard_normal(n_modes)
    outside = np.abs(weights) > TRAINING_LIMIT_SD
    while outside.any():
        weights[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(weights) > TRAINING_LIMIT_SD
    if region == "held-out":
        mode = int(rng.integers(min(HELD_OUT_MODES, n_modes)))
        weights[mode] = float(rng.choice([-1.0, 1.0]) * rng.uniform(*HELD_OUT_RANGE_SD))
    return weights


def other_side_weights(
    rng: np.random.Generator, weights_sd: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """The other femur: the same weights with a little noise, kept in the region of the first."""
    other = weights_sd + rng.normal(0.0, OTHER_SIDE_SD, len(weights_sd))
    inside = np.abs(weights_sd) <= TRAINING_LIMIT_SD
    other[inside] = np.clip(other[inside], -TRAINING_LIMIT_SD, TRAINING_LIMIT_SD)
    other[~inside] = weights_sd[~inside]
    return other


def canonical_vertices(vertices_mm: Points, scale: float) -> Points:
    """The femur with its head centre at the origin, its proximal shaft in the coronal plane, scaled."""
    measures = measure_femur(vertices_mm)
    shaft = measures.shaft_axis
    angle = math.atan2(shaft[1], shaft[2])  # turn about x that zeroes the shaft's y component
    cos, sin = math.cos(angle), math.sin(angle)
    turn = np.array([[1.0, 0.0, 0.0], [0.0, cos, -sin], [0.0, sin, cos]])
    return np.asarray((vertices_mm - measures.head.centre_mm) @ turn.T * scale)


def shape_model_femur(
    model: FemurShapeModel, draw: ShapeModelFemur, osteophyte_mm: float = 0.0
) -> FemurShape:
    """The femur of a draw: its measured :class:`FemurShape` with the mesh's signed distance as outline."""
    vertices = canonical_vertices(model.instance(draw.mode_weights_sd), draw.scale)
    shape = femur_shape_from_measures(measure_femur(vertices), osteophyte_mm)
    return replace(
        shape,
        trochanter_scale=draw.scale,
        outline=mesh_distance(vertices, model.triangles, _outline_grid(vertices)),
    )


def _outline_grid(vertices_mm: Points) -> Grid:
    """The femur box of the simulator cut down to the mesh's own extent plus a margin (mm).

    Points beyond the grid read a distance at least as far as its edge's, so the margin only has to cover
    the depths the bone is built from (cortex and occupancy, well under :data:`OUTLINE_MARGIN_MM`).
    """
    low = np.maximum(np.asarray(OUTLINE_LOW_MM), vertices_mm.min(axis=0) - OUTLINE_MARGIN_MM)
    high = np.minimum(np.asarray(OUTLINE_HIGH_MM), vertices_mm.max(axis=0) + OUTLINE_MARGIN_MM)
    return Grid.covering(low, high, (OUTLINE_SPACING_MM,) * 3)


def draw_shape_model_femurs(
    rng: np.random.Generator, scale: float, region: str
) -> dict[Side, ShapeModelFemur]:
    """Both femurs' draws: one in ``region``, the other a near copy (see :func:`other_side_weights`)."""
    model = load_femur_model()
    right = draw_mode_weights(rng, len(model.mode_sd_mm), region)
    left = other_side_weights(rng, right)

    def record(weights: npt.NDArray[np.float64]) -> ShapeModelFemur:
        return ShapeModelFemur(tuple(round(float(w), 4) for w in weights), round(scale, 4))

    return {"right": record(right), "left": record(left)}
