"""Write volumes: NIfTI (CT as int16 HU, labels as uint8, densities as float32) and CT DICOM series.

Files are written under a temporary name and renamed, so an interrupted run never leaves a half-written
file behind. A DICOM series goes into a temporary folder renamed when complete.
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, CTImageStorage, ExplicitVRLittleEndian, RLELossless, generate_uid

from hipbmd import __version__
from hipbmd.types import Volume

RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])
_DTYPES = {"HU": np.int16, "label": np.uint8}
_MAX_LABEL = 255  # the largest value a uint8 label map holds


def write_nifti(volume: Volume, path: str | Path) -> Path:
    """Write a Volume as NIfTI (.nii or .nii.gz): HU as int16, labels as uint8, anything else float32."""
    path = Path(path)
    dtype = _DTYPES.get(volume.unit, np.float32)
    image = nib.Nifti1Image(np.asarray(volume.array).astype(dtype), volume.affine)
    image.header.set_xyzt_units("mm")
    image.header["descrip"] = f"hipbmd {volume.unit}".encode()[:79]
    data = image.to_bytes()
    if path.name.endswith(".gz"):
        data = gzip.compress(data, compresslevel=1, mtime=0)  # no timestamp: same volume, same bytes
    partial = path.with_name(path.name + ".partial")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial.write_bytes(data)
    os.replace(partial, path)
    return path


def write_labels(volume: Volume, path: str | Path) -> Path:
    """Write a label map as NIfTI (.nii or .nii.gz), uint8; values must be integers 0..255."""
    path = Path(path)
    if not path.name.lower().endswith((".nii", ".nii.gz")):
        raise ValueError(f"{path}: labels are written as NIfTI, name the file .nii or .nii.gz")
    if volume.unit != "label":
        raise ValueError(f"write_labels needs a label volume, not {volume.unit}")
    values = np.asarray(volume.array)
    in_range = values.size == 0 or (values.min() >= 0 and values.max() <= _MAX_LABEL)
    if not in_range or not np.array_equal(values, np.rint(values)):
        raise ValueError(f"{path}: label values must be integers 0..{_MAX_LABEL}")
    return write_nifti(volume, path)


@dataclass
class CTSeriesInfo:
    """Who and what a CT series is about (written into every slice), and how it is stored.

    ``uid_entropy`` derives the UIDs from a string (reproducible files); ``rle_lossless`` compresses the
    pixel data with RLE Lossless, as many archives do.
    """

    patient_id: str
    age_years: float | None = None
    sex: str | None = None
    manufacturer: str = "hipbmd"
    institution: str = ""
    description: str = "HIP CT"
    kvp: float = 120.0
    study_date: dt.date | None = None
    uid_entropy: str | None = None
    rle_lossless: bool = False

    def uid(self, role: str) -> UID:
        """A UID: random, or derived from ``uid_entropy`` (reproducible files) when it is set."""
        if self.uid_entropy is None:
            return generate_uid()
        return generate_uid(entropy_srcs=[self.uid_entropy, role])


def write_ct_series(volume: Volume, folder: str | Path, info: CTSeriesInfo) -> Path:
    """Write an axis-aligned HU Volume as a DICOM CT series, one file per axial slice (LPS geometry)."""
    folder = Path(folder)
    if volume.unit != "HU":
        raise ValueError("a CT series needs a HU volume")
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    study, series, frame = info.uid("study"), info.uid("series"), info.uid("frame")
    lps = RAS_TO_LPS @ volume.affine
    for k in range(volume.shape[2]):
        dataset = _slice_dataset(volume, k, lps, info, (study, series, frame))
        if info.rle_lossless:
            dataset.compress(RLELossless, generate_instance_uid=False)
        dataset.save_as(partial / f"slice_{k:04d}.dcm", enforce_file_format=True)
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(partial, folder)
    return folder


def _slice_dataset(
    volume: Volume, k: int, lps: np.ndarray, info: CTSeriesInfo, uids: tuple[str, str, str]
) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = info.uid(f"slice {k}")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = uids
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "CT", 1, k + 1
    ds.StudyDate = ds.SeriesDate = (info.study_date or dt.date.today()).strftime("%Y%m%d")
    ds.PatientID = ds.PatientName = info.patient_id
    if info.age_years is not None:
        ds.PatientAge = f"{int(info.age_years):03d}Y"
    if info.sex is not None:
        ds.PatientSex = info.sex
    ds.Manufacturer, ds.InstitutionName = info.manufacturer, info.institution
    ds.SeriesDescription, ds.KVP = info.description, info.kvp
    ds.SoftwareVersions = f"hipbmd {__version__}"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    # Voxel (i, j) runs along x then y; DICOM rows run along the second axis, columns along the first.
    ds.ImageOrientationPatient = [float(v) for v in (*_unit(lps[:3, 0]), *_unit(lps[:3, 1]))]
    ds.ImagePositionPatient = [float(v) for v in lps[:3, :3] @ np.array([0.0, 0.0, k]) + lps[:3, 3]]
    spacing = np.linalg.norm(volume.affine[:3, :3], axis=0)
    ds.PixelSpacing = [float(spacing[1]), float(spacing[0])]
    ds.SliceThickness = ds.SpacingBetweenSlices = float(spacing[2])
    pixels = np.asarray(volume.array[:, :, k]).T  # (rows = j, columns = i)
    ds.Rows, ds.Columns = int(pixels.shape[0]), int(pixels.shape[1])
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "0", "1", "HU"
    ds.WindowCenter, ds.WindowWidth = "40", "400"
    ds.PixelData = np.round(pixels).astype(np.int16).tobytes()
    return ds


def _unit(vector: np.ndarray) -> np.ndarray:
    return np.asarray(vector / np.linalg.norm(vector))
