"""Reorient volumes to RAS+ index order and bring label maps onto a CT's voxel grid."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from nibabel import orientations
from scipy import ndimage

from hipbmd.errors import InputError, InputWarning
from hipbmd.types import Volume, axis_codes


def to_canonical(volume: Volume) -> Volume:
    """The same volume with its array axes flipped/permuted to RAS order (no interpolation).

    The world position of every voxel is unchanged; only the indexing changes, so that index i
    grows towards the patient's right, j anterior, k superior. The original codes go to
    ``meta["source_orientation"]``.
    """
    current = orientations.io_orientation(volume.affine)
    target = orientations.axcodes2ornt(("R", "A", "S"))
    transform = orientations.ornt_transform(current, target)
    array = orientations.apply_orientation(volume.array, transform)
    affine = volume.affine @ orientations.inv_ornt_aff(transform, volume.array.shape)
    meta = dict(volume.meta)
    meta.setdefault("source_orientation", axis_codes(volume.affine))
    return Volume(np.ascontiguousarray(array), affine, volume.unit, meta)


def same_grid(first: Volume, second: Volume, tolerance_fraction: float = 0.01) -> bool:
    """True when both volumes have the same shape and voxel→world affine (to 1 % of a voxel)."""
    if first.shape != second.shape:
        return False
    tolerance_mm = tolerance_fraction * min(first.spacing_mm)
    return bool(np.allclose(first.affine, second.affine, atol=tolerance_mm))


def labels_on_grid(labels: Volume, reference: Volume, source: str | Path = "labels") -> Volume:
    """Express a label map on the reference volume's voxel grid.

    Same physical grid in another orientation: exact reindexing. Different grid: nearest-neighbour
    resampling with a warning. Labels that do not overlap the reference at all are an error.
    """
    canonical_labels = to_canonical(labels)
    canonical_reference = to_canonical(reference)
    if same_grid(canonical_labels, canonical_reference):
        aligned = canonical_labels.array
    else:
        warnings.warn(
            f"{source}: label grid differs from the CT grid; resampled (nearest neighbour)",
            InputWarning,
            stacklevel=2,
        )
        aligned = _resample_nearest(canonical_labels, canonical_reference)
    if not np.any(aligned):
        raise InputError(source, "labels do not overlap the CT volume")
    meta = dict(labels.meta, aligned_to=canonical_reference.meta.get("source", "reference"))
    return Volume(aligned, canonical_reference.affine.copy(), "label", meta)


def _resample_nearest(labels: Volume, reference: Volume) -> np.ndarray:
    """Sample labels at the reference's voxel centres (nearest neighbour, outside = 0)."""
    voxel_to_voxel = np.linalg.inv(labels.affine) @ reference.affine
    resampled = ndimage.affine_transform(
        labels.array,
        voxel_to_voxel[:3, :3],
        offset=voxel_to_voxel[:3, 3],
        output_shape=reference.shape,
        order=0,
        mode="constant",
        cval=0,
    )
    return np.asarray(resampled)
