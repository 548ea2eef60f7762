"""An analytic femur areal-density image (a uniform DRR) built from simple shapes with known geometry.

Right femur, AP view (rows superior → inferior, the head to the viewer's right of the shaft); lengths in
mm, a pixel's centre at (row, col) × spacing. The shaft is a vertical band (half-width 14 mm) whose
axis crosses the neck axis at the neck base; the neck is an hourglass band around the neck axis
(half-width 12 + 0.012·(t − 30)² mm at t ≥ 15 mm from the head centre, at most 22 mm; it starts inside
the head); the head a disc; the
greater trochanter a disc lateral to the shaft axis; the lesser trochanter a disc centred on the
shaft's medial edge, so its tip is the most medial point of that edge. ``tilt_deg`` turns the whole
femur about the neck base (positive: the distal shaft moves medially, as in hip adduction).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

HEIGHT_MM, WIDTH_MM = 170.0, 120.0
SHAFT_COL_MM = 40.0
SHAFT_HALF_WIDTH_MM = 14.0
NECK_BASE_ROW_MM = 75.0
NECK_LENGTH_MM = 55.0  # neck base → head centre
HEAD_RADIUS_MM = 22.0
NECK_WAIST_MM = (30.0, 12.0)  # distance from the head centre, half-width
GREATER = ((56.0, 30.0), 12.0)  # centre (row, col) mm, radius mm
LESSER_ROW_MM = 115.0
LESSER_RADIUS_MM = 6.0
SHAFT_TOP_MM = 50.0


@dataclass(frozen=True)
class Phantom:
    """The image and its true landmarks ((row, col) px)."""

    image_g_cm2: np.ndarray
    spacing_mm: float
    head_centre_px: tuple[float, float]
    head_radius_mm: float
    neck_shaft_angle_deg: float
    lesser_trochanter_px: tuple[float, float]
    neck_base_px: tuple[float, float]


def femur(
    spacing_mm: float = 0.5,
    density_g_cm2: float = 1.0,
    neck_shaft_angle_deg: float = 130.0,
    side: str = "right",
    lesser: bool = True,
    height_mm: float = HEIGHT_MM,
    tilt_deg: float = 0.0,
) -> Phantom:
    """The phantom image of a ``side`` femur (a left one is the mirrored right one)."""
    shape = (round(height_mm / spacing_mm), round(WIDTH_MM / spacing_mm))
    base = np.array([NECK_BASE_ROW_MM, SHAFT_COL_MM])
    turn = _rotation(tilt_deg)
    grid = np.indices(shape) * spacing_mm - base[:, None, None]
    rows, cols = np.einsum("ji,jhw->ihw", turn, grid) + base[:, None, None]  # untilted coordinates
    angle = math.radians(neck_shaft_angle_deg)
    up = np.array([math.cos(angle), math.sin(angle)])  # neck base → head, (row, col)
    head = base + NECK_LENGTH_MM * up
    t = (head[0] - rows) * up[0] + (head[1] - cols) * up[1]  # from the head centre towards the base
    across = (rows - head[0]) * up[1] - (cols - head[1]) * up[0]
    waist_t, waist_half = NECK_WAIST_MM
    half_width = np.minimum(waist_half + 0.012 * (t - waist_t) ** 2, 22.0)
    inside = (t >= 15.0) & (t <= NECK_LENGTH_MM + 10.0) & (np.abs(across) <= half_width)
    inside |= (rows - head[0]) ** 2 + (cols - head[1]) ** 2 <= HEAD_RADIUS_MM**2
    inside |= (np.abs(cols - SHAFT_COL_MM) <= SHAFT_HALF_WIDTH_MM) & (rows >= SHAFT_TOP_MM)
    (g_row, g_col), g_radius = GREATER
    inside |= (rows - g_row) ** 2 + (cols - g_col) ** 2 <= g_radius**2
    lesser_col = SHAFT_COL_MM + SHAFT_HALF_WIDTH_MM
    if lesser:
        inside |= (rows - LESSER_ROW_MM) ** 2 + (cols - lesser_col) ** 2 <= LESSER_RADIUS_MM**2
    image = np.where(inside, density_g_cm2, 0.0).astype(np.float32)
    points = {"head": head, "lesser": np.array([LESSER_ROW_MM, lesser_col + LESSER_RADIUS_MM]), "base": base}
    points = {k: base + turn @ (v - base) for k, v in points.items()}
    pixels = {k: (float(v[0] / spacing_mm), float(v[1] / spacing_mm)) for k, v in points.items()}
    if side == "left":
        image = np.ascontiguousarray(image[:, ::-1])
        pixels = {k: (v[0], shape[1] - 1.0 - v[1]) for k, v in pixels.items()}
    return Phantom(
        image,
        spacing_mm,
        pixels["head"],
        HEAD_RADIUS_MM,
        neck_shaft_angle_deg,
        pixels["lesser"],
        pixels["base"],
    )


def _rotation(tilt_deg: float) -> np.ndarray:
    """(row, col) rotation turning the distal shaft (+row) towards +col by ``tilt_deg``."""
    c, s = math.cos(math.radians(tilt_deg)), math.sin(math.radians(tilt_deg))
    return np.array([[c, -s], [s, c]])
