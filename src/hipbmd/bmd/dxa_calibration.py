"""The linear map from an ROI's mean predicted areal density to DXA aBMD, fitted on a training cohort.

The decomposition network predicts the femur's areal mineral density in the radiograph's projection,
not DXA's: the pose, the projection (perspective vs DXA's scanning geometry) and DXA's own soft-tissue
and edge handling differ. As in the source report, a straight line fitted per ROI on the training cohort
maps one to the other: DXA ≈ slope × measured + intercept (ordinary least squares). The fit's residual SD
is kept: it is the part of the error the line cannot remove, and it widens the reported interval.

:func:`calibrate_to_dxa` is the last stage of ``hipbmd train``: each training case's index hip (the side
its DXA was taken on) is decomposed by the trained generator (dropout off), measured in its ROIs
(:func:`hipbmd.femur.measure_2d.measure_femur_drr`, on the crop's patient-plane grid, always a right-hip
orientation since left crops are mirrored) and a line per ROI is fitted to DXA.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from hipbmd.decomposition.crop import CropGrid
    from hipbmd.decomposition.data import PairSet

MIN_PAIRS = 10
CALIBRATED_ROIS = ("neck", "total_hip")


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


def calibrate_to_dxa(generator: Any, pairs: PairSet, grid: CropGrid) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per ROI the line predicted aBMD → DXA over the index hips of the pairs, and a summary of the fit.

    An ROI measured on too few hips gets no line (the fit summary says why); estimates of it then carry
    no DXA-equivalent number.
    """
    from hipbmd.decomposition.predict import predict_drr
    from hipbmd.femur.measure_2d import measure_femur_drr

    measured: dict[str, list[float]] = {roi: [] for roi in CALIBRATED_ROIS}
    dxa: dict[str, list[float]] = {roi: [] for roi in CALIBRATED_ROIS}
    for index, entry in enumerate(pairs.records):
        if entry.get("side") != entry.get("index_side"):
            continue
        drr = predict_drr(generator, pairs.inputs[index].astype(np.float32), samples=1).mean_g_cm2
        result = measure_femur_drr(drr, grid.spacing_mm, "right")
        for roi in CALIBRATED_ROIS:
            if roi in result.abmd_g_cm2:
                measured[roi].append(result.abmd_g_cm2[roi])
                dxa[roi].append(entry[f"dxa_{roi}_g_cm2"])
    calibration: dict[str, Any] = {}
    fits: dict[str, Any] = {}
    for roi in CALIBRATED_ROIS:
        try:
            line = fit_dxa_map(measured[roi], dxa[roi])
        except ValueError as error:  # too few measurable training hips: the model stays uncalibrated there
            fits[roi] = {"n": len(measured[roi]), "error": str(error)}
            continue
        calibration[roi] = line.to_dict()
        fits[roi] = {"r": line.r, "n": line.n, "residual_sd_g_cm2": line.residual_sd_g_cm2}
    return calibration, fits
