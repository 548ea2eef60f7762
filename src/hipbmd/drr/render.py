"""Quantitative DRRs: exact line integrals through a Volume for a batch of cameras, in physical units.

A density volume (mg/cm³) gives areal density in g/cm²: Σ ρ·Δl × 1e-4 with Δl in mm. An attenuation
volume (1/mm) gives the dimensionless μ·l. Nothing is normalised or rescaled per volume. Rendering can be
restricted to a set of labels (e.g. the femur only) or give one image per label.

The rays run from the source (or, for parallel projection, from the plane z = 0 of the camera) to the
detector pixel centres and stop there. The integrals are exact for a volume of constant-valued voxels
(see :mod:`hipbmd.drr.siddon`); for gradients with respect to the pose use :mod:`hipbmd.drr.differentiable`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hipbmd.drr.geometry import pixel_rays
from hipbmd.drr.siddon import BrickedChannels, BrickedVolume, to_index_rays
from hipbmd.types import Camera, Volume

MG_CM3_MM_TO_G_CM2 = 1e-4  # (mg/cm³)·mm = 1e-3 g / cm³ · 0.1 cm = 1e-4 g/cm²
RAYS_PER_CHUNK = 1 << 18
# Linear attenuation of water at an effective 70 keV: μ/ρ ≈ 0.194 cm²/g, interpolated log-log between
# 0.2059 (60 keV) and 0.1837 (80 keV) in the NIST XCOM tables (Hubbell & Seltzer, NISTIR 5632).
MU_WATER_PER_MM = 0.0194

_OUTPUT_UNIT = {"mg/cm3": "g/cm2", "1/mm": "1"}
_SCALE = {"mg/cm3": MG_CM3_MM_TO_G_CM2, "1/mm": 1.0}


@dataclass
class DRR:
    """Rendered images and what they mean.

    Attributes:
        images: (B, H, W), or (B, L, H, W) with one image per label when rendered per label.
        unit: "g/cm2" (areal density) or "1" (dimensionless μ·l).
        label_values: the labels rendered, None for the whole volume.
        cameras: the cameras, one per image.
    """

    images: npt.NDArray[np.float32]
    unit: str
    label_values: list[int] | None
    cameras: list[Camera]


def hu_to_attenuation(volume: Volume, mu_water_per_mm: float = MU_WATER_PER_MM) -> Volume:
    """Linear attenuation μ = μ_water·(1 + HU/1000), clipped at 0 (air), as a "1/mm" volume."""
    if volume.unit != "HU":
        raise ValueError(f"expected a HU volume, got {volume.unit}")
    mu = np.clip(mu_water_per_mm * (1.0 + volume.array.astype(np.float32) / 1000.0), 0.0, None)
    meta = dict(volume.meta, attenuation=f"mu_water {mu_water_per_mm} /mm")
    return Volume(mu.astype(np.float32), volume.affine.copy(), "1/mm", meta)


class Projector:
    """Renders one volume (optionally masked by labels) for any number of cameras.

    The volume is laid out once in bricks (see :mod:`hipbmd.drr.siddon`) and reused, so each further
    camera costs only the ray traversal.
    """

    def __init__(
        self,
        volume: Volume,
        labels: Volume | None = None,
        label_values: Sequence[int] | None = None,
        per_label: bool = False,
    ) -> None:
        """
        Args:
            volume: density ("mg/cm3") or attenuation ("1/mm") volume.
            labels: a label map on the same grid, needed with ``label_values``.
            label_values: render only voxels whose label is in this set.
            per_label: one image per label value instead of their sum.
        """
        if volume.unit not in _OUTPUT_UNIT:
            raise ValueError(
                f"cannot render a {volume.unit} volume: "
                "convert HU with hu_to_attenuation or calibrate to mg/cm3"
            )
        self.unit = _OUTPUT_UNIT[volume.unit]
        self._scale = _SCALE[volume.unit]
        self.label_values = None if label_values is None else [int(v) for v in label_values]
        # Each part is kept only in its bricked layout, with the affine of its (cropped) grid.
        self._parts = [
            (BrickedVolume(values), affine)
            for values, affine in _masked_parts(volume, labels, self.label_values, per_label)
        ]
        self._per_label = per_label

    def render(self, cameras: Camera | Sequence[Camera]) -> DRR:
        """Render every camera; images are (B, H, W) or (B, L, H, W) in :attr:`unit`."""
        camera_list = [cameras] if isinstance(cameras, Camera) else list(cameras)
        stacks = [
            np.stack([self._render_part(i, camera) for i in range(len(self._parts))])
            for camera in camera_list
        ]
        images = np.stack(stacks).astype(np.float32)
        if not self._per_label:
            images = images[:, 0]
        return DRR(images, self.unit, self.label_values, camera_list)

    def _render_part(self, part: int, camera: Camera) -> npt.NDArray[np.float64]:
        bricked, affine = self._parts[part]
        starts_mm, ends_mm = pixel_rays(camera)
        starts, deltas = to_index_rays(np.linalg.inv(np.asarray(affine, np.float64)), starts_mm, ends_mm)
        lengths = np.linalg.norm(ends_mm - starts_mm, axis=1)
        sequence = tile_sequence(camera.shape)
        out = np.empty(len(starts_mm), dtype=np.float64)
        for first in range(0, len(sequence), RAYS_PER_CHUNK):
            rays = sequence[first : first + RAYS_PER_CHUNK]
            out[rays] = bricked.integrate(starts[rays], deltas[rays], lengths[rays])
        return (out * self._scale).reshape(camera.shape)


def tile_sequence(shape: tuple[int, int], tile: int = 8) -> npt.NDArray[np.intp]:
    """Row-major pixel indices visited tile by tile (tile × tile pixels): neighbouring rays run together."""
    rows, cols = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    tiles_per_row = -(-shape[1] // tile)
    key = ((rows // tile) * tiles_per_row + cols // tile) * tile * tile + (rows % tile) * tile + cols % tile
    return np.argsort(key.ravel(), kind="stable")


def render(
    volume: Volume,
    cameras: Camera | Sequence[Camera],
    labels: Volume | None = None,
    label_values: Sequence[int] | None = None,
    per_label: bool = False,
) -> DRR:
    """Render DRRs of ``volume`` for the cameras (see :class:`Projector`)."""
    return Projector(volume, labels, label_values, per_label).render(cameras)


@dataclass(frozen=True)
class CameraRays:
    """A camera's pixel rays listed tile by tile (:func:`tile_sequence`), ready for rendering.

    Attributes:
        shape: the detector's (rows, columns).
        pixels: (N,) row-major pixel index of each ray.
        starts_mm, ends_mm: (N, 3) world points where each ray begins and ends.
        lengths_mm: (N,) ray lengths.
    """

    shape: tuple[int, int]
    pixels: npt.NDArray[np.intp]
    starts_mm: npt.NDArray[np.float64]
    ends_mm: npt.NDArray[np.float64]
    lengths_mm: npt.NDArray[np.float64]


def camera_rays(camera: Camera) -> CameraRays:
    """The rays of every pixel of ``camera`` (see :func:`hipbmd.drr.geometry.pixel_rays`), in tile order."""
    pixels = tile_sequence(camera.shape)
    starts_mm, ends_mm = pixel_rays(camera)
    starts_mm, ends_mm = starts_mm[pixels], ends_mm[pixels]
    lengths = np.linalg.norm(ends_mm - starts_mm, axis=1)
    return CameraRays(camera.shape, pixels, starts_mm, ends_mm, lengths)


def render_channels(
    arrays: Sequence[npt.NDArray[np.floating]],
    affine: npt.NDArray[np.float64],
    camera: Camera | CameraRays,
) -> npt.NDArray[np.float32]:
    """Areal densities (C, H, W) in g/cm² of several mg/cm³ volumes on one grid, one traversal per ray.

    The same images as rendering each volume alone (:func:`render`), at about the cost of one. Rays are
    traced only through the columns (first two axes) where some volume is non-zero. Rendering several
    grids for one camera, pass its :func:`camera_rays` to compute them once.
    """
    rays = camera if isinstance(camera, CameraRays) else camera_rays(camera)
    arrays, affine = _crop_columns(arrays, affine)
    bricked = BrickedChannels(arrays)
    world_to_index = np.linalg.inv(np.asarray(affine, np.float64))
    starts, deltas = to_index_rays(world_to_index, rays.starts_mm, rays.ends_mm)
    out = np.empty((len(rays.pixels), len(arrays)), dtype=np.float64)
    for first in range(0, len(rays.pixels), RAYS_PER_CHUNK):
        chunk = slice(first, first + RAYS_PER_CHUNK)
        out[rays.pixels[chunk]] = bricked.integrate(starts[chunk], deltas[chunk], rays.lengths_mm[chunk])
    images = (out * MG_CM3_MM_TO_G_CM2).T.reshape(len(arrays), *rays.shape)
    return np.asarray(images, np.float32)


def _crop_columns(
    arrays: Sequence[npt.NDArray[np.floating]], affine: npt.NDArray[np.float64]
) -> tuple[list[npt.NDArray[np.floating]], npt.NDArray[np.float64]]:
    """The volumes cut to the box of the first two axes outside which all of them are zero (views)."""
    footprint = np.zeros(arrays[0].shape[:2], np.bool_)
    for values in arrays:
        footprint |= np.any(values, axis=2)
    if not footprint.any():
        return [values[:1, :1] for values in arrays], affine
    rows, cols = np.flatnonzero(footprint.any(axis=1)), np.flatnonzero(footprint.any(axis=0))
    first = np.array([rows[0], cols[0], 0])
    shifted = np.array(affine, np.float64)
    shifted[:3, 3] = shifted[:3, :3] @ first + shifted[:3, 3]
    return [values[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] for values in arrays], shifted


def _masked_parts(
    volume: Volume, labels: Volume | None, label_values: list[int] | None, per_label: bool
) -> list[tuple[npt.NDArray[np.float32], npt.NDArray[np.float64]]]:
    """The (values, affine) volumes to render, each cropped to where it is non-zero."""
    if label_values is None:
        if per_label:
            raise ValueError("per_label needs label_values")
        return [(volume.array.astype(np.float32, copy=False), volume.affine)]
    if labels is None or labels.shape != volume.shape:
        raise ValueError("label_values need a label map on the volume's grid")
    missing = sorted(set(label_values) - set(np.unique(labels.array).tolist()))
    if missing:
        raise ValueError(f"label value(s) {missing} not present in the label map")
    groups = [[value] for value in label_values] if per_label else [label_values]
    return [
        _crop(np.where(np.isin(labels.array, group), volume.array, 0.0), volume.affine) for group in groups
    ]


def _crop(
    values: npt.NDArray[np.floating], affine: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float64]]:
    """Crop to the bounding box of non-zero voxels (rays outside it integrate zero anyway)."""
    nonzero = np.argwhere(values != 0)
    if len(nonzero) == 0:
        return np.zeros((1, 1, 1), np.float32), affine
    low, high = nonzero.min(axis=0), nonzero.max(axis=0) + 1
    shifted = affine.copy()
    shifted[:3, 3] = affine[:3, :3] @ low + affine[:3, 3]
    box = values[low[0] : high[0], low[1] : high[1], low[2] : high[2]]
    return np.ascontiguousarray(box, dtype=np.float32), shifted
