from __future__ import annotations

import numpy as np

from hipbmd.segmentation.bayesian_unet import CLASS_NAMES
from hipbmd.segmentation.classes import class_map


def test_hipbmd_labels_map_to_side_free_classes() -> None:
    labels = np.array([0, 1, 2, 3, 4, 5, 6, 7, 42])
    assert class_map(labels, CLASS_NAMES).tolist() == [0, 1, 1, 2, 2, 2, 0, 2, 0]
