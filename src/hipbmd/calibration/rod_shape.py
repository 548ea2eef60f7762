"""What one rod looks like in the central image: steady along z, its block, its centre and radius.

A rod is a disc of uniform HU in a uniform block. Its centre is the centroid of its fractional occupancy
(HU − block) / (core − block), which, unlike a blob detector's peak, nearby edges (the block's face, the
patient's back) do not pull. Its radius is where its profile crosses half-way from core to block, which
blur of a few tenths of a millimetre leaves in place. Its core, 1.5 mm or 1.5 pixels inside its edge, is
free of that blur and of partial volume.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from hipbmd.calibration.central_image import CentralImage

FloatArray = npt.NDArray[np.float64]
CLIP_HU = -250.0  # HU below this (air, gas) count as this in a rod's surroundings
FAINT_HU = 24.0  # rods of less contrast keep their detected centre and get the row's radius
Z_STEADY_RATIO = 2.5  # a rod's slice-to-slice spread may exceed that expected from noise by this factor
Z_STEADY_HU = 3.0  # ... or be below this, however little noise there is


def core_radius_mm(radius_mm: float, pixel_mm: float) -> float:
    """Radius of the part of a rod free of its edge's blur and partial volume."""
    return radius_mm - max(1.5, 1.5 * pixel_mm)


def steady_along_z(image: CentralImage, centre_mm: FloatArray, radius_mm: float) -> bool:
    """Whether the mean HU of a disc varies along z no more than noise makes it.

    With noise alone the SD of the per-slice means equals that of their successive differences / √2;
    anatomy, which changes gradually from slice to slice, makes the first far larger.
    """
    per_slice = image.voxels(image.disc(centre_mm, radius_mm)).mean(axis=0)
    if per_slice.size < 6:
        return True
    spread = float(np.std(per_slice))
    noise = float(np.std(np.diff(per_slice))) / np.sqrt(2.0)
    return spread <= Z_STEADY_HU or spread <= Z_STEADY_RATIO * noise


def surround_hu(image: CentralImage, centre_mm: FloatArray, radius_mm: float) -> float:
    """Median HU of a thin ring (3 mm wide) just outside a rod: the block it sits in."""
    inner = radius_mm + 1.5 * image.pixel_mm + 1.0
    angles = np.linspace(0.0, 2 * np.pi, 32, endpoint=False)
    samples = image.polar(centre_mm, np.linspace(inner, inner + 3.0, 4), angles)
    return float(np.median(np.maximum(samples, CLIP_HU)))


def rod_centre_mm(image: CentralImage, start_mm: FloatArray, radius_mm: float) -> FloatArray:
    """A rod's centre, the centroid of its occupancy (3 iterations from ``start_mm``).

    A blob that is no uniform disc (its centroid wanders off by more than its radius) keeps its start.
    """
    pixel = image.pixel_mm
    i, j = np.broadcast_arrays(*np.ogrid[: image.mean.shape[0], : image.mean.shape[1]])
    centre = np.asarray(start_mm, np.float64)
    for _ in range(3):
        distance = image.distance_mm(centre)
        ring = (distance >= radius_mm + 2 * pixel) & (distance <= radius_mm + 2 * pixel + 3.0)
        core = image.disc(centre, core_radius_mm(radius_mm, pixel))
        if not ring.any():
            return centre
        block = float(np.median(image.mean[ring]))
        contrast = float(image.mean[core].mean()) - block
        if not abs(contrast) >= FAINT_HU:
            return centre
        weight = np.clip((image.mean - block) / contrast, 0.0, 1.0) * (distance <= radius_mm + 2 * pixel)
        total = float(weight.sum())
        if not total > 0.0:
            return centre
        centre = image.to_mm(float((weight * i).sum()) / total, float((weight * j).sum()) / total)
    moved = float(np.hypot(*(centre - np.asarray(start_mm))))
    return centre if moved <= radius_mm else np.asarray(start_mm, np.float64)


def rod_radius_mm(
    image: CentralImage, centre_mm: FloatArray, first_mm: float, step_mm: FloatArray
) -> float | None:
    """Radius where the profile along the row (±40°) crosses half-way from core to block.

    ``first_mm`` is a first estimate of the radius; ``step_mm`` the row's slot-to-slot vector, whose half
    is as far as the profile reaches. None when the rod is too faint or no crossing is found.
    """
    pixel = image.pixel_mm
    reach = 0.5 * float(np.hypot(*step_mm))
    distances = np.arange(0.0, reach, 0.25 * pixel)
    axis = np.arctan2(step_mm[1], step_mm[0])
    fan = np.linspace(-0.7, 0.7, 9)
    profile = image.polar(centre_mm, distances, np.concatenate([axis + fan, axis + np.pi + fan])).mean(axis=1)
    inner = float(profile[distances <= max(0.3 * first_mm, 0.5 * pixel)].mean())
    outer_zone = distances >= min(1.4 * first_mm + pixel, 0.8 * reach)
    outer = float(np.median(profile[outer_zone])) if outer_zone.any() else float(profile[-1])
    if abs(inner - outer) < FAINT_HU:
        return None
    above = (profile - (inner + outer) / 2) * np.sign(inner - outer)
    crossing = np.flatnonzero((above[:-1] > 0) & (above[1:] <= 0))
    if crossing.size == 0:
        return None
    k = int(crossing[0])
    fraction = above[k] / (above[k] - above[k + 1])
    return float(distances[k] + fraction * (distances[k + 1] - distances[k]))
