"""Write a projection radiograph as a DICOM Digital X-Ray (DX) image with the attributes a real one carries.

The stored integers are a linear quantisation of the physical values; Rescale Slope/Intercept (the modality
LUT, PS3.3 C.11.1) map them back, so hipbmd's reader recovers the values to within half a quantisation step.
Geometry follows the DX module (PS3.3 C.8.11.7): ImagerPixelSpacing at the detector, DistanceSourceToDetector,
DistanceSourceToPatient and the Estimated Radiographic Magnification Factor. The file is written to a
temporary name and renamed, so a failure never leaves a half-written file.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    UID,
    DigitalXRayImageStorageForPresentation,
    DigitalXRayImageStorageForProcessing,
    ExplicitVRLittleEndian,
    generate_uid,
)

from hipbmd import __version__

_LATERALITY_CODE = {"left": "L", "right": "R", "both": "B"}


@dataclass
class DXAcquisition:
    """What the DX file says about how the image was taken and of whom.

    Attributes:
        pixel_spacing_mm: (row, col) ImagerPixelSpacing at the detector.
        sid_mm: source–detector distance, mm.
        sod_mm: DistanceSourceToPatient as the device records it (to the tabletop or the patient's
            entrance surface, rarely the hip), mm; None leaves it and the Estimated Radiographic
            Magnification Factor (SID / it) out.
        calibrated_spacing_mm: (row, col) PixelSpacing calibrated at the hip's plane (Pixel Spacing
            Calibration Type GEOMETRY), None to write no PixelSpacing.
        presentation: "FOR PROCESSING" (raw, usually log) or "FOR PRESENTATION" (site-processed).
        intensity_relationship: "LIN" or "LOG" (Pixel Intensity Relationship).
        view: ViewPosition, e.g. "AP".
        laterality: "left", "right", "both" (ImageLaterality) or None.
        age_years, sex: PatientAge and PatientSex.
        body_part: BodyPartExamined, e.g. "HIP" or "PELVIS".
        manufacturer, institution: free text.
        bits_stored: bit depth of the stored integers (8–16).
        monochrome1: store inverted (MONOCHROME1), as some CR/DX vendors do.
        study_date: the examination date (default today).
        uid_entropy: if given, UIDs are derived from it, so the same inputs give the same file.
    """

    pixel_spacing_mm: tuple[float, float]
    sid_mm: float
    sod_mm: float | None
    presentation: Literal["FOR PROCESSING", "FOR PRESENTATION"] = "FOR PRESENTATION"
    intensity_relationship: Literal["LIN", "LOG"] = "LOG"
    view: str = "AP"
    laterality: Literal["left", "right", "both"] | None = "both"
    age_years: float | None = None
    sex: Literal["M", "F", "O"] | None = None
    body_part: str = "PELVIS"
    manufacturer: str = "hipbmd"
    institution: str = ""
    bits_stored: int = 12
    monochrome1: bool = False
    study_date: dt.date | None = None
    uid_entropy: str | None = None
    calibrated_spacing_mm: tuple[float, float] | None = None

    def uid(self, role: str) -> UID:
        """A UID: random, or derived from ``uid_entropy`` (reproducible files) when it is set."""
        if self.uid_entropy is None:
            return generate_uid()
        return generate_uid(entropy_srcs=[self.uid_entropy, role])


def write_dx(
    image: npt.NDArray[np.floating],
    path: str | Path,
    acquisition: DXAcquisition,
    patient_id: str = "ANONYMOUS",
    study_uid: str | None = None,
) -> Path:
    """Write a bone-bright (H, W) image as a single-frame DX file; returns the path written."""
    path = Path(path)
    values = np.asarray(image, dtype=np.float64)
    if values.ndim != 2 or not np.all(np.isfinite(values)):
        raise ValueError("a DX image must be a finite 2-D array")
    if not 8 <= acquisition.bits_stored <= 16:
        raise ValueError("bits_stored must be between 8 and 16")
    dataset = _dataset(acquisition, patient_id, study_uid)
    _set_pixels(dataset, values, acquisition)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    dataset.save_as(partial, enforce_file_format=True)
    os.replace(partial, path)
    return path


def _dataset(acquisition: DXAcquisition, patient_id: str, study_uid: str | None) -> Dataset:
    processing = acquisition.presentation == "FOR PROCESSING"
    sop_class = DigitalXRayImageStorageForProcessing if processing else DigitalXRayImageStorageForPresentation
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = acquisition.uid("instance")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    today = (acquisition.study_date or dt.date.today()).strftime("%Y%m%d")
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid or acquisition.uid("study")
    ds.SeriesInstanceUID = acquisition.uid("series")
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "DX", 1, 1
    ds.StudyDate = ds.ContentDate = today
    ds.PatientID, ds.PatientName = patient_id, patient_id
    ds.Manufacturer, ds.InstitutionName = acquisition.manufacturer, acquisition.institution
    ds.SoftwareVersions = f"hipbmd {__version__}"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.PresentationIntentType = acquisition.presentation
    ds.BodyPartExamined, ds.ViewPosition = acquisition.body_part, acquisition.view
    ds.PatientOrientation = ["L", "F"]  # AP: columns towards the patient's left, rows towards the feet
    ds.ImageLaterality = _LATERALITY_CODE.get(acquisition.laterality or "", "U")
    if acquisition.age_years is not None:
        ds.PatientAge = f"{int(acquisition.age_years):03d}Y"
    if acquisition.sex is not None:
        ds.PatientSex = acquisition.sex
    _set_geometry(ds, acquisition)
    return ds


def _set_geometry(ds: Dataset, acquisition: DXAcquisition) -> None:
    ds.ImagerPixelSpacing = [float(v) for v in acquisition.pixel_spacing_mm]
    ds.DistanceSourceToDetector = float(acquisition.sid_mm)
    if acquisition.sod_mm is not None:
        ds.DistanceSourceToPatient = float(acquisition.sod_mm)
        ds.EstimatedRadiographicMagnificationFactor = round(acquisition.sid_mm / acquisition.sod_mm, 6)
    if acquisition.calibrated_spacing_mm is not None:
        ds.PixelSpacing = [round(float(v), 6) for v in acquisition.calibrated_spacing_mm]
        ds.PixelSpacingCalibrationType = "GEOMETRY"
        ds.PixelSpacingCalibrationDescription = "calibrated at the hip's plane"
    ds.PixelIntensityRelationship = acquisition.intensity_relationship
    ds.BurnedInAnnotation = "NO"


def _set_pixels(ds: Dataset, values: npt.NDArray[np.float64], acquisition: DXAcquisition) -> None:
    """Quantise linearly onto the stored bit depth and record the inverse as Rescale Slope/Intercept.

    MONOCHROME1 stores the complement (top − q), so its modality-LUT output runs the other way, as
    such files do; a reader that inverts MONOCHROME1 over the LUT's output range gets the values back.
    """
    top = 2**acquisition.bits_stored - 1
    low, high = float(values.min()), float(values.max())
    slope = (high - low) / top if high > low else 1.0
    stored = np.clip(np.round((values - low) / slope), 0, top).astype(np.uint16)
    if acquisition.monochrome1:
        stored = (top - stored).astype(np.uint16)
    ds.PhotometricInterpretation = "MONOCHROME1" if acquisition.monochrome1 else "MONOCHROME2"
    # PS3.3 C.8.11.3.1.2: -1 when higher stored values mean less X-ray intensity (bone bright)
    ds.PixelIntensityRelationshipSign = 1 if acquisition.monochrome1 else -1
    ds.SamplesPerPixel, ds.Rows, ds.Columns = 1, int(values.shape[0]), int(values.shape[1])
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, acquisition.bits_stored, acquisition.bits_stored - 1
    ds.PixelRepresentation = 0
    ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = _ds(slope), _ds(low), "US"
    ds.WindowCenter, ds.WindowWidth = _ds(low + top * slope / 2), _ds(top * slope)
    ds.PixelData = stored.tobytes()


def _ds(value: float) -> str:
    """A Decimal String of at most 16 characters."""
    return f"{value:.10g}"[:16]
