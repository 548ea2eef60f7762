"""Whether a hip's measured regions lie on the radiograph, or run off its edge.

The decomposition model reads a crop around the head; where the crop reaches beyond the radiograph the
crop repeats the edge's grey levels, and the femur the model draws there is invented. A region with
some of its bone beyond the radiograph's edge (the total hip of a femur whose image ends at, or just
below, the lesser trochanter, or whose greater trochanter is cut by a lateral edge) averages that
invention with the real bone. A flat fill reaching in from the edge (a shutter painted black or white, a
mask, :mod:`hipbmd.io.exposed_field`) shows no more of the femur than the space beyond the edge, and
counts as beyond it:

- more than ``PARTLY_OFF_LIMIT`` beyond the edge: the number is given, flagged
  ``region_partly_off_image`` (which withholds the category, :mod:`hipbmd.bmd.qc`), and its interval
  widened for the invented share (:func:`invented_share_half_width_g_cm2`);
- more than ``OFF_IMAGE_LIMIT`` (most of the region's bone): the image does not hold the region, and the
  hip is not measured (``region_off_image``).

The number over the whole region, invention included, is kept rather than the mean of the part on the
image: a region cut by an edge loses one end of it (the denser bone below the trochanters, or the
trochanter's rim), so the visible part alone is biased, and on simulated radiographs held out of training
(``heldout_varied``, ``heldout_varied2``, ``select_varied``) it erred more than the whole region did: total
hip with 2–25 % beyond the edge, mean absolute error 0.125 against 0.103 g/cm² (37 hips); with 25–80 %,
0.22 against 0.14 (12 hips).

The invented share (any share above zero) carries nothing of this patient's bone: its density is as
uncertain as the population's. The interval's half-width is therefore combined (in quadrature) with
``Z_95 × share × SD``, the SD being the region's young-adult reference SD (NHANES III, about 0.12 g/cm²):
half a region beyond the edge adds about ±0.12 g/cm².
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from hipbmd.bmd.interval_calibration import Z_95
from hipbmd.bmd.reference import NHANES_III, t_reference
from hipbmd.femur.measure_2d import FemurBMD
from hipbmd.frames import Affine2D
from hipbmd.io.exposed_field import ExposedField

PARTLY_OFF_LIMIT = 0.02
OFF_IMAGE_LIMIT = 0.5
FALLBACK_POPULATION_SD_G_CM2 = 0.12  # a region without a young-adult reference SD


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


def invented_share_half_width_g_cm2(share: float, roi: str) -> float:
    """The 95 % half-width (g/cm²) a region's mean gains from ``share`` (0–1) of its bone being invented
    beyond the image's edge (see the module docstring)."""
    reference = t_reference(roi, NHANES_III)
    sd = reference.sd_g_cm2 if reference is not None else FALLBACK_POPULATION_SD_G_CM2
    return Z_95 * min(max(share, 0.0), 1.0) * sd


def _worst(shares: dict[str, float], limit: float, code: str) -> str | None:
    over = {name: share for name, share in shares.items() if share > limit}
    if not over:
        return None
    name = max(over, key=lambda n: over[n])
    return (
        f"{code}: {100 * over[name]:.0f} % of the {name} region lies beyond the image's edge or on a flat "
        "fill reaching in from it"
    )
