"""Whether a hip's measured regions lie on the radiograph, or run off its edge.

The decomposition model reads a crop around the head; where the crop reaches beyond the radiograph the
crop repeats the edge's grey levels, and the femur the model draws there is invented. A region with
some of its bone beyond the radiograph's edge (the total hip of a femur whose image ends at, or just
below, the lesser trochanter, or whose greater trochanter is cut by a lateral edge) averages that
invention with the real bone. A flat fill reaching in from the edge (a shutter painted black or white, a
mask, :mod:`hipbmd.io.exposed_field`) shows no more of the femur than the space beyond the edge, and
counts as beyond it:

- more than ``PARTLY_OFF_LIMIT`` beyond the edge: the number is given, flagged
  ``region_partly_off_image`` (which withholds the category, :mod:`hipbmd.bmd.qc`);
- more than ``OFF_IMAGE_LIMIT``: the image does not hold the region, and the hip is not measured
  (``region_off_image``).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from hipbmd.femur.measure_2d import FemurBMD
from hipbmd.frames import Affine2D
from hipbmd.io.exposed_field import ExposedField

PARTLY_OFF_LIMIT = 0.02
OFF_IMAGE_LIMIT = 0.25


def off_image_shares(
    femur: FemurBMD, on_image: npt.NDArray[np.bool_], regions: Iterable[str]
) -> dict[str, float]:
    """Share (0–1) of each region's bone pixels (crop grid of ``femur``) where ``on_image`` (the crop's
    :func:`on_image_mask`) is False; empty when the regions failed."""
    if femur.rois is None:
        return {}
    shares = {}
    for name in regions:
        region_bone = femur.rois.masks[name] & femur.bone
        if region_bone.any():
            shares[name] = float(np.mean(~on_image[region_bone]))
    return shares


def on_image_mask(
    crop_to_image: Affine2D, crop_shape: tuple[int, int], image: tuple[int, int] | ExposedField
) -> npt.NDArray[np.bool_]:
    """(crop rows, crop cols) True where ``crop_to_image`` puts the crop pixel's centre on the image: an
    image of shape (rows, cols), or the exposed field of one, within half a pixel of its outer pixels'
    centres."""
    field = image if isinstance(image, ExposedField) else ExposedField(image)
    rows, cols = np.indices(crop_shape)
    points = crop_to_image.apply(np.stack([rows.ravel(), cols.ravel()], axis=1).astype(np.float64))
    return np.asarray(field.contains(points).reshape(crop_shape), dtype=bool)


def region_off_image(shares: dict[str, float]) -> str | None:
    """``region_off_image: …`` (a not-measured reason) when a region's share beyond the edge
    (:func:`off_image_shares`) exceeds ``OFF_IMAGE_LIMIT``; None otherwise."""
    return _worst(shares, OFF_IMAGE_LIMIT, "region_off_image")


def region_partly_off_image(shares: dict[str, float]) -> str | None:
    """``region_partly_off_image: …`` (a flag) when a region's share beyond the edge exceeds
    ``PARTLY_OFF_LIMIT``; None otherwise."""
    return _worst(shares, PARTLY_OFF_LIMIT, "region_partly_off_image")


def _worst(shares: dict[str, float], limit: float, code: str) -> str | None:
    over = {name: share for name, share in shares.items() if share > limit}
    if not over:
        return None
    name = max(over, key=lambda n: over[n])
    return (
        f"{code}: {100 * over[name]:.0f} % of the {name} region lies beyond the image's edge or on a flat "
        "fill reaching in from it"
    )
