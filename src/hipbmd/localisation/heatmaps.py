"""Landmark heatmaps: Gaussian targets, the left–right mirror of a landmark set, and sub-pixel peaks.

A landmark at (r₀, c₀) working pixels has the target h(r, c) = exp(−((r − r₀)² + (c − c₀)²) / (2σ²)),
peak 1; an absent landmark (NaN coordinates) has an all-zero target. The peak of a predicted heatmap
is refined to sub-pixel precision by a parabola through the logarithm of the maximum and its two
neighbours along each axis — exact for a sampled Gaussian, whose logarithm is a parabola:
δ = (ℓ₋ − ℓ₊) / (2 (ℓ₋ − 2ℓ₀ + ℓ₊)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

LANDMARKS = ("right_head", "right_lesser_trochanter", "left_head", "left_lesser_trochanter")
# Implant channels: a Gaussian at a hip's head centre when that hip holds metal (arthroplasty, screws),
# nothing otherwise; a localiser with them detects implants over both hips of every radiograph.
IMPLANT_CHANNELS = ("right_implant", "left_implant")
LANDMARKS_WITH_IMPLANTS = LANDMARKS + IMPLANT_CHANNELS
# Region channels: the points that place the DXA-like regions without fitting shapes to an image: the
# narrowest neck, the neck base (where the neck axis meets the shaft axis), a point further down the shaft
# axis and the greater trochanter's tip.
REGION_POINTS = ("neck_narrowest", "neck_base", "shaft_distal", "greater_trochanter")
REGION_LANDMARKS = tuple(f"{side}_{point}" for side in ("right", "left") for point in REGION_POINTS)
LANDMARKS_WITH_REGIONS = LANDMARKS_WITH_IMPLANTS + REGION_LANDMARKS
LOG_FLOOR = 1e-6


@dataclass(frozen=True)
class Peak:
    """The maximum of one heatmap: sub-pixel (row, col) in the heatmap's pixels and its height."""

    row: float
    col: float
    height: float


def gaussian_heatmaps(
    points: npt.ArrayLike, shape: tuple[int, int], sigma_px: float
) -> npt.NDArray[np.float32]:
    """Targets (K, H, W) for K landmarks (K, 2) (row, col); a NaN landmark gets an all-zero map."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    rows = np.arange(shape[0], dtype=np.float64)[:, None]
    cols = np.arange(shape[1], dtype=np.float64)[None, :]
    maps = np.zeros((len(points), *shape), dtype=np.float32)
    for index, (row, col) in enumerate(points):
        if np.isfinite(row) and np.isfinite(col):
            squared = (rows - row) ** 2 + (cols - col) ** 2
            maps[index] = np.exp(-squared / (2.0 * sigma_px**2))
    return maps


def mirrored_order(names: tuple[str, ...]) -> list[int]:
    """Channel order after a left–right mirror: each "right_…" channel trades places with its "left_…"."""
    swapped = [
        name.replace("right_", "left_", 1)
        if name.startswith("right_")
        else name.replace("left_", "right_", 1)
        for name in names
    ]
    return [names.index(name) for name in swapped]


def mirror_landmarks(
    points: npt.ArrayLike, width: int, names: tuple[str, ...] = LANDMARKS
) -> npt.NDArray[np.float64]:
    """Landmarks (K, 2) named ``names`` of an image mirrored left–right (W columns): columns reflected,
    sides swapped.

    After the mirror the patient's right hip looks like a left hip in the standard AP display, so the
    right and left channels trade places (:func:`mirrored_order`).
    """
    mirrored = np.array(points, dtype=np.float64)[mirrored_order(names)]
    mirrored[:, 1] = (width - 1) - mirrored[:, 1]
    return mirrored


def find_peak(heatmap: npt.NDArray[np.floating[Any]]) -> Peak:
    """Sub-pixel maximum of one heatmap (H, W) by a log-parabola fit per axis (clamped to ±1 pixel)."""
    row, col = (int(i) for i in np.unravel_index(int(np.argmax(heatmap)), heatmap.shape))
    height = float(heatmap[row, col])
    logs = np.log(np.maximum(np.asarray(heatmap, dtype=np.float64), LOG_FLOOR))
    delta_row = _parabola_offset(logs[max(row - 1, 0) : row + 2, col], row, heatmap.shape[0])
    delta_col = _parabola_offset(logs[row, max(col - 1, 0) : col + 2], col, heatmap.shape[1])
    return Peak(float(row) + delta_row, float(col) + delta_col, height)


def find_peaks(heatmaps: npt.NDArray[np.floating[Any]]) -> list[Peak]:
    """:func:`find_peak` of each channel of (K, H, W)."""
    return [find_peak(channel) for channel in heatmaps]


def _parabola_offset(values: npt.NDArray[np.float64], index: int, length: int) -> float:
    if index == 0 or index == length - 1 or len(values) != 3:
        return 0.0
    below, centre, above = values
    curvature = below - 2.0 * centre + above
    if curvature >= 0.0:  # flat or not a maximum: keep the pixel
        return 0.0
    return float(np.clip((below - above) / (2.0 * curvature), -1.0, 1.0))
