"""Read a CT DICOM series from a folder into a :class:`~hipbmd.types.Volume` (HU, RAS+ mm).

The folder may hold several series (choose one by SeriesInstanceUID) and stray non-DICOM files.
Slices are ordered by position; missing slices are an error; gantry tilt and uneven spacing are
resampled onto a regular orthogonal grid with a warning.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset
from pydicom.pixels.processing import apply_modality_lut

from hipbmd.errors import InputError, InputWarning
from hipbmd.io.dicom_file import number_of_frames, pixel_array, read_dicom
from hipbmd.io.slice_geometry import (
    DuplicateSliceError,
    SliceGapError,
    StackGeometry,
    stack_geometry,
)
from hipbmd.io.slice_resampling import remove_tilt, resample_slices_uniform
from hipbmd.types import Volume

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
RADIOGRAPH_MODALITIES = {"CR", "DX", "RG", "MG", "IO", "PX", "XA", "RF"}


@dataclass
class _Slice:
    path: Path
    header: Dataset


def list_series(folder: str | Path) -> dict[str, list[_Slice]]:
    """Group the DICOM image files under ``folder`` (recursively) by SeriesInstanceUID.

    Files that are not DICOM are skipped; DICOM files without pixel data (e.g. DICOMDIR) too.
    """
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    if not files:
        raise InputError(folder, "empty folder: no files to read")
    groups: dict[str, list[_Slice]] = defaultdict(list)
    for path in files:
        try:
            header = read_dicom(path, stop_before_pixels=False)
        except InputError as error:
            if error.problem == "not a DICOM file":
                continue
            raise
        if "PixelData" in header:
            groups[str(header.get("SeriesInstanceUID", "")) or "unknown"].append(_Slice(path, header))
        elif _is_image(header):
            raise InputError(path, "image header without pixel data (truncated file?)")
    if not groups:
        raise InputError(folder, "no DICOM images in folder")
    return dict(groups)


def _is_image(header: Dataset) -> bool:
    """The file claims to be an image (by its attributes or its storage class), not e.g. a DICOMDIR."""
    if "Rows" in header or "ImagePositionPatient" in header:
        return True
    meta = getattr(header, "file_meta", None)
    storage = getattr(meta, "MediaStorageSOPClassUID", None) if meta is not None else None
    return "Image Storage" in str(getattr(storage, "name", ""))


def describe_series(slices: list[_Slice]) -> str:
    """One-line description of a series: modality, image count and description."""
    first = slices[0].header
    description = str(first.get("SeriesDescription", "")).strip()
    text = f"{first.get('Modality', '?')}, {len(slices)} image(s)"
    return f"{text}, '{description}'" if description else text


def select_series(
    groups: dict[str, list[_Slice]], folder: Path, series_uid: str | None
) -> tuple[str, list[_Slice]]:
    """Pick the requested series, or the only one; otherwise fail listing the choices."""
    if series_uid is not None:
        if series_uid not in groups:
            raise InputError(folder, f"no series with UID {series_uid}; found {_choices(groups)}")
        return series_uid, groups[series_uid]
    if len(groups) > 1:
        raise InputError(
            folder,
            f"{len(groups)} series in folder, choose one with --series UID: {_choices(groups)}",
        )
    uid, slices = next(iter(groups.items()))
    return uid, slices


def _choices(groups: dict[str, list[_Slice]]) -> str:
    return "; ".join(f"{uid} ({describe_series(s)})" for uid, s in groups.items())


def check_is_ct(slices: list[_Slice], source: Path) -> None:
    """Refuse series that are not single-frame CT with at least two slices."""
    first = slices[0].header
    modality = str(first.get("Modality", "")).upper()
    if modality in RADIOGRAPH_MODALITIES:
        raise InputError(source, f"is a radiograph ({modality}), not a CT series")
    if modality != "CT":
        raise InputError(source, f"is a {modality or 'unknown-modality'} series, not CT")
    frames = number_of_frames(first)
    if frames > 1:
        raise InputError(
            slices[0].path,
            f"multi-frame DICOM ({frames} frames) is not supported; export single-frame slices",
        )
    if len(slices) < 2:
        raise InputError(source, "only one CT slice: a volume needs at least two")


def _shared_value(slices: list[_Slice], keyword: str, source: Path) -> npt.NDArray[np.float64]:
    """An attribute that must be the same on every slice (orientation, spacing, size)."""
    values = []
    for item in slices:
        if keyword not in item.header:
            raise InputError(item.path, f"CT slice without {keyword}")
        values.append(_numbers(item, keyword, _SHARED_LENGTHS[keyword]))
    stacked = np.stack(values)
    if not np.allclose(stacked, stacked[0], atol=1e-4):
        raise InputError(source, f"slices differ in {keyword}; the series is not one volume")
    return np.asarray(stacked[0], dtype=np.float64)


def read_ct_series(folder: str | Path, series_uid: str | None = None) -> Volume:
    """Read one CT series from a folder as HU on a regular grid, world RAS+ mm.

    Args:
        folder: folder of DICOM files (searched recursively).
        series_uid: SeriesInstanceUID to read when the folder holds several series.

    Raises:
        InputError: empty folder, no DICOM, several series and none chosen, not CT, multi-frame,
            inconsistent or missing slices, undecodable pixel data.
    """
    folder = Path(folder)
    uid, slices = select_series(list_series(folder), folder, series_uid)
    check_is_ct(slices, folder)
    orientation = _shared_value(slices, "ImageOrientationPatient", folder)
    spacing = _shared_value(slices, "PixelSpacing", folder)
    _shared_value(slices, "Rows", folder)
    _shared_value(slices, "Columns", folder)
    positions = np.stack([_position(item) for item in slices])
    try:
        geometry = stack_geometry(positions, orientation)
    except (SliceGapError, DuplicateSliceError) as error:
        raise InputError(folder, str(error)) from error
    ordered = [slices[int(i)] for i in geometry.order]
    stack = np.stack([_hu_slice(item) for item in ordered], axis=2)
    stack, resampling = _regularise(stack, geometry, (float(spacing[0]), float(spacing[1])), folder)
    affine = _affine_ras(orientation, spacing, positions[geometry.order[0]], geometry.step_mm)
    meta = _series_meta(folder, uid, ordered, geometry, resampling)
    return Volume(stack, affine, "HU", meta)


def _position(item: _Slice) -> npt.NDArray[np.float64]:
    if "ImagePositionPatient" not in item.header:
        raise InputError(item.path, "CT slice without ImagePositionPatient")
    return _numbers(item, "ImagePositionPatient", 3)


_SHARED_LENGTHS = {"ImageOrientationPatient": 6, "PixelSpacing": 2, "Rows": 1, "Columns": 1}


def _numbers(item: _Slice, keyword: str, length: int) -> npt.NDArray[np.float64]:
    """A numeric attribute with the expected number of finite values (and sane geometry)."""
    try:
        values = np.asarray(item.header.get(keyword), dtype=np.float64).ravel()
    except (TypeError, ValueError) as error:
        raise InputError(item.path, f"{keyword} is not numeric") from error
    if values.size != length or not np.all(np.isfinite(values)):
        raise InputError(item.path, f"{keyword} must hold {length} finite number(s), got {values.tolist()}")
    if keyword in ("PixelSpacing", "Rows", "Columns") and np.any(values <= 0):
        raise InputError(item.path, f"{keyword} must be positive, got {values.tolist()}")
    if keyword == "ImageOrientationPatient":
        row, column = values[:3], values[3:]
        if (
            min(np.linalg.norm(row), np.linalg.norm(column)) < 0.5
            or np.linalg.norm(np.cross(row, column)) < 0.5
        ):
            raise InputError(item.path, f"ImageOrientationPatient is degenerate: {values.tolist()}")
    return values


def _hu_slice(item: _Slice) -> npt.NDArray[np.float32]:
    """One slice in HU (modality LUT applied), indexed (column, row)."""
    stored = pixel_array(item.header, item.path)
    if stored.ndim != 2:
        raise InputError(item.path, f"CT slice has shape {stored.shape}, expected 2-D greyscale")
    hounsfield = np.asarray(apply_modality_lut(stored, item.header), dtype=np.float32)
    return np.ascontiguousarray(hounsfield.T)


def _regularise(
    stack: npt.NDArray[np.float32],
    geometry: StackGeometry,
    pixel_spacing_mm: tuple[float, float],
    folder: Path,
) -> tuple[npt.NDArray[np.float32], list[str]]:
    """Correct gantry tilt and uneven spacing, warning about each."""
    done: list[str] = []
    if geometry.tilt_deg > 0.0:
        stack = remove_tilt(stack, geometry.in_plane_offsets_mm, pixel_spacing_mm)
        done.append(f"gantry tilt of {geometry.tilt_deg:.2f} deg removed by in-plane shifts")
    if geometry.uneven:
        stack, _ = resample_slices_uniform(stack, geometry.normal_positions_mm, geometry.step_mm)
        done.append(f"uneven slice spacing resampled to {geometry.step_mm:.3f} mm")
    for message in done:
        warnings.warn(f"{folder}: {message}", InputWarning, stacklevel=3)
    return stack, done


def _affine_ras(
    orientation: npt.NDArray[np.float64],
    pixel_spacing: npt.NDArray[np.float64],
    first_position: npt.NDArray[np.float64],
    step_mm: float,
) -> npt.NDArray[np.float64]:
    """Voxel (column, row, slice) → RAS+ mm for an orthogonal stack starting at the first slice."""
    row_direction, column_direction = orientation[:3], orientation[3:]
    normal = np.cross(row_direction, column_direction)
    affine_lps = np.eye(4)
    affine_lps[:3, 0] = row_direction * pixel_spacing[1]
    affine_lps[:3, 1] = column_direction * pixel_spacing[0]
    affine_lps[:3, 2] = normal * step_mm
    affine_lps[:3, 3] = first_position
    return LPS_TO_RAS @ affine_lps


def _series_meta(
    folder: Path, uid: str, ordered: list[_Slice], geometry: StackGeometry, resampling: list[str]
) -> dict[str, Any]:
    first = ordered[0].header
    syntax = getattr(getattr(first, "file_meta", None), "TransferSyntaxUID", None)
    return {
        "source": str(folder),
        "format": "DICOM series",
        "series_uid": uid,
        "series_description": str(first.get("SeriesDescription", "")),
        "manufacturer": str(first.get("Manufacturer", "")),
        "transfer_syntax": getattr(syntax, "name", str(syntax)),
        "slice_count": len(ordered),
        "slice_step_mm": geometry.step_mm,
        "gantry_tilt_deg": geometry.tilt_deg,
        "resampling": resampling,
        "files_in_order": [item.path.name for item in ordered],
        "kvp": _float_or_none(first.get("KVP")),
        "convolution_kernel": str(first.get("ConvolutionKernel", "")),
        "patient_age": str(first.get("PatientAge", "")),
        "patient_sex": str(first.get("PatientSex", "")),
    }


def _float_or_none(value: object) -> float | None:
    try:
        return float(str(value))
    except (TypeError, ValueError):
        return None
