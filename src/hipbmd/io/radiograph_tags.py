"""Interpret the DICOM attributes of a projection radiograph that hipbmd depends on.

Pixel spacing follows DICOM PS3.3 §10.7.1 (Basic Pixel Spacing Calibration Macro) and the DX module
(§C.8.11.7): ImagerPixelSpacing (0018,1164) is measured at the front plane of the detector; PixelSpacing
(0028,0030) in a projection image is at the patient plane only when Pixel Spacing Calibration Type
(0028,0A02) says it was calibrated; Estimated Radiographic Magnification Factor (0018,1114) relates the two
(detector size / object size), as does DistanceSourceToDetector / DistanceSourceToPatient (0018,1110/1111).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from hipbmd.types import Presentation, SpacingSource

# SOP classes whose name states the presentation intent (PS3.4 Annex B).
_INTENT_BY_SOP_CLASS: dict[str, Presentation] = {
    "1.2.840.10008.5.1.4.1.1.1.1": "FOR PRESENTATION",  # Digital X-Ray Image
    "1.2.840.10008.5.1.4.1.1.1.1.1": "FOR PROCESSING",
    "1.2.840.10008.5.1.4.1.1.1.2": "FOR PRESENTATION",  # Digital Mammography
    "1.2.840.10008.5.1.4.1.1.1.2.1": "FOR PROCESSING",
    "1.2.840.10008.5.1.4.1.1.1.3": "FOR PRESENTATION",  # Digital Intra-Oral
    "1.2.840.10008.5.1.4.1.1.1.3.1": "FOR PROCESSING",
}
_LATERALITY: dict[str, Literal["left", "right", "both"]] = {"R": "right", "L": "left", "B": "both"}
_SEX: dict[str, Literal["M", "F", "O"]] = {"M": "M", "F": "F", "O": "O"}
_AGE_UNIT_YEARS = {"Y": 1.0, "M": 1.0 / 12.0, "W": 7.0 / 365.25, "D": 1.0 / 365.25}
PLACEHOLDER_SPACING_MM = 1.0


@dataclass
class SpacingInfo:
    """What the file says about pixel size and magnification."""

    pixel_spacing_mm: tuple[float, float] | None
    spacing_source: SpacingSource
    calibrated_spacing_mm: tuple[float, float] | None = None
    magnification: float | None = None
    magnification_source: str | None = None
    sid_mm: float | None = None
    sod_mm: float | None = None
    notes: list[str] = field(default_factory=list)


def _pair(dataset: Dataset, keyword: str) -> tuple[float, float] | None:
    value = dataset.get(keyword)
    try:
        row, col = (float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return (row, col) if row > 0 and col > 0 else None


def _positive(dataset: Dataset, keyword: str) -> float | None:
    try:
        number = float(dataset.get(keyword))
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def read_spacing(dataset: Dataset) -> SpacingInfo:
    """Decide detector spacing, calibrated spacing, magnification and their sources."""
    imager = _pair(dataset, "ImagerPixelSpacing")
    pixel = _pair(dataset, "PixelSpacing")
    calibration = str(dataset.get("PixelSpacingCalibrationType", "")).strip().upper()
    sid, sod = (
        _positive(dataset, "DistanceSourceToDetector"),
        _positive(dataset, "DistanceSourceToPatient"),
    )
    info = SpacingInfo(None, "unknown", sid_mm=sid, sod_mm=sod)
    _set_magnification(info, _positive(dataset, "EstimatedRadiographicMagnificationFactor"))
    if pixel is not None and calibration:
        _set_calibrated(info, pixel, imager, calibration)
    elif imager is not None:
        info.pixel_spacing_mm, info.spacing_source = imager, "imager"
        if pixel is not None and pixel != imager:
            info.notes.append("PixelSpacing differs from ImagerPixelSpacing without a calibration type")
    elif pixel is not None:
        info.pixel_spacing_mm, info.spacing_source = pixel, "pixel"
        info.notes.append("only PixelSpacing present, uncalibrated: taken as the detector spacing")
    else:
        _set_nominal_scanned(info, dataset)
    if info.pixel_spacing_mm == (PLACEHOLDER_SPACING_MM, PLACEHOLDER_SPACING_MM):
        info.notes.append("spacing of exactly 1.0 mm is a common placeholder; check it")
    return info


def _set_magnification(info: SpacingInfo, ermf: float | None) -> None:
    if ermf is not None:
        info.magnification, info.magnification_source = (
            ermf,
            "EstimatedRadiographicMagnificationFactor",
        )
    elif info.sid_mm is not None and info.sod_mm is not None:
        info.magnification = info.sid_mm / info.sod_mm
        info.magnification_source = "DistanceSourceToDetector / DistanceSourceToPatient"


def _set_calibrated(
    info: SpacingInfo,
    pixel: tuple[float, float],
    imager: tuple[float, float] | None,
    calibration: str,
) -> None:
    """PixelSpacing calibrated at the patient plane ("GEOMETRY" or "FIDUCIAL")."""
    info.spacing_source = "calibrated"
    info.calibrated_spacing_mm = pixel
    info.notes.append(f"PixelSpacing calibrated at the patient plane ({calibration})")
    if imager is not None:
        info.pixel_spacing_mm = imager
    elif info.magnification is not None:
        info.pixel_spacing_mm = (pixel[0] * info.magnification, pixel[1] * info.magnification)
    else:  # only the patient plane is known: its pixels, magnified by 1
        info.pixel_spacing_mm, info.magnification = pixel, 1.0
        info.magnification_source = "calibrated PixelSpacing (detector spacing unknown)"


def _set_nominal_scanned(info: SpacingInfo, dataset: Dataset) -> None:
    """Secondary captures of film may carry NominalScannedPixelSpacing (0018,2010)."""
    scanned = _pair(dataset, "NominalScannedPixelSpacing")
    if scanned is not None:
        info.pixel_spacing_mm, info.spacing_source = scanned, "pixel"
        info.notes.append("spacing from NominalScannedPixelSpacing (digitised film)")


def orientation_notes(dataset: Dataset) -> tuple[list[str] | None, list[str]]:
    """PatientOrientation (0020,0020) as recorded, and a note when it departs from the AP display.

    On an AP view shown as usual, columns run towards the patient's left (L) and rows towards the feet (F).
    """
    value = dataset.get("PatientOrientation")
    codes = [str(v).strip().upper() for v in value] if value not in (None, "") else None
    if codes is None or len(codes) != 2:
        return codes, []
    notes = []
    if "R" in codes[0] and "L" not in codes[0]:
        notes.append(f"image is mirrored left-right relative to an AP display (PatientOrientation {codes})")
    if "H" in codes[1] and "F" not in codes[1]:
        notes.append(f"image is upside down relative to an AP display (PatientOrientation {codes})")
    return codes, notes


def presentation_intent(dataset: Dataset) -> Presentation:
    """PresentationIntentType (0008,0068), else what the SOP class implies, else "unknown"."""
    stated = str(dataset.get("PresentationIntentType", "")).strip().upper()
    if stated == "FOR PROCESSING":
        return "FOR PROCESSING"
    if stated == "FOR PRESENTATION":
        return "FOR PRESENTATION"
    return _INTENT_BY_SOP_CLASS.get(str(dataset.get("SOPClassUID", "")), "unknown")


def laterality(dataset: Dataset) -> Literal["left", "right", "both"] | None:
    """ImageLaterality (0020,0062), else Laterality (0020,0060): the patient's side imaged."""
    for keyword in ("ImageLaterality", "Laterality"):
        code = str(dataset.get(keyword, "")).strip().upper()
        if code in _LATERALITY:
            return _LATERALITY[code]
    return None


