"""Read a CT as a :class:`~hipbmd.types.Volume` in HU, world RAS+ mm, array in RAS index order.

Formats: a DICOM series folder, NIfTI (.nii, .nii.gz), NRRD (.nrrd, .nhdr) and MetaImage (.mha, .mhd).
Label maps are read with :func:`read_labels`, optionally straight onto a CT's grid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hipbmd.errors import InputError
from hipbmd.io.dicom_file import number_of_frames, read_dicom
from hipbmd.io.dicom_series import RADIOGRAPH_MODALITIES, read_ct_series
from hipbmd.io.orientation import labels_on_grid, to_canonical
from hipbmd.io.volume_files import read_volume_file, volume_format
from hipbmd.types import Volume

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}


def read_ct(path: str | Path, series_uid: str | None = None) -> Volume:
    """Read a CT (DICOM series folder, NIfTI, NRRD or MetaImage) as HU in RAS index order.

    Args:
        path: a folder of DICOM files or a volume file.
        series_uid: SeriesInstanceUID to pick when a folder holds several series.

    Raises:
        InputError: with the path and the problem, for anything that is not a readable CT volume.
    """
    path = Path(path)
    if path.is_dir():
        volume = read_ct_series(path, series_uid)
    elif not path.exists():
        raise InputError(path, "no such file or folder")
    elif volume_format(path) is not None:
        volume = read_volume_file(path, "HU")
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
    rounded = np.rint(volume.array)
    if not np.allclose(volume.array, rounded):
        raise InputError(path, "label map has non-integer values")
    labels = to_canonical(Volume(rounded.astype(np.int32), volume.affine, "label", volume.meta))
    return labels if like is None else labels_on_grid(labels, like, path)


def _refuse_label_map(volume: Volume, path: Path) -> None:
    """A CT always holds negative HU (air); small non-negative integers are a label map."""
    values = volume.array
    low, high = float(values.min()), float(values.max())
    if low >= 0 and high <= 255 and np.array_equal(values, np.rint(values)):
        raise InputError(path, f"looks like a label map (integers {low:.0f}..{high:.0f}), not a CT")


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
