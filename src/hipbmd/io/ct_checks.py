"""Checks that a CT is a scan of a body before minutes are spent segmenting or measuring it.

* Every voxel finite: a NaN or an infinity is a broken conversion, and would spread through the
  resampling and the network.
* A body in the scan: at least :data:`MIN_BODY_FRACTION` of the voxels above :data:`BODY_HU`
  (fat is about −100 HU, air −1000). An all-air or empty scan has none.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hipbmd.errors import InputRefusedError
from hipbmd.types import Volume

BODY_HU = -500.0
MIN_BODY_FRACTION = 0.005


def check_plausible_ct(volume: Volume, source: str | Path) -> Volume:
    """The CT, when it is plausible (module docstring).

    Raises:
        InputRefusedError: voxels that are not finite, or no body in the scan.
    """
    values = np.asarray(volume.array)
    bad = int(np.count_nonzero(~np.isfinite(values)))
    if bad:
        raise InputRefusedError(source, f"{bad} voxels are not finite (NaN or inf): not a usable CT")
    body = float(np.mean(values > BODY_HU))
    if volume.unit == "HU" and body < MIN_BODY_FRACTION:
        raise InputRefusedError(
            source, f"no body in the scan: {100 * body:.2f} % of voxels above {BODY_HU:.0f} HU"
        )
    return volume
