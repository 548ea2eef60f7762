"""The central slices of a CT seen as one image: their mean, a noise-only image, and in-plane geometry.

A phantom's rods are the same in every slice, so their mean over the central half of the slices is a
sharp, quiet picture of them. The difference of the means of odd and even slices, halved, holds the same
noise as that mean and (for anatomy that changes slowly along z) no structure: the noise reference of
blob detection.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from hipbmd.types import Volume

FloatArray = npt.NDArray[np.float64]
BODY_HU = -900.0  # pixels above this count as "not air" when measuring noise


@dataclass
class CentralImage:
    """The central slices of a CT (RAS index order), their mean and a noise-only image.

    Attributes:
        volume: the CT in HU.
        slices: the central slices (index range along K).
        mean: (I, J) their mean, HU.
        noise: (I, J) noise-only image (NaN in air or when there are fewer than two slices).
        spacing_mm: in-plane pixel size along I and J.
    """

    volume: Volume
    slices: slice
    mean: FloatArray
    noise: FloatArray
    spacing_mm: tuple[float, float]

    @classmethod
    def of(cls, volume: Volume) -> CentralImage:
        """The central half of the slices (at least one) of a CT in RAS index order."""
        depth = volume.shape[2]
        keep = max(depth // 2, 1)
        slices = slice((depth - keep) // 2, (depth - keep) // 2 + keep)
        block = np.asarray(volume.array[:, :, slices], np.float64)
        mean = block.mean(axis=2)
        pairs = block.shape[2] // 2
        noise = np.full_like(mean, np.nan)
        if pairs:
            even = block[:, :, 0 : 2 * pairs : 2].mean(axis=2)
            odd = block[:, :, 1 : 2 * pairs : 2].mean(axis=2)
            noise = np.where(mean > BODY_HU, (even - odd) / 2, np.nan)
        sx, sy, _ = volume.spacing_mm
        return cls(volume, slices, mean, noise, (sx, sy))

    @property
    def pixel_mm(self) -> float:
        """The smaller in-plane pixel size, mm."""
        return min(self.spacing_mm)

    @property
    def middle_k(self) -> float:
        """Index of the middle of the central slices."""
        return float(self.slices.start + self.slices.stop - 1) / 2

    def to_mm(self, i: float, j: float) -> FloatArray:
        """World (x, y) of a fractional in-plane pixel position on the middle slice."""
        return self.volume.voxel_to_world_mm([i, j, self.middle_k])[:2]

    def to_pixel(self, xy_mm: npt.ArrayLike) -> FloatArray:
        """Fractional (i, j), shape (..., 2), of world (x, y) points, shape (..., 2), on the middle slice."""
        xy = np.asarray(xy_mm, np.float64)
        z = self.volume.voxel_to_world_mm([0.0, 0.0, self.middle_k])[2]
        xyz = np.concatenate([xy, np.full((*xy.shape[:-1], 1), z)], axis=-1)
        return self.volume.world_mm_to_voxel(xyz)[..., :2]

    def distance_mm(self, centre_mm: npt.ArrayLike) -> FloatArray:
        """(I, J) in-plane distance of every pixel centre from a world (x, y) point, mm."""
        ci, cj = self.to_pixel(centre_mm)
        i, j = np.ogrid[: self.mean.shape[0], : self.mean.shape[1]]
        return np.asarray(np.hypot((i - ci) * self.spacing_mm[0], (j - cj) * self.spacing_mm[1]))

    def disc(self, centre_mm: npt.ArrayLike, radius_mm: float) -> npt.NDArray[np.bool_]:
        """Pixels whose centres lie within ``radius_mm`` of a point (at least the nearest pixel)."""
        distance = self.distance_mm(centre_mm)
        return np.asarray(distance <= max(radius_mm, float(distance.min()) + 1e-6))

    def voxels(self, mask: npt.NDArray[np.bool_]) -> FloatArray:
        """HU of the central slices' voxels under an in-plane mask, shape (pixels, slices)."""
        return np.asarray(self.volume.array[:, :, self.slices][mask], np.float64)

    def polar(self, centre_mm: npt.ArrayLike, distances_mm: FloatArray, angles: FloatArray) -> FloatArray:
        """The mean image sampled (bilinear) around a point: shape (distances, angles); angles in radians."""
        directions = np.stack([np.cos(angles), np.sin(angles)], axis=-1)
        xy = np.asarray(centre_mm) + distances_mm[:, None, None] * directions[None]
        ij = self.to_pixel(xy.reshape(-1, 2)).T
        samples = ndimage.map_coordinates(self.mean, ij, order=1, mode="nearest")
        return np.asarray(samples.reshape(distances_mm.size, angles.size))
