"""How far a radiograph is tilted in its plane: the line through both femoral heads.

In an AP pelvis the two femoral head centres lie nearly level (within about ±4° on the training
cohorts, pelvic obliquity included); a larger tilt of the line through them is the image's own, from a
turned cassette, patient or export. Two heads that lie closer or further apart than an adult pelvis's
(``HEAD_DISTANCE_MM``), or a line steeper than ``HEAD_LINE_LIMIT_DEG``, are not read as a tilt: one of
the two is likely not a hip.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

HEAD_LINE_LIMIT_DEG = 35.0
HEAD_DISTANCE_MM = (120.0, 300.0)  # head centre to head centre at the detector, adults, magnified


def head_line_tilt_deg(
    heads_px: Sequence[tuple[float, float]], spacing_mm: tuple[float, float]
) -> float | None:
    """Counter-clockwise tilt (deg, in millimetres at the detector) of the line through two head centres
    (row, col pixels), as the pixels are displayed; None unless exactly two heads lie an adult pelvis
    apart on a line less steep than ``HEAD_LINE_LIMIT_DEG``."""
    if len(heads_px) != 2:
        return None
    first, second = heads_px
    if first[1] > second[1]:
        first, second = second, first
    rows_mm = (second[0] - first[0]) * spacing_mm[0]
    cols_mm = (second[1] - first[1]) * spacing_mm[1]
    tilt = -math.degrees(math.atan2(rows_mm, cols_mm))  # rows run down: a rise to the right is positive
    apart = math.hypot(rows_mm, cols_mm)
    plausible = HEAD_DISTANCE_MM[0] <= apart <= HEAD_DISTANCE_MM[1] and abs(tilt) < HEAD_LINE_LIMIT_DEG
    return tilt if plausible else None
