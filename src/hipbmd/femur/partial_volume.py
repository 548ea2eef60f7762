"""The femur of a calibrated CT with the mineral its edge blur carried outside the label, soft tissue removed.

A CT's point-spread function (in-plane blur, slice profile) spreads the dense cortex across the edge a
segmentation draws: part of the femur's mineral reads in the first millimetres outside its label, and the
voxels there read as much soft tissue as bone. Cut at the label, the femur reads low (some 8 % for 1 mm
voxels); grown by a margin, it reads the tissue in the margin as bone and, measured over the grown
footprint, spreads its mineral over too large an area.

Blur moves mineral but does not create or destroy it, so the mineral is recovered by integrating the
density over the label grown by a margin after removing, in the margin, the density of the tissue around
the bone there. That tissue's density is read locally: a Gaussian-weighted mean over a shell a few
millimetres further out (:data:`SURROUNDING_SHELL_MM`, unlabelled voxels at least as far from any other
structure), taken at the shell voxel nearest each margin voxel, so a fat layer on one side and muscle on
the other are each removed where they lie.

Where another labelled bone lies within reach of the blur (the acetabulum against the femoral head),
each voxel's mineral is shared between the two in proportion to what each, blurred by a nominal
point-spread function (:func:`psf_sigma_mm`), puts there: the femur takes back what it blurred into the
other's label and gives back what the other blurred into its own. Where neither reaches, an unlabelled
voxel goes to the nearer structure.

The bone's area stays that of the label itself (:func:`femur_outline`), so an areal BMD is the recovered
mineral over the label's projected area (:mod:`hipbmd.femur.ct_abmd`); the margin only has to reach past
the blur.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from hipbmd.types import Volume

SURROUNDING_SHELL_MM = (4.0, 8.0)  # beyond the blur of the cortex, near enough to be the same tissue
SURROUNDING_SMOOTHING_MM = 4.0  # σ of the local mean of the surroundings (averages the CT's noise)
MIN_SURROUNDING_VOXELS = 20
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))
MIN_PSF_SIGMA_MM = 0.5  # the simulated scanners blur by 0.4–0.6 mm in plane (sim/scanners.py)
REACHED_MG_CM3 = 1.0  # a bone's blurred density below this no longer claims a voxel


def surrounding_density_mg_cm3(
    density: Volume, labels: Volume, label_value: int, shell_mm: tuple[float, float] = SURROUNDING_SHELL_MM
) -> float:
    """Median density (mg/cm³) of the unlabelled voxels between ``shell_mm`` from the label's edge.

    Raises:
        ValueError: the label is empty or too few unlabelled voxels surround it.
    """
    inside = _label(labels, label_value)
    box = bounding_box(inside, voxels_within(labels, shell_mm[1]))
    shell = _shell(distance_mm(inside[box], labels), labels.array[box] == 0, shell_mm)
    return float(np.median(density.array[box][shell]))


def femur_with_margin(density: Volume, labels: Volume, label_value: int, margin_mm: float) -> Volume:
    """The femur's density alone, its label grown by ``margin_mm`` with the local surroundings removed there.

    Within ``margin_mm`` of the label, every voxel gives the femur its share (module docstring) of its
    mineral: label voxels their density, unlabelled voxels their density minus the local density of the
    surrounding tissue, so tissue counts as nothing and mineral blurred out of the bone as mineral;
    every other voxel is zero. Cropped to those voxels, in the same world placement as
    ``density`` (mg/cm³).

    Raises:
        ValueError: uncalibrated density, labels on another grid, an empty label, or too little
            unlabelled tissue around it.
    """
    if density.unit != "mg/cm3":
        raise ValueError(f"the femur's margin needs a calibrated density volume (mg/cm3), got {density.unit}")
    if labels.shape != density.shape or not np.allclose(labels.affine, density.affine, atol=1e-3):
        raise ValueError("the labels are not on the density's grid (shape or affine differ)")
    inside = _label(labels, label_value)
    shell_mm = surroundings_shell_mm(margin_mm)
    box = bounding_box(inside, voxels_within(labels, shell_mm[1]))
    values = density.array[box].astype(np.float32)
    femur = np.where(inside[box], values, np.float32(0.0))
    if margin_mm > 0:
        distance, unlabelled = distance_mm(inside[box], labels), labels.array[box] == 0
        others = ~unlabelled & ~inside[box]
        others_mm = _distance_to_others(others, labels)
        # the surroundings: tissue as far from other structures as from this one, out of their blur too
        shell = _shell(distance, unlabelled & (others_mm > shell_mm[0]), shell_mm)
        excess = np.where(unlabelled, values - _local_mean(values, shell, labels), values)
        share = _femur_share(values, inside[box], others, distance < others_mm, labels)
        femur = np.where(distance <= margin_mm, share * excess, np.float32(0.0))
    affine = density.affine.copy()
    affine[:3, 3] += density.affine[:3, :3] @ np.array([part.start for part in box], np.float64)
    meta = dict(density.meta, femur_margin_mm=margin_mm)
    return cropped_to_content(Volume(femur.astype(np.float32), affine, "mg/cm3", meta))


def surroundings_shell_mm(margin_mm: float) -> tuple[float, float]:
    """Distances (mm) from the label between which its surroundings are read: :data:`SURROUNDING_SHELL_MM`,
    moved out to start 1 mm beyond a wider margin."""
    inner, outer = SURROUNDING_SHELL_MM
    start = max(inner, margin_mm + 1.0)
    return start, start + outer - inner


def _label(labels: Volume, label_value: int) -> npt.NDArray[np.bool_]:
    inside = np.asarray(labels.array == label_value)
    if not inside.any():
        raise ValueError(f"label {label_value} is empty")
    return inside


def psf_sigma_mm(labels: Volume) -> npt.NDArray[np.float64]:
    """A nominal CT point-spread function on this grid: σ (mm) per array axis with a FWHM of one voxel
    (a slice profile as wide as the slice), at least :data:`MIN_PSF_SIGMA_MM`."""
    spacing = np.asarray(labels.spacing_mm)
    return np.asarray(np.maximum(spacing / FWHM_PER_SIGMA, MIN_PSF_SIGMA_MM), np.float64)


def _femur_share(
    values: npt.NDArray[np.float32],
    inside: npt.NDArray[np.bool_],
    others: npt.NDArray[np.bool_],
    nearer: npt.NDArray[np.bool_],
    labels: Volume,
) -> npt.NDArray[np.float32]:
    """Per voxel, the femur's share of the mineral read there where another bone's blur reaches too.

    Each bone's density inside its label, blurred by :func:`psf_sigma_mm`, is what it puts in each voxel;
    the femur's share is its part of the two. Where neither reaches, the nearer structure takes it all.
    """
    sigma = psf_sigma_mm(labels) / np.asarray(labels.spacing_mm)
    positive = np.maximum(values, np.float32(0.0))
    own = ndimage.gaussian_filter(np.where(inside, positive, np.float32(0.0)), sigma, mode="nearest")
    other = ndimage.gaussian_filter(np.where(others, positive, np.float32(0.0)), sigma, mode="nearest")
    total = own + other
    reached = total > REACHED_MG_CM3
    return np.where(reached, own / np.maximum(total, REACHED_MG_CM3), nearer).astype(np.float32)


def _distance_to_others(others: npt.NDArray[np.bool_], labels: Volume) -> npt.NDArray[np.float64]:
    """Distance (mm) of each voxel from the nearest voxel of ``others`` (inf when there is none)."""
    if not others.any():
        return np.full(others.shape, np.inf)
    return distance_mm(others, labels)


def _shell(
    distance_mm: npt.NDArray[np.float64], unlabelled: npt.NDArray[np.bool_], shell_mm: tuple[float, float]
) -> npt.NDArray[np.bool_]:
    """Unlabelled voxels between ``shell_mm`` from the label; ValueError when too few."""
    shell = (distance_mm > shell_mm[0]) & (distance_mm <= shell_mm[1]) & unlabelled
    if np.count_nonzero(shell) < MIN_SURROUNDING_VOXELS:
        raise ValueError("too little unlabelled tissue around the femur's label to read its surroundings")
    return np.asarray(shell)


def _local_mean(
    values: npt.NDArray[np.float32], shell: npt.NDArray[np.bool_], labels: Volume
) -> npt.NDArray[np.float32]:
    """Per voxel: the Gaussian-weighted mean density of the shell, read at the nearest shell voxel."""
    spacing = np.asarray(labels.spacing_mm)
    sigma = SURROUNDING_SMOOTHING_MM / spacing
    weight = ndimage.gaussian_filter(shell.astype(np.float32), sigma, mode="constant")
    summed = ndimage.gaussian_filter(np.where(shell, values, 0.0).astype(np.float32), sigma, mode="constant")
    mean = np.where(shell, summed / np.maximum(weight, 1e-6), 0.0)
    nearest = ndimage.distance_transform_edt(
        ~shell, sampling=spacing, return_distances=False, return_indices=True
    )
    return np.asarray(mean[tuple(nearest)], np.float32)


def femur_outline(labels: Volume, label_value: int) -> Volume:
    """The label as a unit attenuation (1 per mm inside, 0 outside): its projection is the chord (mm)
    each ray runs through the labelled bone, whose footprint is the bone's area."""
    inside = (labels.array == label_value).astype(np.float32)
    return cropped_to_content(Volume(inside, labels.affine, "1/mm", {"outline_of_label": int(label_value)}))


