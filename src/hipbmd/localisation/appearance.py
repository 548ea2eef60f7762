"""Random changes of a training view's look that leave its landmarks where they are.

A localiser trained on one simulator learns that simulator's look and context: its pelvis, its image
processing, what lies around a femoral head. These perturbations take those cues away so that the
network has to find the head and its femur by their own form:

- **sharpness**: a Gaussian blur (a softer detector or a coarser CT behind a simulation) or an unsharp
  mask of random radius and gain (edge enhancement as in many processing chains);
- **tone**: a random smooth monotone curve through the normalised grey levels (another look-up table);
- **edges**: a step of grey level across the view along a straight line of random place and direction,
  or a band between two such lines, with a soft or sharp rim (the edge of an abdominal fold or of
  clothing, a film or plate overlap, a scan or stitching seam); unlike occlusions these may cross a head,
  which stays visible under them;
- **occlusions**: rectangles away from the head centres filled with flat grey or noise (collimator
  blades, lead markers, overlying objects), which also cut the context the head could be guessed from.
  The pixels they cover are returned, so that a landmark under one is left out of the loss rather than
  taught as present where nothing shows it.

All work on a normalised working image (0–1 between its 1st and 99th percentiles).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class AppearanceSettings:
    """Probabilities and ranges of the appearance perturbations (lengths in working pixels).

    Attributes:
        blur: share of views blurred, with σ drawn from ``blur_sigma_px``.
        sharpen: share of views given an unsharp mask of radius ``sharpen_sigma_px`` and gain
            ``sharpen_gain`` (a view is blurred or sharpened, not both).
        tone: share of views passed through a random monotone curve.
        tone_knots: inner knots of the curve (its steepness varies between them).
        edge: share of views given a grey-level edge (half of them a band between two parallel edges).
        edge_step: range of the edge's step (normalised grey, either sign).
        edge_rim_px: range of the width over which the step rises (0: sharp).
        band_width_px: range of the distance between a band's two edges.
        occlusion: share of views with occluding rectangles, 1 to ``max_occlusions`` of them.
        occlusion_size_px: edge range of a rectangle.
        keep_clear_px: no rectangle comes this close to a head centre.
    """

    blur: float = 0.25
    blur_sigma_px: tuple[float, float] = (0.5, 1.5)
    sharpen: float = 0.25
    sharpen_sigma_px: tuple[float, float] = (1.0, 8.0)
    sharpen_gain: tuple[float, float] = (0.3, 1.5)
    tone: float = 0.5
    tone_knots: int = 4
    edge: float = 0.3
    edge_step: tuple[float, float] = (0.1, 0.5)
    edge_rim_px: tuple[float, float] = (0.0, 4.0)
    band_width_px: tuple[float, float] = (10.0, 60.0)
    occlusion: float = 0.4
    max_occlusions: int = 3
    occlusion_size_px: tuple[int, int] = (8, 40)
    keep_clear_px: float = 12.0

    @classmethod
    def off(cls) -> AppearanceSettings:
        """No perturbation at all."""
        return cls(blur=0.0, sharpen=0.0, tone=0.0, edge=0.0, occlusion=0.0)


@dataclass(frozen=True)
class PerturbedLook:
    """A view's image after the perturbations, and the pixels an occlusion covers (H, W)."""

    image: FloatArray
    hidden: npt.NDArray[np.bool_]


def perturb_appearance(
    image: FloatArray,
    valid: npt.NDArray[np.bool_],
    heads: npt.NDArray[np.float64],
    settings: AppearanceSettings,
    rng: np.random.Generator,
) -> PerturbedLook:
    """``image`` (H, W, normalised) with random sharpness, edges, tone and occlusions; ``heads`` (M, 2)
    are the working (row, col) points no occlusion may cover (NaN rows are ignored)."""
    result = np.asarray(image, dtype=np.float32)
    hidden = np.zeros(result.shape, dtype=bool)
    draw = rng.random()
    if draw < settings.blur:
        result = ndimage.gaussian_filter(result, rng.uniform(*settings.blur_sigma_px))
    elif draw < settings.blur + settings.sharpen:
        result = unsharp(result, rng.uniform(*settings.sharpen_sigma_px), rng.uniform(*settings.sharpen_gain))
    if rng.random() < settings.edge:
        result = add_edge(result, settings, rng)
    if rng.random() < settings.tone:
        result = tone_curve(result, random_curve(settings.tone_knots, rng))
    if rng.random() < settings.occlusion:
        result, hidden = occlude(result, valid, heads, settings, rng)
    return PerturbedLook(result.astype(np.float32), hidden)


