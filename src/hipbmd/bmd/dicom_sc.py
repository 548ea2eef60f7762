"""The overlay of an estimate as a DICOM Secondary Capture image, in the source's study and a new series.

The image is the overlay PNG ``hipbmd estimate`` writes (RGB), labelled as derived (ImageType DERIVED\\
SECONDARY, a derivation description, burned-in annotation) and as not for primary diagnosis. Patient and
study identity are copied from the source; UIDs are derived from the source and the model (as for the SR,
:func:`hipbmd.bmd.dicom_sr.derived_uid`).
"""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import numpy as np
from PIL import Image
from pydicom import Dataset

from hipbmd.bmd.dicom_sr import derived_uid
from hipbmd.bmd.record import EstimateRecord

SC_SERIES_NUMBER = 9101
NOT_FOR_DIAGNOSIS = "hipbmd research overlay: derived image, not for primary diagnosis"
PATIENT_ATTRIBUTES = (
    ("patient_id", "PatientID"),
    ("patient_name", "PatientName"),
    ("patient_birth_date", "PatientBirthDate"),
    ("accession_number", "AccessionNumber"),
    ("study_id", "StudyID"),
    ("study_date", "StudyDate"),
    ("study_time", "StudyTime"),
    ("referring_physician_name", "ReferringPhysicianName"),
)


def overlay_image(record: EstimateRecord, source: Dataset, overlay_png: Path) -> hd.sc.SCImage:
    """The Secondary Capture of the overlay PNG of ``record`` (module docstring)."""
    pixels = np.asarray(Image.open(overlay_png).convert("RGB"), dtype=np.uint8)
    identity = {name: source.get(keyword) for name, keyword in PATIENT_ATTRIBUTES if source.get(keyword)}
    sex = str(source.get("PatientSex", "")).upper()
    image = hd.sc.SCImage(
        pixel_array=pixels,
        photometric_interpretation="RGB",
        bits_allocated=8,
        coordinate_system="PATIENT",
        study_instance_uid=str(source.StudyInstanceUID),
        series_instance_uid=derived_uid(source, record, "sc-series"),
        series_number=SC_SERIES_NUMBER,
        sop_instance_uid=derived_uid(source, record, "sc"),
        instance_number=1,
        manufacturer="hipbmd",
        patient_sex=sex if sex in ("M", "F", "O") else None,
        patient_orientation=("L", "F"),
        **identity,
    )
    image.ImageType = ["DERIVED", "SECONDARY"]
    image.BurnedInAnnotation = "YES"
    image.DerivationDescription = NOT_FOR_DIAGNOSIS
    image.ImageComments = NOT_FOR_DIAGNOSIS
    image.SeriesDescription = "hipbmd overlay (not for diagnosis)"
    _set_body_part(image, source)
    return image


def _set_body_part(image: Dataset, source: Dataset) -> None:
    """The source's body part and side: a single hip keeps its laterality; otherwise the pelvis (both hips,
    or a side the source does not state)."""
    side = str(source.get("ImageLaterality", "") or source.get("Laterality", "")).strip().upper()
    if side in ("R", "L"):
        image.BodyPartExamined = str(source.get("BodyPartExamined", "") or "HIP").strip().upper()
        image.Laterality = side
    else:
        image.BodyPartExamined = "PELVIS"
