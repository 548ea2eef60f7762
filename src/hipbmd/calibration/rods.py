"""Find a calibration phantom's rods in a CT and measure them.

Rods run along z through the whole scan while the anatomy changes from slice to slice, so the search works
on the mean of the central slices (:mod:`hipbmd.calibration.central_image`):

1. round blobs, bright or dark, 2.5–15 mm in radius (:mod:`hipbmd.calibration.blobs`) on the mean image
   clipped below at −250 HU (so that air next to the block does not outweigh the rods), whose contrast
   exceeds 8 HU and six noise SDs, with matter at their centre;
2. only blobs that stay the same along z (:func:`hipbmd.calibration.rod_shape.steady_along_z`);
3. the row of equally spaced blobs of similar size that holds the most of them
   (:mod:`hipbmd.calibration.row`), in one block (their surroundings agree within 30 HU and the line
   from the first to the last runs through matter) and alike (their radii agree within 20 %). Rods
   with no contrast (an HA rod of 0 mg/cm³ in water-equivalent resin) are missing there and are put
   back from the spacing when the row is matched to a phantom (:func:`arrangements`). When that row
   fits no phantom, the next best rows of the remaining blobs are offered in turn;
4. each rod's centre, radius and the mean and SD of the HU of its core over the central slices
   (:mod:`hipbmd.calibration.rod_shape`).

Positions are world RAS+ mm (x towards the patient's right, y anterior).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from hipbmd.calibration.blobs import Blob, find_blobs
from hipbmd.calibration.central_image import CentralImage
from hipbmd.calibration.rod_shape import (
    CLIP_HU,
    core_radius_mm,
    rod_centre_mm,
    rod_radius_mm,
    steady_along_z,
    surround_hu,
)
from hipbmd.calibration.row import Row, best_row, refit

FloatArray = npt.NDArray[np.float64]
MIN_CONTRAST_HU = 8.0
RADII_MM = (2.5, 15.0)  # radii searched; rods of 3–12 mm lie well inside
MATTER_HU = -500.0  # a rod's centre, and the block between rods, read more than this
MAX_CANDIDATES = 60  # strongest blobs kept for the row search
SURROUND_SPREAD_HU = 30.0  # the rods of a row sit in one block: their surroundings agree within this
RADIUS_TOLERANCE = 0.2  # the rods of a row are alike: their radii agree within this fraction (or 1.5 px)


@dataclass(frozen=True)
class RodMeasurement:
    """One rod as found in the CT.

    Attributes:
        x_mm, y_mm: centre in world RAS+ mm.
        radius_mm: radius (estimated for rods with contrast, else the row's median).
        mean_hu, sd_hu: mean and SD of the HU of the rod's core over the central slices.
        voxels: number of core voxels measured.
        detected: True if the rod was found as a blob, False if placed from the row's spacing.
    """

    x_mm: float
    y_mm: float
    radius_mm: float
    mean_hu: float
    sd_hu: float
    voxels: int
    detected: bool


@dataclass(frozen=True)
class RodRow:
    """The rods found: their row (see :class:`hipbmd.calibration.row.Row`) and where each one is.

    Attributes:
        row: the row's geometry, fitted to ``centres_mm``; ``row.slots`` numbers the rods found.
        centres_mm: (x, y) of each rod found, in slot order.
        radii_mm: each one's radius from its profile (None when too faint to tell).
        radius_mm: the median of those radii (of the blobs' scales when none could be told).
    """

    row: Row
    centres_mm: tuple[FloatArray, ...]
    radii_mm: tuple[float | None, ...]
    radius_mm: float


def find_rod_rows(image: CentralImage, max_rods: int, min_rods: int, tries: int = 3) -> Iterator[RodRow]:
    """Rows of rods in a CT's central image, best first: up to ``tries``, each from the blobs left over.

    The best row is the phantom's in nearly every CT; when a row of anatomical blobs (vessels, bowel)
    holds more members, it comes first and the phantom's row comes after it, once those blobs are set
    aside. The caller keeps the first row that fits a phantom.
    """
    candidates = _steady_blobs(image)
    for _ in range(tries):
        if len(candidates) < max(min_rods, 2):
            return
        found = _best_rod_row(image, candidates, max_rods, min_rods)
        if found is None:
            return
        yield found[0]
        candidates = [blob for k, blob in enumerate(candidates) if k not in found[1]]


def _best_rod_row(
    image: CentralImage, candidates: list[Blob], max_rods: int, min_rods: int
) -> tuple[RodRow, set[int]] | None:
    """The row of rods holding the most candidates, and the candidates it holds; None without one."""
    points = np.array([image.to_mm(b.i, b.j) for b in candidates])
    surround = np.array([surround_hu(image, p, b.radius_mm) for p, b in zip(points, candidates, strict=True)])

    def radii_mm(row: Row) -> list[float | None]:
        return [rod_radius_mm(image, points[m], candidates[m].radius_mm, row.step_mm) for m in row.members]

    def one_phantom(row: Row) -> bool:
        levels = surround[list(row.members)]
        same_block = np.ptp(levels) <= SURROUND_SPREAD_HU and _row_in_matter(image, row)
        return bool(same_block and _equal_radii(radii_mm(row), image.pixel_mm))

    first_guess = [b.radius_mm for b in candidates]
    row = best_row(points, first_guess, max_rods, min_rods, image.pixel_mm, one_phantom)
    if row is None:
        return None
    found = radii_mm(row)
    estimates = [r for r in found if r is not None]
    radius = float(np.median(estimates if estimates else [first_guess[m] for m in row.members]))
    centres = [rod_centre_mm(image, points[m], radius) for m in row.members]
    found = [rod_radius_mm(image, centre, radius, row.step_mm) for centre in centres]  # about the centres
    estimates = [r for r in found if r is not None]
    radius = float(np.median(estimates)) if estimates else radius
    rod_row = RodRow(refit(row, np.array(centres)), tuple(centres), tuple(found), radius)
    return rod_row, set(row.members)


def _equal_radii(radii_mm: list[float | None], pixel_mm: float) -> bool:
    """Whether the radii told agree (a phantom's rods are alike): within 20 % or 1.5 pixels of the median."""
    told = np.array([r for r in radii_mm if r is not None])
    if told.size < 2:
        return True
    median = float(np.median(told))
    return bool(np.all(np.abs(told - median) <= max(RADIUS_TOLERANCE * median, 1.5 * pixel_mm)))


def _steady_blobs(image: CentralImage) -> list[Blob]:
    """Blobs of rod size with matter at their centre that do not change along z, strongest first."""
    radii = np.geomspace(max(RADII_MM[0], 1.5 * image.pixel_mm), RADII_MM[1], 12)
    clipped = np.maximum(image.mean, CLIP_HU)
    blobs = find_blobs(clipped, image.spacing_mm, radii, MIN_CONTRAST_HU, image.noise)
    kept = [
        blob
        for blob in blobs
        if _in_matter(image, blob)
        and steady_along_z(image, image.to_mm(blob.i, blob.j), 0.5 * blob.radius_mm)
    ]
    return kept[:MAX_CANDIDATES]


def _in_matter(image: CentralImage, blob: Blob) -> bool:
    """Whether a blob's centre holds matter (rods are never in air)."""
    i = min(max(round(blob.i), 0), image.mean.shape[0] - 1)
    j = min(max(round(blob.j), 0), image.mean.shape[1] - 1)
    return bool(image.mean[i, j] > MATTER_HU)


def _row_in_matter(image: CentralImage, row: Row) -> bool:
    """Whether the line from the first rod found to the last runs through matter (one block) all along."""
    count = max(int(row.spacing_mm * row.span / (0.5 * image.pixel_mm)), 2)
    xy = row.slot_mm(np.linspace(0.0, row.span - 1, count))
    samples = ndimage.map_coordinates(image.mean, image.to_pixel(xy).T, order=1, mode="nearest")
    return bool(np.mean(samples > MATTER_HU) >= 0.98)


def measure_rod(
    image: CentralImage, xy_mm: FloatArray, radius_mm: float, core_of_mm: float, detected: bool
) -> RodMeasurement:
    """Mean and SD of the HU of a rod's core over the central slices.

    The core is that of a rod of radius min(radius_mm, core_of_mm): a rod's own radius, when its estimate
    is uncertain, cannot widen the core beyond the row's.
    """
    core = core_radius_mm(min(radius_mm, core_of_mm), image.pixel_mm)
    values = image.voxels(image.disc(xy_mm, core))
    return RodMeasurement(
        float(xy_mm[0]),
        float(xy_mm[1]),
        float(radius_mm),
        float(values.mean()),
        float(values.std(ddof=1)) if values.size > 1 else 0.0,
        int(values.size),
        detected,
    )


def _inside_image(image: CentralImage, xy_mm: FloatArray, radius_mm: float) -> bool:
    """Whether a rod's whole disc lies inside the image."""
    i, j = image.to_pixel(xy_mm)
    ri, rj = radius_mm / image.spacing_mm[0], radius_mm / image.spacing_mm[1]
    return bool(ri <= i <= image.mean.shape[0] - 1 - ri and rj <= j <= image.mean.shape[1] - 1 - rj)


def arrangements(image: CentralImage, found: RodRow, rod_count: int) -> list[list[RodMeasurement]]:
    """Every way a phantom of ``rod_count`` rods can lie on the row found, each rod measured.

    The rods found span ``found.row.span`` slots; the phantom's other rods are at either end, in every
    split that keeps them inside the image; each placement is listed in both directions of the row.
    """
    row = found.row
    detected = dict(zip(row.slots, range(len(found.centres_mm)), strict=True))
    measured: dict[int, RodMeasurement] = {}
    out: list[list[RodMeasurement]] = []
    for shift in range(rod_count - row.span + 1):
        slots = range(-shift, rod_count - shift)
        if not all(s in detected or _inside_image(image, row.slot_mm(s), found.radius_mm) for s in slots):
            continue
        for slot in slots:
            if slot not in measured:
                measured[slot] = _measure_slot(image, found, slot, detected)
        rods = [measured[slot] for slot in slots]
        out += [rods, rods[::-1]]
    return out


def _measure_slot(image: CentralImage, found: RodRow, slot: int, detected: dict[int, int]) -> RodMeasurement:
    if slot not in detected:
        return measure_rod(image, found.row.slot_mm(slot), found.radius_mm, found.radius_mm, False)
    index = detected[slot]
    radius = found.radii_mm[index] or found.radius_mm
    return measure_rod(image, found.centres_mm[index], radius, found.radius_mm, True)
