"""The magnification of a radiograph: detector size over patient-plane size at the hip."""

from __future__ import annotations

from hipbmd.types import Radiograph

ASSUMED_MAGNIFICATION = 1.15  # a hip about 15 cm above the detector at 100–115 cm SID


def magnification_of(radiograph: Radiograph) -> tuple[float, list[str]]:
    """Detector / patient-plane size: the calibrated PixelSpacing's, else the file's magnification, else
    SID/SOD, else an assumed one (flagged).

    A PixelSpacing calibrated at the patient plane (PixelSpacingCalibrationType) is the file's own
    statement of the patient-plane pixel: the magnification is then detector spacing / calibrated
    spacing, so that detector spacing / magnification is the calibrated spacing, whatever Estimated
    Radiographic Magnification Factor or distances the file also holds.

    Returns:
        The magnification (dimensionless, ≥ 1 in practice) and the flags it raises.
    """
    calibrated, detector = radiograph.calibrated_spacing_mm, radiograph.pixel_spacing_mm
    if calibrated is not None and detector is not None and calibrated[0] > 0:
        return float(detector[0] / calibrated[0]), []
    if radiograph.magnification:
        return float(radiograph.magnification), []
    if radiograph.sid_mm and radiograph.sod_mm:
        return float(radiograph.sid_mm / radiograph.sod_mm), []
    return ASSUMED_MAGNIFICATION, [f"magnification_assumed: {ASSUMED_MAGNIFICATION}"]
