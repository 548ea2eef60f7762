"""Tiny synthetic DICOM files built with pydicom, for reader tests with known answers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import (
    CTImageStorage,
    DigitalXRayImageStorageForPresentation,
    ExplicitVRLittleEndian,
    MRImageStorage,
    generate_uid,
)

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def _base_dataset(sop_class: str, modality: str) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = modality
    ds.StudyInstanceUID = generate_uid()
    ds.PatientID = "SYNTHETIC"
    return ds


def _set_pixels(ds: Dataset, stored: npt.NDArray[Any], bits_stored: int = 12) -> None:
    signed = stored.dtype.kind == "i"
    ds.Rows, ds.Columns = int(stored.shape[0]), int(stored.shape[1])
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = ds.get("PhotometricInterpretation", "MONOCHROME2")
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if signed else 0
    ds.PixelData = np.ascontiguousarray(stored.astype(np.int16 if signed else np.uint16)).tobytes()


def ct_slice(
    stored: npt.NDArray[Any],
    position_mm: Sequence[float],
    *,
    orientation: Sequence[float] = AXIAL,
    pixel_spacing_mm: Sequence[float] = (0.5, 0.8),
    series_uid: str = "1.2.3.4",
    modality: str = "CT",
    slope: float = 1.0,
    intercept: float = -1024.0,
    instance: int = 1,
) -> Dataset:
    """One CT (or MR) slice; ``stored`` is (rows, columns) of stored values."""
    ds = _base_dataset(CTImageStorage if modality == "CT" else MRImageStorage, modality)
    ds.SeriesInstanceUID = series_uid
    ds.SeriesDescription = f"synthetic {modality}"
    ds.InstanceNumber = instance
    ds.ImagePositionPatient = [float(v) for v in position_mm]
    ds.ImageOrientationPatient = [float(v) for v in orientation]
    ds.PixelSpacing = [float(v) for v in pixel_spacing_mm]
    ds.SliceThickness = 1.0
    ds.RescaleSlope = slope
    ds.RescaleIntercept = intercept
    _set_pixels(ds, stored)
    return ds


def write_ct_series(
    folder: Path,
    stored: npt.NDArray[Any],
    positions_mm: Sequence[Sequence[float]],
    *,
    names: Sequence[str] | None = None,
    compress: str | None = None,
    **slice_options: Any,
) -> list[Path]:
    """Write ``stored[:, :, k]`` (rows, columns, slices) as files at the given positions.

    File names default to the reverse of the slice order, so name order never equals position order.
    """
    folder.mkdir(parents=True, exist_ok=True)
    count = stored.shape[2]
    names = names or [f"IM{count - k:04d}" for k in range(count)]
    paths = []
    for k in range(count):
        ds = ct_slice(stored[:, :, k], positions_mm[k], instance=count - k, **slice_options)
        if compress is not None:
            ds.compress(compress)
        path = folder / names[k]
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def radiograph(
    stored: npt.NDArray[Any],
    *,
    modality: str = "DX",
    sop_class: str = DigitalXRayImageStorageForPresentation,
    photometric: str = "MONOCHROME2",
    bits_stored: int = 12,
    **attributes: Any,
) -> Dataset:
    """A single-frame projection radiograph; extra keyword arguments become DICOM attributes."""
    ds = _base_dataset(sop_class, modality)
    ds.SeriesInstanceUID = generate_uid()
    ds.PhotometricInterpretation = photometric
    _set_pixels(ds, stored, bits_stored)
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    return ds


def modality_lut_sequence(table: Sequence[int], first_input: int = 0, bits: int = 16) -> DicomSequence:
    """A Modality LUT Sequence item mapping stored values first_input.. to ``table``."""
    item = Dataset()
    item.LUTDescriptor = [len(table), first_input, bits]
    item.ModalityLUTType = "US"
    item.LUTData = np.asarray(table, dtype="<u2").tobytes()
    return DicomSequence([item])


def save(ds: Dataset, path: Path, *, compress: str | None = None, preamble: bool = True) -> Path:
    """Write a dataset, optionally compressed, optionally without preamble and File Meta."""
    if compress is not None:
        ds.compress(compress)
    if preamble:
        ds.save_as(path, enforce_file_format=True)
    else:
        del ds.file_meta
        ds.save_as(path, implicit_vr=True, little_endian=True, enforce_file_format=False)
    return path
