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
* **Uncertainty**: a 95 % interval wider than :data:`WIDE_INTERVAL_G_CM2`.
* **Input**: pixel spacing or magnification assumed, not an AP view, an image upside down.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

METAL_PLATEAU_PERCENT = 0.30
PLATEAU_BAND = 0.03
LOW_CONFIDENCE = 0.5
WIDE_INTERVAL_G_CM2 = 0.15

# Flags that withhold the WHO/JOS category (the number may still be shown, with them).
WITHHOLDING = ("implant_suspected", "low_localisation_confidence", "high_uncertainty", "not_calibrated")


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


def withholds_category(flags: list[str]) -> bool:
    """Whether any flag withholds the diagnostic category."""
    return any(flag.split(":")[0] in WITHHOLDING for flag in flags)