def add_edge(image: FloatArray, settings: AppearanceSettings, rng: np.random.Generator) -> FloatArray:
    """``image`` plus a grey-level step across a random straight line through the view, or (half the
    time) a band between two parallel lines; the step rises over a rim of random width."""
    through = rng.uniform(0.0, 1.0, 2) * np.asarray(image.shape, dtype=np.float64)
    angle = rng.uniform(0.0, np.pi)
    step = rng.uniform(*settings.edge_step) * rng.choice([-1.0, 1.0])
    rim = rng.uniform(*settings.edge_rim_px)
    band = rng.uniform(*settings.band_width_px) if rng.random() < 0.5 else None
    added = edge_pattern(image.shape, (float(through[0]), float(through[1])), angle, rim, band)
    return np.asarray(image + step * added, dtype=np.float32)


def edge_pattern(
    shape: tuple[int, ...],
    through_px: tuple[float, float],
    angle_rad: float,
    rim_px: float,
    band_width_px: float | None = None,
) -> npt.NDArray[np.float64]:
    """A unit grey-level step (H, W): 0 before the line through ``through_px`` (row, col) whose normal
    points at ``angle_rad`` from the row axis, 1 beyond it, rising over ``rim_px`` (a logistic; sharp at
    0); with ``band_width_px``, back to 0 that far beyond (a band)."""
    rows, cols = np.indices(shape[-2:], dtype=np.float64)
    distance = (rows - through_px[0]) * np.cos(angle_rad) + (cols - through_px[1]) * np.sin(angle_rad)
    beyond = _soft_step(distance, rim_px)
    if band_width_px is not None:
        beyond = beyond - _soft_step(distance - band_width_px, rim_px)
    return beyond


def _soft_step(distance_px: npt.NDArray[np.float64], rim_px: float) -> npt.NDArray[np.float64]:
    """0 before the line, 1 beyond it, rising over ``rim_px`` (a logistic; a sharp step at 0)."""
    if rim_px <= 0.0:
        return (distance_px >= 0.0).astype(np.float64)
    return np.asarray(0.5 * (1.0 + np.tanh(distance_px / rim_px)), dtype=np.float64)


def unsharp(image: FloatArray, sigma_px: float, gain: float) -> FloatArray:
    """Unsharp mask: image + gain × (image − its Gaussian blur of σ ``sigma_px``)."""
    return np.asarray(image + gain * (image - ndimage.gaussian_filter(image, sigma_px)), dtype=np.float32)


def random_curve(knots: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """A monotone curve on 0–1 as its values at ``knots + 2`` equally spaced inputs (0 → 0, 1 → 1): the
    increments between knots are drawn from a Dirichlet distribution, so every slope stays positive."""
    increments = rng.dirichlet(np.full(knots + 1, 2.0))
    return np.concatenate([[0.0], np.cumsum(increments)])


def tone_curve(image: FloatArray, curve: npt.NDArray[np.float64]) -> FloatArray:
    """Grey levels mapped through ``curve`` (values at equally spaced inputs on 0–1); the levels outside
    0–1 continue with the end slopes, so the order of grey levels is kept everywhere."""
    inputs = np.linspace(0.0, 1.0, len(curve))
    inside = np.interp(np.clip(image, 0.0, 1.0), inputs, curve)
    step = inputs[1]
    low_slope, high_slope = (curve[1] - curve[0]) / step, (curve[-1] - curve[-2]) / step
    below, above = np.minimum(image, 0.0), np.maximum(image - 1.0, 0.0)
    return np.asarray(inside + low_slope * below + high_slope * above, dtype=np.float32)


def occlude(
    image: FloatArray,
    valid: npt.NDArray[np.bool_],
    heads: npt.NDArray[np.float64],
    settings: AppearanceSettings,
    rng: np.random.Generator,
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Up to ``max_occlusions`` rectangles, each flat or noisy grey, none within ``keep_clear_px`` of a
    head (a rectangle that would be is not drawn); returns the image and the pixels covered (H, W)."""
    result = image.copy()
    hidden = np.zeros(image.shape, dtype=bool)
    rows, cols = image.shape
    points = heads[np.all(np.isfinite(heads), axis=1)]
    for _ in range(int(rng.integers(1, settings.max_occlusions + 1))):
        height, width = rng.integers(settings.occlusion_size_px[0], settings.occlusion_size_px[1] + 1, 2)
        top, left = int(rng.integers(0, max(1, rows - height))), int(rng.integers(0, max(1, cols - width)))
        bottom, right = top + int(height), left + int(width)
        nearest_row = np.clip(points[:, 0], top, bottom)
        nearest_col = np.clip(points[:, 1], left, right)
        if np.any(np.hypot(points[:, 0] - nearest_row, points[:, 1] - nearest_col) < settings.keep_clear_px):
            continue
        level = rng.uniform(-0.1, 1.2)
        fill = level + rng.normal(0.0, rng.uniform(0.0, 0.15), (bottom - top, right - left))
        result[top:bottom, left:right] = fill[: rows - top, : cols - left]
        hidden[top:bottom, left:right] = True
    hidden &= np.asarray(valid, dtype=bool)
    return np.where(valid, result, image).astype(np.float32), hidden
