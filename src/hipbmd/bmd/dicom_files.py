"""The DICOM results of one estimate record, written beside it: ``<name>_sr.dcm`` (the measurement
report, :mod:`hipbmd.bmd.dicom_sr`) and ``<name>_sc.dcm`` (the overlay, :mod:`hipbmd.bmd.dicom_sc`).

Only a DICOM source has a patient and a study to report into: a PNG, JPEG or TIFF gets its JSON record
and overlay, and no DICOM results. Each file is written under a temporary name and renamed.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from pydicom import Dataset

from hipbmd.bmd.dicom_sc import overlay_image
from hipbmd.bmd.dicom_sr import measurement_report
from hipbmd.bmd.record import EstimateRecord
from hipbmd.io.dicom_file import read_dicom
from hipbmd.io.image_file import IMAGE_SUFFIXES


def dicom_result_paths(folder: Path, stem: str) -> tuple[Path, Path]:
    """(SR, SC) paths of the record named ``stem`` in ``folder``."""
    return folder / f"{stem}_sr.dcm", folder / f"{stem}_sc.dcm"


def has_dicom_source(record: EstimateRecord) -> bool:
    """Whether the record's source is a DICOM file (not an image file) and the record holds a result."""
    result = record.error is None and record.refused is None and record.overlay is not None
    return result and Path(record.source).suffix.lower() not in IMAGE_SUFFIXES


def write_dicom_results(record: EstimateRecord, folder: Path, stem: str) -> tuple[Path, Path]:
    """Write the SR and SC of ``record`` (its overlay PNG already in ``folder``); returns their paths.

    Raises:
        InputError: the source cannot be read as DICOM any more.
        ValueError: the record holds no result.
    """
    source = read_dicom(record.source, stop_before_pixels=True)
    sr_path, sc_path = dicom_result_paths(folder, stem)
    with warnings.catch_warnings():  # the source's names are copied as they are, one-part names included
        warnings.filterwarnings("ignore", message=".*unlikely to represent the intended person name")
        report, overlay = (
            measurement_report(record, source),
            overlay_image(record, source, folder / str(record.overlay)),
        )
    _save(report, sr_path)
    _save(overlay, sc_path)
    return sr_path, sc_path


def _save(dataset: Dataset, path: Path) -> None:
    partial = path.with_name(path.name + ".partial")
    try:
        dataset.save_as(partial, enforce_file_format=True)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
