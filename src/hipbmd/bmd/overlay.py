"""The picture of what was measured: the radiograph with each hip's crop, and per hip the crop, the
predicted femur DRR with the regions drawn, and the numbers.

Crops of left hips are shown as the network saw them (mirrored into the right-hip orientation); the
title says so. The neck box is drawn as its rectangle, total hip and proximal femur as the outline of
their bone pixels.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hipbmd.decomposition.crop import CropGrid, crop_to_image
from hipbmd.types import Radiograph

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from hipbmd.bmd.estimate import HipEstimate

_COLOURS = {"neck": "#e6194b", "total_hip": "#3cb44b", "proximal_femur": "#4363d8"}


def save_overlay(
    path: Path, radiograph: Radiograph, hips: list[HipEstimate], grid: CropGrid, title: str
) -> Path:
    """Write the overlay PNG for one radiograph and its hip estimates (see the module docstring)."""
    from matplotlib.figure import Figure

    columns = 1 + 2 * max(len(hips), 1)
    figure = Figure(figsize=(3.2 * columns, 4.4), dpi=110)
    axes = figure.subplots(1, columns, squeeze=False)[0]
    _radiograph_panel(axes[0], radiograph, hips, grid)
    for index, hip in enumerate(hips):
        _hip_panels(axes[1 + 2 * index], axes[2 + 2 * index], hip)
    for axis in axes[1 + 2 * len(hips) :]:
        axis.set_axis_off()
    figure.suptitle(title, fontsize=9)
    figure.subplots_adjust(left=0.01, right=0.99, top=0.86, bottom=0.02, wspace=0.05)
    partial = path.with_name(path.name + ".partial.png")
    figure.savefig(partial)
    partial.replace(path)
    return path


def _radiograph_panel(axis: Axes, radiograph: Radiograph, hips: list[HipEstimate], grid: CropGrid) -> None:
    image = np.asarray(radiograph.array, dtype=np.float32)
    low, high = np.percentile(image, [1, 99])
    axis.imshow(image, cmap="gray", vmin=low, vmax=high)
    for hip in hips:
        if hip.placement is None:
            continue
        rows, cols = grid.shape
        corners = crop_to_image(
            [[0, 0], [0, cols - 1], [rows - 1, cols - 1], [rows - 1, 0], [0, 0]], grid, hip.placement
        )
        axis.plot(corners[:, 1], corners[:, 0], color="yellow", linewidth=1.0)
        axis.text(corners[0, 1], corners[0, 0], hip.side, color="yellow", fontsize=8, va="bottom")
    axis.set_title("radiograph", fontsize=8)
    axis.set_axis_off()


def _hip_panels(crop_axis: Axes, drr_axis: Axes, hip: HipEstimate) -> None:
    mirrored = " (mirrored)" if hip.placement is not None and hip.placement.mirror else ""
    crop_axis.set_title(f"{hip.side} hip{mirrored}", fontsize=8)
    crop_axis.set_axis_off()
    drr_axis.set_axis_off()
    if hip.crop is not None:
        crop_axis.imshow(hip.crop, cmap="gray", vmin=0, vmax=1)
    if hip.drr is None:
        drr_axis.text(
            0.5, 0.5, "\n".join(hip.flags) or "not measured", ha="center", va="center", fontsize=7, wrap=True
        )
        return
    image = hip.drr.mean_g_cm2
    drr_axis.imshow(image, cmap="magma", vmin=0.0, vmax=max(float(np.percentile(image, 99.5)), 0.1))
    femur = hip.femur
    if femur is not None and femur.rois is not None:
        for name in ("proximal_femur", "total_hip"):
            drr_axis.contour(
                (femur.rois.masks[name] & femur.bone).astype(float),
                levels=[0.5],
                colors=_COLOURS[name],
                linewidths=0.9,
            )
        corners = np.vstack([femur.rois.neck_box_corners_px, femur.rois.neck_box_corners_px[:1]])
        drr_axis.plot(corners[:, 1], corners[:, 0], color=_COLOURS["neck"], linewidth=1.1)
    drr_axis.set_title("predicted femur DRR (g/cm²)", fontsize=8)
    drr_axis.text(
        0.02, 0.02, _numbers(hip), transform=drr_axis.transAxes, color="white", fontsize=7, va="bottom"
    )


def _numbers(hip: HipEstimate) -> str:
    lines = []
    for m in hip.measurements:
        if m.abmd_g_cm2 is None:
            lines.append(f"{m.roi}: withheld")
            continue
        t = "" if m.t_score is None else f", T {m.t_score:+.1f}"
        interval = (
            "" if m.interval_g_cm2 is None else f" [{m.interval_g_cm2[0]:.2f}–{m.interval_g_cm2[1]:.2f}]"
        )
        lines.append(f"{m.roi}: {m.abmd_g_cm2:.3f} g/cm²{interval}{t}")
    if hip.category is not None:
        lines.append(hip.category.describe())
    flags = [flag for flag in hip.flags if not flag.startswith("landmarks:")]
    return "\n".join(lines + [f"! {flag}" for flag in flags[:3]])
