"""From class probabilities on the CT's grid to a ``hipbmd`` label map with sides.

The most probable class wins. Femur voxels form connected pieces of at least :data:`MIN_FEMUR_ML`.
With a pelvis, its centre marks the midline: a femur lies to one side of it (RAS+: the patient's right
is +x), so each side's femur is its largest piece whose centre lies further from the midline than
:data:`MIN_FEMUR_OFFSET` of the pelvis's half-width, and pieces on the midline (a lumbar vertebra or the
sacrum taken for bone of the femur) are dropped. Without a pelvis, the two largest pieces are the femurs
and world x decides which is which (one piece is compared with the scan's centre). Pelvis voxels are
written as ``pelvis``; voxels above :data:`METAL_HU` that the model left as background are written as
``implant``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from hipbmd.io.label_tables import load_label_table
from hipbmd.segmentation.classes import METAL_HU
from hipbmd.types import Volume

MIN_FEMUR_ML = 2.0
# The proximal femur's centre lies some 0.7 of the pelvis's half-width from the midline (head centres
# 80-100 mm out, the pelvis 120-140 mm wide each side); the lumbar spine and sacrum within 0.25 of it.
MIN_FEMUR_OFFSET = 0.35
PELVIS_WIDTH_PERCENTILES = (5.0, 95.0)  # the pelvis's x extent, robust to stray voxels


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
    centres = ndimage.center_of_mass(femur, pieces, order) if order else []
    centres_x = {piece: _world_x(centre, hu.affine) for piece, centre in zip(order, centres, strict=True)}
    if pelvis.any():
        chosen = _beside_midline(centres_x, _pelvis_x_range(pelvis, hu.affine), out)
    else:
        chosen = _by_size(order[:2], centres_x, hu, out)
    dropped = count - len(chosen)
    if dropped:
        out.flags.append(f"{dropped} small or extra femur piece(s) dropped")
    for side, piece in chosen.items():
        mask = pieces == piece
        out.labels[mask] = table[f"femur_{side}"]
        out.sides[side] = int(mask.sum())


def _beside_midline(
    centres_x: dict[int, float], pelvis_x: tuple[float, float], out: LabelledFemurs
) -> dict[str, int]:
    """Each side's largest piece (``centres_x`` is ordered by size) clear of the midline of a pelvis
    spanning ``pelvis_x`` (world x, mm)."""
    middle, half_width = (pelvis_x[0] + pelvis_x[1]) / 2.0, max((pelvis_x[1] - pelvis_x[0]) / 2.0, 1e-6)
    chosen: dict[str, int] = {}
    on_midline = 0
    for piece, x in centres_x.items():
        if abs(x - middle) < MIN_FEMUR_OFFSET * half_width:
            on_midline += 1
            continue
        chosen.setdefault("right" if x > middle else "left", piece)
    if on_midline:
        out.flags.append(f"{on_midline} femur piece(s) on the pelvis's midline dropped (spine or sacrum?)")
    return chosen


def _pelvis_x_range(pelvis: npt.NDArray[np.bool_], affine: npt.NDArray[np.float64]) -> tuple[float, float]:
    """World x (mm) of the pelvis's left and right ends (percentiles :data:`PELVIS_WIDTH_PERCENTILES`)."""
    index = np.argwhere(pelvis)
    x = index @ affine[0, :3] + affine[0, 3]
    low, high = np.percentile(x, PELVIS_WIDTH_PERCENTILES)
    return float(low), float(high)


def _by_size(kept: list[int], centres_x: dict[int, float], hu: Volume, out: LabelledFemurs) -> dict[str, int]:
    """Without a pelvis: the two largest pieces, sided by x (one piece: by the scan's centre)."""
    if len(kept) == 2:
        right, left = sorted(kept, key=lambda piece: centres_x[piece], reverse=True)
        return {"right": right, "left": left}
    if not kept:
        return {}
    middle = centre_x_mm(np.ones(hu.array.shape, dtype=bool), hu.affine)
    out.flags.append("side of the only femur decided from the scan's centre (no pelvis found)")
    return {"right" if centres_x[kept[0]] > middle else "left": kept[0]}


def centre_x_mm(mask: npt.NDArray[np.bool_], affine: npt.NDArray[np.float64]) -> float:
    """World x (mm, RAS+) of a mask's centroid."""
    return _world_x(ndimage.center_of_mass(mask), affine)


def _world_x(index: tuple[float, ...], affine: npt.NDArray[np.float64]) -> float:
    """World x (mm) of a (fractional) voxel index."""
    return float(affine[0, :3] @ np.asarray(index, np.float64) + affine[0, 3])
