"""A real pelvis for the shape-model source: the surface of one adult pelvis, fitted to the patient's hips.

The surface (``resources/anatomy/gias2_pelvis.npz``: both hip bones and the sacrum of subject 2007_5028
shipped with gias2, MPL-2.0, see PROVENANCE.txt there; RAS+ mm in its CT's frame) is placed so that its
acetabular centres fall on the hip joint centres (±h, 0, 0) of :mod:`hipbmd.sim.body`: the midpoint of
the two centres goes to the origin, the line joining them is turned onto x, and the whole is scaled so the
mean acetabular radius fits the femoral head plus the joint space. Each bone's signed distance is sampled
once per placement (PELVIS_SPACING_MM) and filled as cortex over trabecular bone like the parametric pelvis.

Acetabulum: among points 18–30 mm from the nearest vertex (on a 4 mm lattice), the one whose vertices
within that distance + 2 mm surround it most (count × (1 − |mean direction|), a cup scores high, a flat or
convex surface low); a sphere fitted to the vertices within 2.5 mm of its sphere, refined five times.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from hipbmd.drr.geometry import rotation_onto_x
from hipbmd.sim.femur_mesh_fit import Sphere, fit_sphere
from hipbmd.sim.grid import Grid
from hipbmd.sim.mesh_distance import SampledDistance, mesh_distance
from hipbmd.sim.pelvis import PelvisShape, add_bone_part
from hipbmd.sim.tissues import LABELS, Tissues

Points = npt.NDArray[np.float64]
PELVIS_SPACING_MM = 1.5
BONES = ("hip_right", "hip_left", "sacrum")
MARGIN_MM = 6.0


@dataclass(frozen=True)
class SurfaceMesh:
    """A closed triangle surface (RAS+ mm; triangles index the vertices, outward normals)."""

    vertices_mm: Points
    triangles: npt.NDArray[np.int32]


@dataclass(frozen=True)
class PelvisMesh:
    """The pelvis's bones and its two acetabula (RAS+ mm, the source CT's frame)."""

    bones: dict[str, SurfaceMesh]
    acetabula: dict[str, Sphere]  # by side, "right" / "left"

    def placed(self, hip_half_distance_mm: float) -> dict[str, SurfaceMesh]:
        """The bones moved so the acetabular centres sit at (±h, 0, 0) (see the module docstring)."""
        right, left = self.acetabula["right"].centre_mm, self.acetabula["left"].centre_mm
        rotation = rotation_onto_x(right - left)
        scale = 2.0 * hip_half_distance_mm / float(np.linalg.norm(right - left))
        middle = 0.5 * (right + left)
        return {
            name: SurfaceMesh((bone.vertices_mm - middle) @ rotation.T * scale, bone.triangles)
            for name, bone in self.bones.items()
        }

    def half_distance_for_socket_mm(self, socket_radius_mm: float) -> float:
        """Hip half-distance (mm) at which the mean acetabular radius becomes ``socket_radius_mm``."""
        radius = 0.5 * (self.acetabula["right"].radius_mm + self.acetabula["left"].radius_mm)
        distance = np.linalg.norm(self.acetabula["right"].centre_mm - self.acetabula["left"].centre_mm)
        return float(0.5 * distance * socket_radius_mm / radius)


def find_acetabulum(bone: SurfaceMesh) -> Sphere:
    """The acetabular sphere of a hip bone (module docstring)."""
    vertices, tree = bone.vertices_mm, cKDTree(bone.vertices_mm)
    axes = [np.arange(low, high, 4.0) for low, high in zip(vertices.min(0), vertices.max(0), strict=True)]
    candidates = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    nearest, _ = tree.query(candidates)
    keep = (nearest > 18.0) & (nearest < 30.0)
    scores = [_cup_score(vertices, tree, c, r) for c, r in zip(candidates[keep], nearest[keep], strict=True)]
    best = int(np.argmax(scores))
    sphere = Sphere(candidates[keep][best], float(nearest[keep][best]))
    for _ in range(5):
        shell = np.abs(np.linalg.norm(vertices - sphere.centre_mm, axis=1) - sphere.radius_mm) < 2.5
        sphere = fit_sphere(vertices[shell])
    return sphere


def _cup_score(vertices: Points, tree: cKDTree, centre: Points, radius_mm: float) -> float:
    near = vertices[tree.query_ball_point(centre, radius_mm + 2.0)]
    directions = (near - centre) / np.linalg.norm(near - centre, axis=1, keepdims=True)
    return float(len(near) * (1.0 - np.linalg.norm(directions.mean(axis=0))))


@lru_cache(maxsize=1)
def load_pelvis_mesh() -> PelvisMesh:
    """The converted gias2 pelvis shipped with the package, with its acetabula found."""
    path = resources.files("hipbmd.resources").joinpath("anatomy", "gias2_pelvis.npz")
    with path.open("rb") as stream, np.load(stream) as arrays:
        bones = {
            name: SurfaceMesh(arrays[f"{name}_mm"].astype(np.float64), arrays[f"{name}_triangles"])
            for name in BONES
        }
    acetabula = {side: find_acetabulum(bones[f"hip_{side}"]) for side in ("right", "left")}
    return PelvisMesh(bones, acetabula)


@lru_cache(maxsize=2)
def placed_pelvis_distances(hip_half_distance_mm: float) -> dict[str, SampledDistance]:
    """Signed distance of each bone of the pelvis placed for ``hip_half_distance_mm`` (world mm)."""
    distances = {}
    for name, bone in load_pelvis_mesh().placed(hip_half_distance_mm).items():
        low, high = bone.vertices_mm.min(0) - MARGIN_MM, bone.vertices_mm.max(0) + MARGIN_MM
        grid = Grid.covering(low, high, (PELVIS_SPACING_MM,) * 3)
        distances[name] = mesh_distance(bone.vertices_mm, bone.triangles, grid)
    return distances


def add_mesh_pelvis(
    tissues: Tissues, pelvis: PelvisShape, texture: npt.NDArray[np.float32], marrow_fat_fraction: float
) -> None:
    """Add the placed real pelvis (both hip bones and the sacrum) to the tissues."""
    for name, distance in placed_pelvis_distances(pelvis.hip_half_distance_mm).items():
        grid = distance.grid
        low = np.asarray(grid.origin_mm)
        high = low + (np.asarray(grid.shape) - 1) * np.asarray(grid.spacing_mm)
        add_bone_part(tissues, low, high, distance, pelvis, texture, marrow_fat_fraction, LABELS[name])
