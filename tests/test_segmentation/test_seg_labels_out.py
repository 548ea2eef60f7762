from __future__ import annotations

import numpy as np
from seg_phantom import phantom_ct, phantom_labels

from hipbmd.segmentation.bayesian_unet import CLASS_NAMES
from hipbmd.segmentation.classes import class_map
from hipbmd.segmentation.labels_out import label_map
from hipbmd.types import Volume


def test_sides_follow_world_x_the_patients_right_is_plus_x() -> None:
    classes = class_map(phantom_labels(), CLASS_NAMES)
    out = label_map(classes, phantom_ct(), CLASS_NAMES)
    assert np.array_equal(out.labels, phantom_labels())
    assert set(out.sides) == {"right", "left"} and not out.flags


def test_a_flipped_x_axis_swaps_the_sides() -> None:
    ct = phantom_ct()
    flipped = Volume(ct.array, np.diag([-2.0, 2.0, 2.0, 1.0]), "HU")
    out = label_map(class_map(phantom_labels(), CLASS_NAMES), flipped, CLASS_NAMES)
    assert np.array_equal(out.labels == 1, phantom_labels() == 2)


def test_one_femur_takes_its_side_from_the_pelvis() -> None:
    labels = phantom_labels()
    labels[labels == 1] = 0
    out = label_map(class_map(labels, CLASS_NAMES), phantom_ct(), CLASS_NAMES)
    assert out.sides.keys() == {"left"}
    assert np.array_equal(out.labels == 2, labels == 2)


def test_metal_is_an_implant_and_crumbs_are_dropped() -> None:
    ct = phantom_ct()
    labels = phantom_labels()
    ct.array[20, 20, 5] = 3000.0
    labels[20, 3, 3] = 1  # a one-voxel femur crumb
    out = label_map(class_map(labels, CLASS_NAMES), ct, CLASS_NAMES)
    assert out.labels[20, 20, 5] == 6 and out.labels[20, 3, 3] == 0
    assert any("dropped" in flag for flag in out.flags)


def test_no_femur_is_said() -> None:
    out = label_map(np.zeros((8, 8, 8), np.int64), _small_ct(), CLASS_NAMES)
    assert out.flags == ["no femur found"] and not out.sides


def _small_ct() -> Volume:
    return Volume(np.zeros((8, 8, 8), np.float32), np.eye(4), "HU")


def test_a_piece_on_the_midline_is_not_a_femur_even_when_larger() -> None:
    """A lumbar vertebra taken for femur lies on the pelvis's midline: it must neither be kept nor push a
    real femur out of the two largest pieces."""
    labels = phantom_labels()
    spine = np.zeros_like(labels, dtype=bool)
    spine[15:25, 7:17, 20:32] = True  # on the midline, up through the pelvis slab: larger than a femur
    assert spine.sum() > (labels == 1).sum()
    labels[spine] = 1
    out = label_map(class_map(labels, CLASS_NAMES), phantom_ct(), CLASS_NAMES)
    assert np.array_equal(out.labels == 1, phantom_labels() == 1)
    assert np.array_equal(out.labels == 2, phantom_labels() == 2)
    assert any("midline" in flag for flag in out.flags)
