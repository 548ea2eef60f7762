"""The linear map from an ROI's mean predicted areal density to DXA aBMD, fitted on a training cohort.

The decomposition network predicts the femur's areal mineral density in the radiograph's projection,
not DXA's: the pose, the projection (perspective vs DXA's scanning geometry) and DXA's own soft-tissue
and edge handling differ. As in the source report, a straight line fitted per ROI on the training cohort
maps one to the other: DXA ≈ slope × measured + intercept (ordinary least squares). The fit's residual SD
is kept: it is the part of the error the line cannot remove, and it widens the reported interval.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

MIN_PAIRS = 10


@dataclass(frozen=True)
class LinearDXAMap:
    """DXA aBMD (g/cm²) = slope × measured (g/cm²) + intercept, from ``n`` pairs with Pearson ``r``."""

    slope: float
    intercept_g_cm2: float
    r: float
    n: int
    residual_sd_g_cm2: float

    def apply(self, measured_g_cm2: float) -> float:
        """The DXA-equivalent aBMD of a measured ROI mean (g/cm²)."""
        return self.slope * measured_g_cm2 + self.intercept_g_cm2

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> LinearDXAMap:
        """Inverse of :meth:`to_dict`."""
        return cls(**record)


def fit_dxa_map(measured_g_cm2: npt.ArrayLike, dxa_g_cm2: npt.ArrayLike) -> LinearDXAMap:
    """Least-squares line DXA = slope × measured + intercept over paired values (g/cm²)."""
    x = np.asarray(measured_g_cm2, dtype=np.float64)
    y = np.asarray(dxa_g_cm2, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) < MIN_PAIRS:
        raise ValueError(f"a DXA calibration needs at least {MIN_PAIRS} pairs, got {len(x)}")
    if np.ptp(x) <= 0:
        raise ValueError("the measured values do not vary: no line can be fitted")
    slope, intercept = np.polyfit(x, y, 1)
    residuals = y - (slope * x + intercept)
    r = float(np.corrcoef(x, y)[0, 1])
    sd = float(np.sqrt(np.sum(residuals**2) / (len(x) - 2)))
    return LinearDXAMap(float(slope), float(intercept), r, len(x), sd)
