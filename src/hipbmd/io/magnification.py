"""The magnification of a radiograph: detector size over patient-plane size at the hip."""

from __future__ import annotations

from hipbmd.types import Radiograph

ASSUMED_MAGNIFICATION = 1.15  # a hip about 15 cm above the detector at 100–115 cm SID


def magnification_of(radiograph: Radiograph) -> tuple[float, list[str]]:
    """Detector / patient-plane size: the file's, else SID/SOD, else an assumed one (flagged).

    Returns:
        The magnification (dimensionless, ≥ 1 in practice) and the flags it raises.
    """
    if radiograph.magnification:
        return float(radiograph.magnification), []
    if radiograph.sid_mm and radiograph.sod_mm:
        return float(radiograph.sid_mm / radiograph.sod_mm), []
    return ASSUMED_MAGNIFICATION, [f"magnification_assumed: {ASSUMED_MAGNIFICATION}"]
