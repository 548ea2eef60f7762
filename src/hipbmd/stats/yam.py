"""The reference %YAM a JOS category of the reference DXA needs, and where it comes from.

JOS categories are compared only for a ROI whose estimates carry a %YAM (``hipbmd estimate --yam``).
The reference %YAM of a hip is, in this order:

1. its ``dxa_<roi>_yam_percent`` cell;
2. 100 · DXA aBMD / YAM with the YAM of a table the user gives (``--yam``, as for ``estimate``);
3. 100 · DXA aBMD / YAM with the YAM implied by the results, YAM = 100 · ``abmd_g_cm2`` /
   ``yam_percent``, when every estimate of the ROI implies the same value within
   :data:`IMPLIED_YAM_TOLERANCE` (both printed values are rounded, so not exactly).

Otherwise the hip has no reference %YAM and is left out of the JOS matrix (and counted).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hipbmd.bmd.classify import percent_yam
from hipbmd.bmd.reference import YAMTable
from hipbmd.stats.matching import Pair

IMPLIED_YAM_TOLERANCE = 0.005  # largest relative deviation from the median implied YAM


@dataclass(frozen=True)
class YAMBasis:
    """How the reference %YAM of one ROI is obtained (``yam_g_cm2`` None: the reference cells only)."""

    roi: str
    source: str
    yam_g_cm2: float | None

    def percent(self, pair: Pair) -> float | None:
        """The reference %YAM of a pair, None when neither its cell nor a YAM gives one."""
        given = pair.case.yam_percent.get(self.roi)
        if given is not None:
            return given
        return None if self.yam_g_cm2 is None else percent_yam(pair.reference_g_cm2, self.yam_g_cm2)


def yam_basis(roi: str, pairs: list[Pair], table: YAMTable | None) -> tuple[YAMBasis | None, str]:
    """The basis of the reference %YAM of ``roi`` (module docstring), or None and the reason why not."""
    carried = [
        pair.estimate
        for pair in pairs
        if pair.estimate is not None and pair.estimate.yam_percent and pair.estimate.abmd_g_cm2
    ]
    if not carried:
        return None, "the results carry no %YAM"
    cells = f"reference column dxa_{roi}_yam_percent"
    if all(roi in pair.case.yam_percent for pair in pairs):
        return YAMBasis(roi, cells, None), cells
    table_yam = None if table is None else table.yam_g_cm2(roi)
    if table is not None and table_yam is not None:
        return YAMBasis(roi, f"YAM table {table.source}", table_yam), f"{cells}, else YAM table"
    implied = np.array(
        [100.0 * e.abmd_g_cm2 / e.yam_percent for e in carried if e.abmd_g_cm2 and e.yam_percent]
    )
    median = float(np.median(implied))
    if float(np.max(np.abs(implied / median - 1.0))) > IMPLIED_YAM_TOLERANCE:
        return None, "the results' %YAM imply different YAMs (several tables?); give --yam"
    source = f"YAM implied by the results ({median:.4f} g/cm2)"
    return YAMBasis(roi, source, median), source
