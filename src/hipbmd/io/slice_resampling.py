"""Put a tilted or unevenly spaced CT stack onto a regular orthogonal grid.

The stack is indexed (column i, row j, slice k) as in the series reader.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import ndimage

AIR_HU = -1024.0


def remove_tilt(
    stack: npt.NDArray[np.float32],
    in_plane_offsets_mm: npt.NDArray[np.float64],
    pixel_spacing_mm: tuple[float, float],
) -> npt.NDArray[np.float32]:
    """Shift each slice in-plane so all slices share the first slice's origin (gantry-tilt correction).

    Args:
        stack: (columns, rows, slices) values in HU.
        in_plane_offsets_mm: per slice (along-row-direction, along-column-direction) offset of its
            origin from the first slice's, in mm.
        pixel_spacing_mm: (row spacing, column spacing) as in DICOM PixelSpacing.

    A voxel (i, j) of output slice k lies at origin_0 + i·Δc·r + j·Δr·c, which is source pixel
    (i − dx_k/Δc, j − dy_k/Δr) of slice k; samples falling outside the slice are air.
    """
    row_spacing, column_spacing = pixel_spacing_mm
    out = np.empty_like(stack)
    for k in range(stack.shape[2]):
        shift_px = (
            in_plane_offsets_mm[k, 0] / column_spacing,
            in_plane_offsets_mm[k, 1] / row_spacing,
        )
        out[:, :, k] = ndimage.shift(stack[:, :, k], shift_px, order=1, mode="constant", cval=AIR_HU)
    return out


def resample_slices_uniform(
    stack: npt.NDArray[np.float32],
    positions_mm: npt.NDArray[np.float64],
    step_mm: float,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float64]]:
    """Linearly interpolate slices at uneven positions onto a regular step.

    Returns:
        The resampled stack and the new slice positions (mm along the normal, starting at the first).
    """
    count = int(np.floor((positions_mm[-1] - positions_mm[0]) / step_mm + 1e-6)) + 1
    targets = positions_mm[0] + step_mm * np.arange(count)
    fractional = np.interp(targets, positions_mm, np.arange(len(positions_mm), dtype=np.float64))
    lower = np.clip(np.floor(fractional).astype(int), 0, len(positions_mm) - 2)
    weight = (fractional - lower).astype(np.float32)
    out = stack[:, :, lower] * (1.0 - weight) + stack[:, :, lower + 1] * weight
    return out.astype(np.float32), targets
