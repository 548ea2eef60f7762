"""Read volume files (NIfTI with nibabel; NRRD and MetaImage with SimpleITK) without reorienting."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hipbmd.errors import InputError
from hipbmd.types import Volume, VolumeUnit

_FORMATS = {
    ".nii": "NIfTI",
    ".nii.gz": "NIfTI",
    ".nrrd": "NRRD",
    ".nhdr": "NRRD",
    ".mha": "MetaImage",
    ".mhd": "MetaImage",
}
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def volume_format(path: Path) -> str | None:
    """The volume format implied by the file name, or None."""
    name = path.name.lower()
    for suffix, fmt in _FORMATS.items():
        if name.endswith(suffix):
            return fmt
    return None


def read_volume_file(path: Path, unit: VolumeUnit) -> Volume:
    """Read a 3-D volume file as stored (array axes as in the file, affine to RAS+ mm)."""
    fmt = volume_format(path)
    try:
        array, affine = _read_nifti(path) if fmt == "NIfTI" else _read_itk(path)
    except InputError:
        raise
    except Exception as error:
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise InputError(path, f"cannot read {fmt} file ({first_line})") from error
    array = _as_3d(array, path)
    meta = {"source": str(path), "format": fmt}
    return Volume(array, affine, unit, meta)


def _read_nifti(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import nibabel as nib

    image = nib.load(str(path))
    if not isinstance(image, nib.Nifti1Image | nib.Nifti2Image):
        raise InputError(path, f"not a NIfTI image ({type(image).__name__})")
    return np.asarray(image.get_fdata(dtype=np.float32)), np.asarray(image.affine, dtype=np.float64)


def _read_itk(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """SimpleITK reads in LPS with (z, y, x) arrays; return (x, y, z) and a RAS affine."""
    import SimpleITK as sitk

    image = sitk.ReadImage(str(path))
    if image.GetDimension() != 3:
        raise InputError(path, f"is a {image.GetDimension()}-D image, not a 3-D volume")
    array = sitk.GetArrayFromImage(image).astype(np.float32).transpose(2, 1, 0)
    direction = np.asarray(image.GetDirection(), dtype=np.float64).reshape(3, 3)
    affine_lps = np.eye(4)
    affine_lps[:3, :3] = direction * np.asarray(image.GetSpacing())
    affine_lps[:3, 3] = image.GetOrigin()
    return array, LPS_TO_RAS @ affine_lps


def _as_3d(array: np.ndarray, path: Path) -> np.ndarray:
    """Drop trailing singleton axes; refuse 2-D images and true 4-D series."""
    while array.ndim > 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 3 and min(array.shape) == 1:
        raise InputError(path, "has a single slice: a 2-D image (a radiograph?), not a CT volume")
    if array.ndim == 2:
        raise InputError(path, "is a 2-D image (a radiograph?), not a CT volume")
    if array.ndim != 3:
        raise InputError(path, f"is a {array.ndim}-D image; a CT volume has 3 dimensions")
    return array
