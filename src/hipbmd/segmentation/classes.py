"""What the segmentation model's classes mean in label maps.

The network sees patches, not the whole body, so it segments "femur" and "pelvis" without sides;
sides come afterwards from position (:mod:`hipbmd.segmentation.labels_out`). Training targets are made
from ``hipbmd`` label maps (the table in ``resources/labels/hipbmd.tsv``): both femurs → femur; both hip
bones, the sacrum and the merged pelvis → pelvis; everything else (implants included: metal is found
from its CT numbers) → background.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from hipbmd.io.label_tables import load_label_table

FEMUR_SOURCES = ("femur_right", "femur_left")
PELVIS_SOURCES = ("hip_right", "hip_left", "sacrum", "pelvis")
METAL_HU = 2500.0  # above any bone: cortical bone reads up to about 2100 HU on the simulated scanners


def class_index_map(class_names: tuple[str, ...]) -> npt.NDArray[np.int64]:
    """Lookup table hipbmd label value → class index (0 background) for the model's classes."""
    table = load_label_table("hipbmd")
    lookup = np.zeros(max(table.values()) + 1, dtype=np.int64)
    sources = {"femur": FEMUR_SOURCES, "pelvis": PELVIS_SOURCES}
    for index, name in enumerate(class_names):
        for source in sources.get(name, ()):
            if source in table:
                lookup[table[source]] = index
    return lookup


def class_map(labels: npt.NDArray[np.integer], class_names: tuple[str, ...]) -> npt.NDArray[np.int64]:
    """Class index per voxel of a hipbmd label map (values outside the table → background)."""
    lookup = class_index_map(class_names)
    values = np.asarray(labels, dtype=np.int64)
    inside = (values >= 0) & (values < lookup.size)
    return np.where(inside, lookup[np.clip(values, 0, lookup.size - 1)], 0)
