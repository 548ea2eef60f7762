"""The perturbations of benchmarks/perturbations.py: each changes a radiograph's pixels (and maybe its
grid) and says where the original pixels went, written here independently of the simulator's styles."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class Changed:
    """A changed image, its pixel spacing (mm), the map from original pixels to its pixels, and the part
    of it that still shows the patient (top, bottom, left, right; bottom and right exclusive)."""

    array: np.ndarray
    spacing_mm: tuple[float, float]
    to_new: Callable[[np.ndarray], np.ndarray]
    shown_px: tuple[int, int, int, int] | None = None

    def shows(self, point_px: np.ndarray) -> bool:
        """Whether a (row, col) point lies on the part of the image that shows the patient."""
        top, bottom, left, right = self.shown_px or (0, *self.array.shape[:1], 0, self.array.shape[1])
        return bool(top <= point_px[0] < bottom and left <= point_px[1] < right)


Perturbation = Callable[[np.ndarray, tuple[float, float], np.random.Generator], Changed]


def same_grid(array: np.ndarray, spacing: tuple[float, float]) -> Changed:
    """A change of grey levels only: the pixels stay where they were."""
    return Changed(array.astype(np.float32), spacing, lambda p: p)


def _unit(array: np.ndarray) -> tuple[np.ndarray, float, float]:
    """The image scaled so that its 0.5–99.5th percentiles span 0–1, with the scale's low and span."""
    low, high = np.percentile(array, [0.5, 99.5])
    span = max(float(high - low), 1e-6)
    return np.clip((array - low) / span, 0.0, 1.0), float(low), span


def rotate(degrees: float) -> Perturbation:
    """The image turned by ``degrees`` about its centre (same size; corners outside filled with air)."""

    def change(array: np.ndarray, spacing: tuple[float, float], rng: np.random.Generator) -> Changed:
        angle = math.radians(degrees)
        # rotation in mm (spacings may differ per axis), as a pixel map output → input
        scale = np.diag(spacing)
        turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        to_input = np.linalg.inv(scale) @ turn.T @ scale
        centre = (np.asarray(array.shape, dtype=np.float64) - 1.0) / 2.0
        offset = centre - to_input @ centre
        air = float(np.percentile(array, 0.5))
        moved = ndimage.affine_transform(array, to_input, offset, order=1, cval=air)
        to_output = np.linalg.inv(to_input)

        def to_new(points: np.ndarray) -> np.ndarray:
            return (np.asarray(points) - offset) @ to_output.T

        return Changed(moved.astype(np.float32), spacing, to_new)

    return change


def resample(factor: float) -> Perturbation:
    """A detector grid ``factor`` times coarser (>1) or finer (<1), anti-aliased, spacing updated."""

    def change(array: np.ndarray, spacing: tuple[float, float], rng: np.random.Generator) -> Changed:
        smooth = ndimage.gaussian_filter(array, 0.5 * math.sqrt(factor**2 - 1.0)) if factor > 1 else array
        shape = tuple(max(1, round(n / factor)) for n in array.shape)
        steps = [array.shape[axis] / shape[axis] for axis in (0, 1)]
        rows, cols = np.meshgrid(
            *[(np.arange(shape[a]) + 0.5) * steps[a] - 0.5 for a in (0, 1)], indexing="ij"
        )
        moved = ndimage.map_coordinates(smooth, [rows, cols], order=1, mode="nearest")
        new_spacing = (spacing[0] * steps[0], spacing[1] * steps[1])

        def to_new(points: np.ndarray) -> np.ndarray:
            return (np.asarray(points) + 0.5) / np.asarray(steps) - 0.5

        return Changed(moved.astype(np.float32), new_spacing, to_new)

    return change


def crop(share: float) -> Perturbation:
    """``share`` of each dimension cut away, half from each side (a tight collimation or export)."""

    def change(array: np.ndarray, spacing: tuple[float, float], rng: np.random.Generator) -> Changed:
        cut = [round(n * share / 2.0) for n in array.shape]
        moved = array[cut[0] : array.shape[0] - cut[0], cut[1] : array.shape[1] - cut[1]]
        return Changed(moved.astype(np.float32), spacing, lambda p: np.asarray(p) - np.asarray(cut))

    return change


def border(share: float, bright: bool) -> Perturbation:
    """A collimation border: the outer ``share`` of each side set to air (black) or to the brightest
    value (a shutter drawn white), the image keeping its size."""

    def change(array: np.ndarray, spacing: tuple[float, float], rng: np.random.Generator) -> Changed:
        moved = array.copy()
        value = float(array.max() if bright else np.percentile(array, 0.5))
        rows, cols = (max(1, round(n * share)) for n in array.shape)
        moved[:rows], moved[-rows:], moved[:, :cols], moved[:, -cols:] = value, value, value, value
        shown = (rows, array.shape[0] - rows, cols, array.shape[1] - cols)
        return Changed(moved.astype(np.float32), spacing, lambda p: p, shown)

    return change


