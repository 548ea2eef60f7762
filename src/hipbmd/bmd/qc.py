"""Quality checks of a radiograph hip estimate: what withholds a number or a category.

* **Implant**: metal attenuates far more than bone, so a processed radiograph shows it as a bright
  plateau at the top of the grey scale. The share of crop pixels within 3 % (of the max − median span)
  of the crop's maximum is ≥ 0.36 % for every arthroplasty and ≤ 0.25 % for every native hip of a
  140-case simulated cohort over six sites; :data:`METAL_PLATEAU_PERCENT` sits between. The crop is
  always 160 mm square at 1.25 mm about the head (``hipbmd.bmd.estimate.QC_GRID``), whatever the model's
  grid, since the share depends on the region looked at. It is tuned on
  simulated radiographs only: on real images expect false alarms on clipped exposures (which withhold a
  result, the safe direction).
* **Localisation**: a head heatmap peak below :data:`LOW_CONFIDENCE`.
* **Uncertainty**: ``high_uncertainty`` when a calibrated 95 % interval (widened for bone beyond the
  image's edge, :mod:`hipbmd.bmd.region_coverage`) is wider than 90 % of the calibration cohort's
  (:mod:`hipbmd.bmd.interval_calibration`); with a model whose intervals are not
  calibrated, ``intervals_not_calibrated`` instead, which withholds the categories.
* **Out of distribution**: ``out_of_distribution`` when the hip's evidence lies further from the
  calibration cohort's than 99 % of that cohort's hips.
* **Input**: pixel spacing or magnification assumed, not an AP view, an image upside down.
* **Coverage**: ``region_partly_off_image`` when part of a region's bone lies beyond the image's edge
  (:mod:`hipbmd.bmd.region_coverage`).
* **Region points**: ``region_points_incomplete`` when the localiser placed no greater trochanter. No
  region stands on it, so the hip is measured, but a localiser that cannot see a trochanter beside the
  head is unsure of the femur (on 60 held-out radiographs two of three such hips erred by 0.10–0.27
  g/cm² at the total hip), and the intervals were calibrated on hips that had one.

The categories are withheld for a stated reason only: one of :data:`WITHHOLDING`, or a category whose
probability falls short of the confidence asked for (:mod:`hipbmd.bmd.hip_category`). A wide interval
alone withholds nothing: it lowers the category's probability, which is what decides.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

METAL_PLATEAU_PERCENT = 0.30
PLATEAU_BAND = 0.03
LOW_CONFIDENCE = 0.5

# Flags that withhold the WHO/JOS category (the number may still be shown, with them).
WITHHOLDING = (
    "implant_suspected",
    "low_localisation_confidence",
    "out_of_distribution",
    "not_calibrated",
    "intervals_not_calibrated",
    "samples_differ_from_calibration",
    "age_under_20",
    "region_partly_off_image",
    "region_points_incomplete",
)


def metal_plateau_percent(crop: npt.NDArray[np.floating]) -> float:
    """Percentage of pixels within :data:`PLATEAU_BAND` of the maximum, relative to (max − median)."""
    values = np.asarray(crop, dtype=np.float64)
    top, middle = float(values.max()), float(np.median(values))
    if top <= middle:
        return 0.0
    return 100.0 * float(np.mean(values >= top - PLATEAU_BAND * (top - middle)))


def implant_suspected(crop: npt.NDArray[np.floating]) -> bool:
    """Whether a raw (un-normalised, bone-bright) radiograph crop shows a metal plateau."""
    return metal_plateau_percent(crop) >= METAL_PLATEAU_PERCENT


def withholding_flag(flags: list[str]) -> str | None:
    """The first flag that withholds the diagnostic category, None when none does."""
    return next((flag for flag in flags if flag.split(":")[0] in WITHHOLDING), None)
