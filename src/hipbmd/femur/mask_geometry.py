"""Geometry of a binary bone mask in world millimetres: surface points, sphere fits and cross-sections.

Everything works on voxel centres mapped through the volume's affine, so any voxel size and any
orientation (oblique or sheared affines included) give the same world geometry.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage, optimize

from hipbmd.types import Volume

Points = npt.NDArray[np.float64]  # (N, 3) world mm


@dataclass(frozen=True)
class BoneMask:
    """A binary mask cropped to its bounding box (plus a margin), with its voxel → world affine.

    Attributes:
        inside: (I, J, K) booleans, True inside the bone.
        affine: 4×4 voxel index → world RAS+ mm of ``inside``.
    """

    inside: npt.NDArray[np.bool_]
    affine: npt.NDArray[np.float64]

    @classmethod
    def from_labels(cls, labels: Volume, label_value: int, margin: int = 2) -> BoneMask:
        """The voxels of ``labels`` equal to ``label_value``, cropped (empty when there are none)."""
        inside = np.asarray(labels.array) == label_value
        found = np.argwhere(inside)
        if not len(found):
            return cls(np.zeros((0, 0, 0), np.bool_), labels.affine)
        low = np.maximum(found.min(axis=0) - margin, 0)
        high = found.max(axis=0) + margin + 1
        affine = labels.affine.copy()
        affine[:3, 3] += affine[:3, :3] @ low
        cropped = inside[low[0] : high[0], low[1] : high[1], low[2] : high[2]]
        return cls(np.ascontiguousarray(cropped), affine)

    @property
    def spacing_mm(self) -> npt.NDArray[np.float64]:
        """Voxel size along each array axis (mm)."""
        return np.asarray(np.linalg.norm(self.affine[:3, :3], axis=0), dtype=np.float64)

    @property
    def voxel_volume_mm3(self) -> float:
        """Volume of one voxel (mm³)."""
        return float(abs(np.linalg.det(self.affine[:3, :3])))

    def world(self, index: npt.ArrayLike) -> Points:
        """Voxel indices (N, 3) → world mm (N, 3)."""
        return np.asarray(index, np.float64) @ self.affine[:3, :3].T + self.affine[:3, 3]

    def points_mm(self) -> Points:
        """World coordinates of the centres of the voxels inside the mask."""
        return self.world(np.argwhere(self.inside))

    def surface_mm(self) -> Points:
        """Centres of the voxel faces between the mask and the outside (world mm).

        A face centre lies halfway between an inside and an outside voxel centre, so on a mask made by
        thresholding occupancy at ½ it sits on the surface to within half a voxel without the inward
        bias of boundary voxel centres.
        """
        padded = np.pad(self.inside, 1)
        faces = []
        for axis in range(3):
            for step in (-1, 1):
                outside = ~np.roll(padded, -step, axis=axis)
                index = np.argwhere(padded & outside).astype(np.float64) - 1.0
                index[:, axis] += 0.5 * step
                faces.append(index)
        return self.world(np.concatenate(faces))


def fit_sphere(points: Points) -> tuple[npt.NDArray[np.float64], float, float]:
    """Least-squares sphere through ``points``: (centre mm, radius mm, RMS radial residual mm).

    An algebraic fit (|p|² = 2 c·p + r² − |c|², linear in c and r² − |c|²) starts a geometric fit that
    minimises Σ (|p − c| − r)².
    """
    design = np.column_stack([2.0 * points, np.ones(len(points))])
    solution, *_ = np.linalg.lstsq(design, np.einsum("ij,ij->i", points, points), rcond=None)
    centre = solution[:3]
    radius = float(np.sqrt(max(solution[3] + centre @ centre, 1e-6)))

    def residuals(params: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.asarray(np.linalg.norm(points - params[:3], axis=1) - params[3], np.float64)

    fit = optimize.least_squares(residuals, np.append(centre, radius), method="lm")
    rms = float(np.sqrt(np.mean(fit.fun**2)))
    return np.asarray(fit.x[:3], np.float64), float(abs(fit.x[3])), rms


def plane_basis(normal: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Two unit vectors spanning the plane perpendicular to ``normal`` (a unit vector)."""
    n = np.asarray(normal, np.float64)
    helper = np.eye(3)[int(np.argmin(np.abs(n)))]
    first = np.cross(n, helper)
    first /= np.linalg.norm(first)
    return first, np.cross(n, first)


@dataclass(frozen=True)
class Section:
    """One planar cross-section of the mask: the connected piece nearest the plane's centre.

    Attributes:
        area_mm2: area of that piece (0 when the plane misses the mask).
        centroid_mm: its centroid in world mm (NaN when empty).
    """

    area_mm2: float
    centroid_mm: npt.NDArray[np.float64]


def cross_section(
    mask: BoneMask, centre_mm: npt.ArrayLike, normal: npt.ArrayLike, half_width_mm: float, step_mm: float
) -> Section:
    """Cut the mask with the plane through ``centre_mm`` perpendicular to ``normal`` (unit vector).

    The mask is sampled trilinearly on a square of pixels ``step_mm`` apart (inside where > ½); among the
    connected pieces the one holding the pixel nearest ``centre_mm`` is kept, so a neighbouring bone
    part cut by the same plane (a trochanter next to the neck) does not count.
    """
    first, second = plane_basis(normal)
    offsets = np.arange(-half_width_mm, half_width_mm + 0.5 * step_mm, step_mm)
    u, v = np.meshgrid(offsets, offsets, indexing="ij")
    world = np.asarray(centre_mm, np.float64) + u[..., None] * first + v[..., None] * second
    inverse = np.linalg.inv(mask.affine)
    index = world.reshape(-1, 3) @ inverse[:3, :3].T + inverse[:3, 3]
    values = ndimage.map_coordinates(mask.inside.astype(np.float32), index.T, order=1, mode="constant")
    inside = values.reshape(u.shape) > 0.5
    if not inside.any():
        return Section(0.0, np.full(3, np.nan))
    pieces, _ = ndimage.label(inside)
    pixels = np.argwhere(inside)
    middle = (len(offsets) - 1) / 2.0
    nearest = pixels[int(np.argmin(np.sum((pixels - middle) ** 2, axis=1)))]
    chosen = pieces == pieces[tuple(nearest)]
    centroid = world[chosen].mean(axis=0)
    return Section(float(chosen.sum()) * step_mm**2, np.asarray(centroid, np.float64))


def fit_line(points: Points) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], float]:
    """Total-least-squares line through ``points``: (a point on it, unit direction, RMS distance mm)."""
    mean = points.mean(axis=0)
    centred = points - mean
    _, _, rows = np.linalg.svd(centred, full_matrices=False)
    direction = rows[0]
    off_line = centred - np.outer(centred @ direction, direction)
    rms = float(np.sqrt(np.mean(np.sum(off_line**2, axis=1))))
    return mean, direction, rms