def gamma(power: float) -> Perturbation:
    """Grey levels raised to ``power`` on the 0–1 range (a different tone curve)."""

    def change(array: np.ndarray, spacing: tuple[float, float], rng: np.random.Generator) -> Changed:
        unit, low, span = _unit(array)
        return same_grid(low + span * unit**power, spacing)

    return change


def noise(sd_share: float) -> Perturbation:
    """Gaussian noise of SD ``sd_share`` of the grey-level range (a low dose or a noisy detector)."""

    def change(array: np.ndarray, spacing: tuple[float, float], rng: np.random.Generator) -> Changed:
        _, _, span = _unit(array)
        return same_grid(array + rng.normal(0.0, sd_share * span, array.shape), spacing)

    return change


def blur(sigma_mm: float) -> Perturbation:
    """A Gaussian blur of ``sigma_mm`` at the detector (a soft detector, a smoothing export)."""

    def change(array: np.ndarray, spacing: tuple[float, float], rng: np.random.Generator) -> Changed:
        return same_grid(ndimage.gaussian_filter(array, [sigma_mm / s for s in spacing]), spacing)

    return change


def sharpen(sigma_mm: float, amount: float) -> Perturbation:
    """Unsharp masking: the image plus ``amount`` × (image − blur of ``sigma_mm``) (edge enhancement)."""

    def change(array: np.ndarray, spacing: tuple[float, float], rng: np.random.Generator) -> Changed:
        smooth = ndimage.gaussian_filter(array, [sigma_mm / s for s in spacing])
        return same_grid(array + amount * (array - smooth), spacing)

    return change


def equalise(clip: float) -> Perturbation:
    """Contrast-limited adaptive histogram equalisation (scikit-image's CLAHE, clip limit ``clip``)."""

    def change(array: np.ndarray, spacing: tuple[float, float], rng: np.random.Generator) -> Changed:
        from skimage.exposure import equalize_adapthist

        unit, _, _ = _unit(array)
        return same_grid(equalize_adapthist(unit, clip_limit=clip), spacing)

    return change


def quantise(levels: int) -> Perturbation:
    """Grey levels rounded to ``levels`` steps over the 0–1 range (an 8-bit export)."""

    def change(array: np.ndarray, spacing: tuple[float, float], rng: np.random.Generator) -> Changed:
        unit, _, _ = _unit(array)
        return same_grid(np.round(unit * (levels - 1)) / (levels - 1), spacing)

    return change


def jpeg(quality: int) -> Perturbation:
    """An 8-bit JPEG export at ``quality`` (Pillow), read back."""

    def change(array: np.ndarray, spacing: tuple[float, float], rng: np.random.Generator) -> Changed:
        from PIL import Image

        unit, _, _ = _unit(array)
        buffer = io.BytesIO()
        Image.fromarray(np.round(unit * 255).astype(np.uint8)).save(buffer, format="JPEG", quality=quality)
        buffer.seek(0)
        return same_grid(np.asarray(Image.open(buffer), dtype=np.float32) / 255.0, spacing)

    return change


def marker() -> Perturbation:
    """A burnt-in side marker and label: a bright block with dark letters in a top corner, a text line."""

    def change(array: np.ndarray, spacing: tuple[float, float], rng: np.random.Generator) -> Changed:
        moved = array.copy()
        bright, dark = float(array.max()), float(np.percentile(array, 0.5))
        size = [round(30.0 / s) for s in spacing]  # a 3 cm block
        top, left = [round(15.0 / s) for s in spacing]
        if rng.random() < 0.5:
            left = array.shape[1] - left - size[1]
        moved[top : top + size[0], left : left + size[1]] = bright
        bar = max(1, size[1] // 6)
        moved[top + bar : top + size[0] - bar, left + 2 * bar : left + 3 * bar] = dark  # an "L"
        moved[top + size[0] - 2 * bar : top + size[0] - bar, left + 2 * bar : left + size[1] - bar] = dark
        line_top = top + size[0] + round(8.0 / spacing[0])
        line = slice(line_top, line_top + max(1, round(5.0 / spacing[0])))
        moved[line, left : left + 4 * size[1]] = bright  # a printed label line
        return same_grid(moved, spacing)

    return change


PERTURBATIONS: dict[str, Perturbation] = {
    "rotate +10 deg": rotate(10.0),
    "rotate -10 deg": rotate(-10.0),
    "rotate +20 deg": rotate(20.0),
    "grid 2x coarser": resample(2.0),
    "grid 1.5x finer": resample(1 / 1.5),
    "crop 30 %": crop(0.30),
    "black border 8 %": border(0.08, bright=False),
    "white border 8 %": border(0.08, bright=True),
    "gamma 0.6": gamma(0.6),
    "gamma 1.7": gamma(1.7),
    "noise 4 %": noise(0.04),
    "blur 1 mm": blur(1.0),
    "unsharp 5 mm x2": sharpen(5.0, 2.0),
    "CLAHE 0.02": equalise(0.02),
    "8-bit": quantise(256),
    "JPEG q40": jpeg(40),
    "burnt-in marker": marker(),
}
