"""A PNG of a DXA-position femur image with its regions of interest and their aBMD.

Uses matplotlib's Agg renderer through a bare ``Figure`` (no pyplot, no display, no global state).
matplotlib is imported only here, when a picture is asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt

from hipbmd.femur.roi import HipROIs

_COLOURS = {"neck": "#ffcc00", "total_hip": "#33ccff", "proximal_femur": "#ff6699"}
_LABELS = {"neck": "Neck", "total_hip": "Total hip", "proximal_femur": "Proximal femur"}


def save_roi_png(
    path: str | Path,
    image_g_cm2: npt.ArrayLike,
    rois: HipROIs,
    measurements: Mapping[str, Mapping[str, float]],
    bone: npt.NDArray[np.bool_] | None = None,
    title: str | None = None,
    dpi: int = 150,
) -> Path:
    """Write the image (grey, 0 to its 99.5th percentile in g/cm²) with the region outlines and aBMD.

    The neck box is drawn as its rectangle; the total hip and proximal femur as the outline of their
    bone pixels. Returns the path written.
    """
    from matplotlib.figure import Figure

    image = np.asarray(image_g_cm2, dtype=np.float64)
    bone = image > 0 if bone is None else bone
    top = float(np.percentile(image[bone], 99.5)) if bone.any() else 1.0
    rows, cols = image.shape
    lines = [
        (name, f"{_LABELS.get(name, name)}: {values['abmd_g_cm2']:.3f} g/cm²  ({values['area_cm2']:.2f} cm²)")
        for name, values in measurements.items()
    ]
    if title:
        lines.insert(0, ("", title))
    image_height_in, line_in = 5.0 * rows / cols, 0.16
    band_in = line_in * len(lines) + 0.1
    figure = Figure(figsize=(5.0, image_height_in + band_in), dpi=dpi)
    total_in = image_height_in + band_in
    axes = figure.add_axes((0.0, 0.0, 1.0, image_height_in / total_in))
    axes.imshow(image, cmap="gray", vmin=0.0, vmax=top, interpolation="nearest")
    axes.set_axis_off()
    for name in ("proximal_femur", "total_hip"):
        if name in rois.masks:
            region = (rois.masks[name] & bone).astype(float)
            axes.contour(region, levels=[0.5], colors=_COLOURS[name], linewidths=1.0)
    corners = np.vstack([rois.neck_box_corners_px, rois.neck_box_corners_px[:1]])
    axes.plot(corners[:, 1], corners[:, 0], color=_COLOURS["neck"], linewidth=1.2)
    for index, (name, text) in enumerate(lines):
        y = 1.0 - (0.05 + line_in * (index + 0.5)) / total_in
        figure.text(0.02, y, text, color=_COLOURS.get(name, "white"), fontsize=7, va="center")
    target = Path(path)
    figure.savefig(target, format="png", facecolor="black")
    return target
