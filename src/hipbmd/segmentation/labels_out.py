"""From class probabilities on the CT's grid to a ``hipbmd`` label map with sides.

The most probable class wins. Femur voxels form connected pieces; the two largest pieces above
:data:`MIN_FEMUR_ML` are the femurs, and world x decides which is which (RAS+: the patient's right
is +x). With one piece, it is compared with the pelvis's centre (or the scan's centre when there
is no pelvis). Pelvis voxels are written as ``pelvis``; voxels above :data:`METAL_HU` that the model
left as background are written as ``implant``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from hipbmd.femur.ct_bmd import METAL_HU
from hipbmd.labelmaps import load_label_table
from hipbmd.types import Volume

MIN_FEMUR_ML = 2.0


@dataclass
class LabelledFemurs:
    """The label array and what was decided on the way.

    Attributes:
        labels: hipbmd label values on the native grid.
        sides: side → number of femur voxels.
        flags: what looked wrong (dropped pieces, a side decided without a pelvis, …).
    """

    labels: npt.NDArray[np.uint8]
    sides: dict[str, int] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)


def label_map(classes: npt.NDArray[np.integer], hu: Volume, class_names: tuple[str, ...]) -> LabelledFemurs:
    """hipbmd labels from per-voxel class indices (native grid) and the CT in HU."""
    table = load_label_table("hipbmd")
    out = LabelledFemurs(np.zeros(classes.shape, dtype=np.uint8))
    pelvis = (
        classes == class_names.index("pelvis") if "pelvis" in class_names else np.zeros_like(classes, bool)
    )
    out.labels[pelvis] = table["pelvis"]
    metal = (classes == 0) & (hu.array > METAL_HU)
    out.labels[metal] = table["implant"]
    femur = classes == class_names.index("femur")
    _label_femurs(femur, pelvis, hu, table, out)
    return out


def _label_femurs(
    femur: npt.NDArray[np.bool_],
    pelvis: npt.NDArray[np.bool_],
    hu: Volume,
    table: dict[str, int],
    out: LabelledFemurs,
) -> None:
    pieces, count = ndimage.label(femur)
    if count == 0:
        out.flags.append("no femur found")
        return
    sizes = ndimage.sum_labels(femur, pieces, index=np.arange(1, count + 1))
    voxel_ml = abs(float(np.linalg.det(hu.affine[:3, :3]))) / 1000.0
    order = [int(i) + 1 for i in np.argsort(sizes)[::-1] if sizes[i] * voxel_ml >= MIN_FEMUR_ML]
    dropped = count - len(order[:2])
    if dropped:
        out.flags.append(f"{dropped} small or extra femur piece(s) dropped")
    kept = order[:2]
    centres_x = [_centre_x(pieces == piece, hu.affine) for piece in kept]
    for piece, side in zip(kept, _sides(centres_x, pelvis, hu, out), strict=True):
        mask = pieces == piece
        out.labels[mask] = table[f"femur_{side}"]
        out.sides[side] = int(mask.sum())


def _sides(
    centres_x: list[float], pelvis: npt.NDArray[np.bool_], hu: Volume, out: LabelledFemurs
) -> list[str]:
    if len(centres_x) == 2:
        return ["right", "left"] if centres_x[0] > centres_x[1] else ["left", "right"]
    if not centres_x:
        return []
    if pelvis.any():
        middle = _centre_x(pelvis, hu.affine)
    else:
        middle = _centre_x(np.ones(hu.array.shape, dtype=bool), hu.affine)
        out.flags.append("side of the only femur decided from the scan's centre (no pelvis found)")
    return ["right" if centres_x[0] > middle else "left"]


def _centre_x(mask: npt.NDArray[np.bool_], affine: npt.NDArray[np.float64]) -> float:
    """World x (mm, RAS+) of a mask's centroid."""
    centre = np.array([*ndimage.center_of_mass(mask), 1.0])
    return float((affine @ centre)[0])
