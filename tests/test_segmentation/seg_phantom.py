"""A tiny hip-like CT for segmentation tests: two bright femur cylinders and a pelvis slab in water."""

from __future__ import annotations

import numpy as np

from hipbmd.types import Volume

SPACING_MM = 2.0
SHAPE = (40, 24, 32)


def phantom_affine(shape: tuple[int, int, int] = SHAPE, spacing_mm: float = SPACING_MM) -> np.ndarray:
    """RAS+ affine centred on the volume."""
    affine = np.diag([spacing_mm, spacing_mm, spacing_mm, 1.0])
    affine[:3, 3] = -0.5 * spacing_mm * (np.array(shape) - 1)
    return affine


def phantom_labels(shape: tuple[int, int, int] = SHAPE) -> np.ndarray:
    """hipbmd labels: femur_right (1) at +x, femur_left (2) at −x, pelvis (7) above them (the 40×24×32
    layout, centred in a larger ``shape``)."""
    offset = (np.array(shape) - np.array(SHAPE)) // 2
    i, j, k = (axis - o for axis, o in zip(np.indices(shape), offset, strict=True))
    labels = np.zeros(shape, dtype=np.uint8)
    for value, centre in ((1, 30), (2, 9)):
        labels[((i - centre) ** 2 + (j - 12) ** 2 <= 16) & (k >= 0) & (k < 20)] = value
    labels[(k >= 24) & (k < 29) & (j >= 6) & (j < 18) & (i >= 4) & (i < 36)] = 7
    return labels


def phantom_ct(seed: int = 0, shape: tuple[int, int, int] = SHAPE) -> Volume:
    """HU: body water (0 HU) inside air, bone 700 HU where labelled, seeded noise of 10 HU."""
    rng = np.random.default_rng(seed)
    hu = np.full(shape, -1000.0, dtype=np.float32)
    hu[2:-2, 2:-2, :] = 0.0
    hu[phantom_labels(shape) > 0] = 700.0
    hu += rng.normal(0.0, 10.0, shape).astype(np.float32)
    return Volume(hu, phantom_affine(shape), "HU", {"source": "phantom"})


def phantom_label_volume(shape: tuple[int, int, int] = SHAPE) -> Volume:
    """The phantom's labels as a Volume."""
    return Volume(phantom_labels(shape), phantom_affine(shape), "label")
