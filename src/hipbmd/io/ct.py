"""Read a CT as a :class:`~hipbmd.types.Volume` in HU, world RAS+ mm, array in RAS index order.

Formats: a DICOM series folder, NIfTI (.nii, .nii.gz), NRRD (.nrrd, .nhdr) and MetaImage (.mha, .mhd).
Label maps are read with :func:`read_labels`, optionally straight onto a CT's grid.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np

from hipbmd.errors import InputError
from hipbmd.io.dicom_file import number_of_frames, read_dicom
from hipbmd.io.dicom_series import RADIOGRAPH_MODALITIES, read_ct_series
from hipbmd.io.image_file import IMAGE_SUFFIXES
from hipbmd.io.orientation import labels_on_grid, to_canonical
from hipbmd.io.volume_files import read_volume_file, volume_format
from hipbmd.types import Volume

_MAX_LABEL = 255
CTUnit = Literal["HU", "mg/cm3"]


def read_ct(path: str | Path, series_uid: str | None = None, unit: CTUnit = "HU") -> Volume:
    """Read a CT (DICOM series folder, NIfTI, NRRD or MetaImage) as HU in RAS index order.

    Args:
        path: a folder of DICOM files or a volume file.
        series_uid: SeriesInstanceUID to pick when a folder holds several series.
        unit: what a volume file holds: "HU", or "mg/cm3" for a calibrated density volume (a DICOM
            series is always HU).

    Raises:
        InputError: with the path and the problem, for anything that is not a readable CT volume.
    """
    path = Path(path)
    if path.is_dir():
        if unit != "HU":
            raise InputError(path, "a DICOM series holds HU; calibrate it to mg/cm3 first")
        volume = read_ct_series(path, series_uid)
    elif not path.exists():
        raise InputError(path, "no such file or folder")
    elif volume_format(path) is not None:
        volume = read_volume_file(path, unit)
        if unit == "HU":
            _refuse_label_map(volume, path)
    else:
        _refuse_non_volume(path)
        raise AssertionError("unreachable")  # pragma: no cover
    return to_canonical(volume)


def read_labels(path: str | Path, like: Volume | None = None) -> Volume:
    """Read a label map (NIfTI/NRRD/MetaImage), in RAS index order, optionally on ``like``'s grid."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file")
    if volume_format(path) is None:
        raise InputError(path, "labels must be a NIfTI, NRRD or MetaImage file")
    volume = read_volume_file(path, "label")
    if not np.array_equal(volume.array, np.rint(volume.array)):
        raise InputError(path, "label map has non-integer values")
    labels = _as_labels(volume)
    return labels if like is None else labels_on_grid(labels, like, path)


def _as_labels(volume: Volume) -> Volume:
    values = np.rint(volume.array).astype(np.int32)
    return to_canonical(Volume(values, volume.affine, "label", volume.meta))


def is_label_map(values: np.ndarray) -> bool:
    """A CT always holds negative HU (air); non-negative integers up to 255 make a label map."""
    low, high = float(values.min()), float(values.max())
    return low >= 0 and high <= _MAX_LABEL and bool(np.array_equal(values, np.rint(values)))


def _refuse_label_map(volume: Volume, path: Path) -> None:
    if is_label_map(volume.array):
        high = float(volume.array.max())
        raise InputError(path, f"looks like a label map (integers 0..{high:.0f}), not a CT")


def read_volume(path: str | Path) -> Volume:
    """Read a volume file once and return it as labels or as a CT, whichever it holds."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file")
    volume = read_volume_file(path, "HU")
    if is_label_map(volume.array):
        return _as_labels(volume)
    return to_canonical(volume)


def _refuse_non_volume(path: Path) -> None:
    """Explain why a single file that is not a volume format cannot be a CT."""
    if path.suffix.lower() in IMAGE_SUFFIXES:
        raise InputError(path, "is a 2-D image (a radiograph?), not a CT volume")
    header = read_dicom(path, stop_before_pixels=True)
    modality = str(header.get("Modality", "")).upper()
    if modality in RADIOGRAPH_MODALITIES:
        raise InputError(path, f"is a radiograph ({modality}), not a CT")
    frames = number_of_frames(header)
    if frames > 1:
        raise InputError(path, f"multi-frame DICOM ({frames} frames) is not supported")
    if modality == "CT":
        raise InputError(path, "is a single CT slice; give the folder that holds the series")
    raise InputError(path, f"is a {modality or 'unknown-modality'} DICOM file, not a CT")
