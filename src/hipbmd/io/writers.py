"""Writers for projection images: NumPy, NIfTI and 16-bit PNG, each with a JSON sidecar.

The data keep their physical units (g/cm² or dimensionless μ·l). A PNG is a picture: its grey levels are
value / full_scale × 65535 with full_scale recorded in the sidecar, so the values can be recovered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hipbmd.io.records import write_json

IMAGE_OUTPUTS = (".npy", ".nii.gz", ".nii", ".png")


def output_kind(path: Path) -> str:
    """The output format implied by a file name, or a ValueError listing the supported ones."""
    name = path.name.lower()
    for suffix in IMAGE_OUTPUTS:
        if name.endswith(suffix):
            return suffix
    raise ValueError(f"{path}: unsupported output, use one of {', '.join(IMAGE_OUTPUTS)}")


def sidecar_path(path: Path) -> Path:
    """``out.png`` → ``out.json`` (``out.nii.gz`` → ``out.json``)."""
    name = path.name
    for suffix in IMAGE_OUTPUTS:
        if name.lower().endswith(suffix):
            return path.with_name(name[: -len(suffix)] + ".json")
    return path.with_suffix(".json")


def write_projection(
    images: npt.NDArray[np.float32],
    path: Path,
    pixel_spacing_mm: tuple[float, float],
    metadata: dict[str, Any],
) -> list[Path]:
    """Write (H, W) or (L, H, W) images and a JSON sidecar; returns the files written.

    For PNG with several images, one file per image is written (``out_0.png``, ``out_1.png``, …).
    """
    kind = output_kind(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = dict(metadata, pixel_spacing_mm=list(pixel_spacing_mm), shape=list(images.shape))
    if kind == ".npy":
        np.save(path, images.astype(np.float32))
        written = [path]
    elif kind in (".nii", ".nii.gz"):
        written = [_write_nifti(images, path, pixel_spacing_mm)]
    else:
        written, record["png_full_scale"] = _write_pngs(images, path)
    sidecar = sidecar_path(path)
    write_json(sidecar, record)
    return [*written, sidecar]


def _write_nifti(images: npt.NDArray[np.float32], path: Path, spacing: tuple[float, float]) -> Path:
    """NIfTI with axes (row, column[, image]) and the detector pixel spacing as voxel size."""
    import nibabel as nib

    stacked = images if images.ndim == 3 else images[None]
    affine = np.diag([spacing[0], spacing[1], 1.0, 1.0])
    nib.save(nib.Nifti1Image(np.moveaxis(stacked, 0, -1).astype(np.float32), affine), str(path))
    return path


def _write_pngs(images: npt.NDArray[np.float32], path: Path) -> tuple[list[Path], float]:
    from PIL import Image

    full_scale = float(images.max()) if images.max() > 0 else 1.0
    stacked = images if images.ndim == 3 else images[None]
    written = []
    for index, image in enumerate(stacked):
        grey = np.round(np.clip(image / full_scale, 0.0, 1.0) * 65535).astype(np.uint16)
        target = path if len(stacked) == 1 else path.with_name(f"{path.name[:-4]}_{index}.png")
        Image.fromarray(grey).save(target)
        written.append(target)
    return written, full_scale