def patient_age_years(dataset: Dataset) -> float | None:
    """PatientAge ("065Y", "006M", …) in years, else StudyDate − PatientBirthDate."""
    text = str(dataset.get("PatientAge", "")).strip().upper()
    if len(text) == 4 and text[:3].isdigit() and text[3] in _AGE_UNIT_YEARS:
        return int(text[:3]) * _AGE_UNIT_YEARS[text[3]]
    birth, study = _date(dataset, "PatientBirthDate"), _date(dataset, "StudyDate")
    if birth is None or study is None or study < birth:
        return None
    return (study - birth).days / 365.25


def _date(dataset: Dataset, keyword: str) -> dt.date | None:
    text = str(dataset.get(keyword, "")).strip()
    try:
        return dt.datetime.strptime(text[:8], "%Y%m%d").date()
    except ValueError:
        return None


def patient_sex(dataset: Dataset) -> Literal["M", "F", "O"] | None:
    """PatientSex (0010,0040) when it is M, F or O."""
    code = str(dataset.get("PatientSex", "")).strip().upper()
    return _SEX.get(code)


def display_attributes(dataset: Dataset) -> dict[str, Any]:
    """Attributes recorded but deliberately not applied: VOI windowing and intensity relationship."""
    return {
        "window_center": _multi(dataset.get("WindowCenter")),
        "window_width": _multi(dataset.get("WindowWidth")),
        "voi_lut_function": str(dataset.get("VOILUTFunction", "")) or None,
        "voi_lut_sequence": "VOILUTSequence" in dataset,
        "voi_applied": False,
        "pixel_intensity_relationship": str(dataset.get("PixelIntensityRelationship", "")) or None,
        "pixel_intensity_relationship_sign": _int_or_none(dataset.get("PixelIntensityRelationshipSign")),
    }


def _multi(value: object) -> list[float] | None:
    if value is None or value == "":
        return None
    items = list(value) if isinstance(value, MultiValue | list | tuple) else [value]
    try:
        return [float(str(v)) for v in items]
    except (TypeError, ValueError):
        return None


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None
