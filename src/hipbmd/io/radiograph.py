"""Read a projection radiograph (DICOM CR/DX/DR/SC, or PNG/JPEG/TIFF) as a :class:`Radiograph`.

Pixel pipeline for DICOM (PS3.3 §C.11.1 and §C.7.6.3.1.2): stored values → Modality LUT (Rescale
Slope/Intercept or Modality LUT Sequence) → MONOCHROME1 inverted so that bone is bright. The VOI LUT
(windowing) is recorded in ``meta`` and never applied, so intensities keep their physical meaning.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset
from pydicom.pixels.processing import apply_modality_lut

from hipbmd.errors import InputError, InputWarning
from hipbmd.io import radiograph_tags as tags
from hipbmd.io.dicom_file import number_of_frames, pixel_array, read_dicom
from hipbmd.io.image_file import IMAGE_SUFFIXES, read_image_file, rgb_to_grey
from hipbmd.io.radiograph_bounds import check_header_size
from hipbmd.io.volume_files import volume_format
from hipbmd.types import Radiograph

VOLUME_MODALITIES = {"CT", "MR", "PT", "NM", "US", "SEG", "RTSTRUCT"}


def read_radiograph(path: str | Path, spacing_mm: float | tuple[float, float] | None = None) -> Radiograph:
    """Read one radiograph file.

    Args:
        path: a DICOM file (optionally gzip-compressed) or a PNG/JPEG/TIFF image.
        spacing_mm: detector pixel spacing to assume, mm (one value or (row, col)). Required for a
            physical size from PNG/JPEG/TIFF; for DICOM it overrides the file (source "assumed").

    Raises:
        InputError: missing file, folder, CT/MR data, multi-frame file, undecodable pixels, …
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(path, "is a folder; a radiograph is a single file")
    if not path.exists():
        raise InputError(path, "no such file")
    if volume_format(path) is not None:
        raise InputError(path, "is a volume file (a CT?), not a radiograph")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        radiograph = read_image_file(path)
    else:
        radiograph = _read_dicom_radiograph(path)
    if spacing_mm is not None:
        _assume_spacing(radiograph, spacing_mm)
    return radiograph


def _assume_spacing(radiograph: Radiograph, spacing_mm: float | tuple[float, float]) -> None:
    row, col = (spacing_mm, spacing_mm) if isinstance(spacing_mm, int | float) else spacing_mm
    if not (math.isfinite(row) and math.isfinite(col)) or row <= 0 or col <= 0:
        raise ValueError(f"--spacing-mm must be a positive finite number of mm, got {spacing_mm}")
    if radiograph.spacing_source != "unknown":
        radiograph.meta.setdefault("notes", []).append(
            f"file spacing {radiograph.pixel_spacing_mm} ({radiograph.spacing_source}) overridden"
        )
    radiograph.pixel_spacing_mm = (float(row), float(col))
    radiograph.spacing_source = "assumed"
    radiograph.calibrated_spacing_mm = None


def _check_is_single_radiograph(dataset: Dataset, path: Path) -> str:
    modality = str(dataset.get("Modality", "")).upper()
    if modality in VOLUME_MODALITIES:
        raise InputError(path, f"is a {modality} image, not a radiograph")
    frames = number_of_frames(dataset)
    if frames > 1:
        raise InputError(path, f"multi-frame DICOM ({frames} frames); a radiograph has one frame")
    return modality


def _read_dicom_radiograph(path: Path) -> Radiograph:
    dataset = read_dicom(path)
    modality = _check_is_single_radiograph(dataset, path)
    check_header_size(_int_attribute(dataset, "Rows"), _int_attribute(dataset, "Columns"), str(path))
    values, photometric_handling = _bone_bright_values(dataset, path)
    spacing = tags.read_spacing(dataset)
    meta = _dicom_meta(dataset, path, modality, photometric_handling, spacing)
    return Radiograph(
        array=values,
        pixel_spacing_mm=spacing.pixel_spacing_mm,
        spacing_source=spacing.spacing_source,
        calibrated_spacing_mm=spacing.calibrated_spacing_mm,
        sid_mm=spacing.sid_mm,
        sod_mm=spacing.sod_mm,
        magnification=spacing.magnification,
        presentation=tags.presentation_intent(dataset),
        view=str(dataset.get("ViewPosition", "")).strip() or None,
        laterality=tags.laterality(dataset),
        age_years=tags.patient_age_years(dataset),
        sex=tags.patient_sex(dataset),
        meta=meta,
    )