def cropped_to_content(volume: Volume) -> Volume:
    """The volume cropped to the bounding box of its non-zero voxels (same world placement).

    Raises:
        ValueError: every voxel is zero.
    """
    nonzero = np.argwhere(volume.array != 0)
    if not len(nonzero):
        raise ValueError("the volume is empty (no non-zero voxel)")
    low, high = nonzero.min(axis=0), nonzero.max(axis=0) + 1
    affine = volume.affine.copy()
    affine[:3, 3] = volume.affine[:3, :3] @ low + volume.affine[:3, 3]
    box = volume.array[low[0] : high[0], low[1] : high[1], low[2] : high[2]]
    return Volume(np.ascontiguousarray(box, np.float32), affine, volume.unit, volume.meta)


def distance_mm(inside: npt.NDArray[np.bool_], labels: Volume) -> npt.NDArray[np.float64]:
    """Distance (mm, on the grid of ``labels``) of each voxel from the nearest True voxel of ``inside``."""
    spacing = np.asarray(labels.spacing_mm)
    return np.asarray(ndimage.distance_transform_edt(~inside, sampling=spacing), np.float64)


def voxels_within(labels: Volume, distance_mm: float) -> int:
    """Voxels (along the finest axis, plus one) that cover ``distance_mm``: a box margin that holds it."""
    return int(np.ceil(distance_mm / min(labels.spacing_mm))) + 1


def bounding_box(mask: npt.NDArray[np.bool_], margin: int) -> tuple[slice, ...]:
    """Slices of the bounding box of a non-empty mask, ``margin`` voxels wider, clipped to the array."""
    indices = np.argwhere(mask)
    low = np.maximum(indices.min(axis=0) - margin, 0)
    high = np.minimum(indices.max(axis=0) + margin + 1, mask.shape)
    return tuple(slice(int(a), int(b)) for a, b in zip(low, high, strict=True))