def _int_attribute(dataset: Dataset, keyword: str) -> int:
    try:
        return int(dataset.get(keyword, 0) or 0)
    except (TypeError, ValueError):
        return 0


def _bone_bright_values(dataset: Dataset, path: Path) -> tuple[npt.NDArray[np.float32], str]:
    """Stored pixels → modality LUT → bone bright, and a sentence saying what was done."""
    stored = pixel_array(dataset, path)
    photometric = str(dataset.get("PhotometricInterpretation", "")).strip().upper()
    if stored.ndim == 3 and stored.shape[-1] in (3, 4):
        warnings.warn(f"{path}: colour ({photometric}) radiograph converted to grey", InputWarning, 2)
        return rgb_to_grey(stored), f"{photometric} converted to grey (luminance)"
    if stored.ndim != 2:
        raise InputError(path, f"pixel data of shape {stored.shape} is not a single 2-D image")
    values = np.asarray(apply_modality_lut(stored, dataset), dtype=np.float32)
    if photometric == "MONOCHROME1":
        low, high = _modality_output_range(dataset)
        return (low + high - values).astype(np.float32), "MONOCHROME1 inverted (bone bright)"
    if photometric == "MONOCHROME2":
        return values, "MONOCHROME2 kept (bone bright)"
    return values, f"{photometric or 'unknown photometric'} kept as stored"


def _modality_output_range(dataset: Dataset) -> tuple[float, float]:
    """Smallest and largest value the modality LUT can output for this file's stored bit depth."""
    bits = int(dataset.get("BitsStored", dataset.get("BitsAllocated", 16)))
    signed = int(dataset.get("PixelRepresentation", 0)) == 1
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    inputs = np.asarray([low, high], dtype=np.int64)  # a linear rescale maps ends to ends
    if "ModalityLUTSequence" in dataset:  # a table need not be monotonic: map all of its inputs
        descriptor = [int(v) for v in dataset.ModalityLUTSequence[0].LUTDescriptor]
        first, entries = descriptor[1], descriptor[0] or 65536
        inputs = np.arange(first, first + entries, dtype=np.int64)
    mapped = np.asarray(apply_modality_lut(inputs, dataset), dtype=np.float64)
    return float(mapped.min()), float(mapped.max())


def _dicom_meta(
    dataset: Dataset, path: Path, modality: str, photometric: str, spacing: tags.SpacingInfo
) -> dict[str, Any]:
    syntax = getattr(getattr(dataset, "file_meta", None), "TransferSyntaxUID", None)
    modality_lut = (
        "ModalityLUTSequence"
        if "ModalityLUTSequence" in dataset
        else (
            "RescaleSlopeIntercept" if "RescaleSlope" in dataset or "RescaleIntercept" in dataset else "none"
        )
    )
    orientation, orientation_notes = tags.orientation_notes(dataset)
    return {
        "source": str(path),
        "format": "DICOM",
        "sop_instance_uid": str(dataset.get("SOPInstanceUID", "")) or None,
        "patient_orientation": orientation,
        "modality": modality or None,
        "sop_class": getattr(dataset.get("SOPClassUID"), "name", None),
        "transfer_syntax": getattr(syntax, "name", None),
        "has_preamble": bool(getattr(dataset, "preamble", None)),
        "manufacturer": str(dataset.get("Manufacturer", "")) or None,
        "photometric_interpretation": str(dataset.get("PhotometricInterpretation", "")) or None,
        "photometric_handling": photometric,
        "modality_lut": modality_lut,
        "bits_stored": int(dataset.get("BitsStored", 0)) or None,
        "magnification_source": spacing.magnification_source,
        "notes": [*spacing.notes, *orientation_notes],
        **tags.display_attributes(dataset),
    }
