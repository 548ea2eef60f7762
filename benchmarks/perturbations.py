"""How much the estimate moves when a radiograph is changed the way other sites and exports change it.

Each held-out radiograph is read once and then changed by every perturbation below, one at a time; the
estimate runs on the original and on each changed copy, with the models loaded once. The perturbations
are written here, independently of the simulator's own styles (``hipbmd.sim.processing``), so that they
test what the training views did not draw:

* geometry, with the truth's head centres mapped along (pixel spacing kept true to the new pixels):
  in-plane rotation of the whole image (a tilted pelvis or cassette), a coarser or finer detector grid,
  a tight crop, a black or white collimation border (a head under it counts as outside the image);
* grey levels: gamma, Gaussian noise, Gaussian blur (a soft detector or export), unsharp masking (edge
  enhancement), adaptive histogram equalisation (CLAHE, scikit-image), 8-bit quantisation, JPEG at
  quality 40 (Pillow), a burnt-in marker (a bright block with letters) near the top corner.

Printed per perturbation, over the hips of the radiographs:

* found: hips whose head centre (mapped) lies inside the image with a reported head within 5 mm;
* measured: implant-free index hips with both regions measured, and how many of those the original
  image also had measured;
* moved: over the index hips measured on both, the median and 90th percentile of |change| of the
  estimate (g/cm²) at the neck and the total hip, and the share that moved more than 0.05 g/cm²;
* accuracy: r and MAE against DXA at the total hip over the hips measured on both, beside the original's
  figures on the same hips;
* flagged: how many of those hips carry a QC flag that withholds the category (``hipbmd.bmd.qc``),
  original and changed: a perturbation that moves the number should raise one.

Usage:  .venv/bin/python benchmarks/perturbations.py --cohort DIR [--cohort DIR ...] [--limit N]
        [--samples 8] [--only NAME ...] [--output benchmarks/results_perturbations.txt]
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage
from scipy.stats import pearsonr

FOUND_MM = 5.0
MOVED_G_CM2 = 0.05
ROIS = ("neck", "total_hip")


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


def _same(array: np.ndarray, spacing: tuple[float, float]) -> Changed:
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
        rows, cols = (round(n * share) for n in array.shape)
        moved[:rows], moved[-rows:], moved[:, :cols], moved[:, -cols:] = value, value, value, value
        shown = (rows, array.shape[0] - rows, cols, array.shape[1] - cols)
        return Changed(moved.astype(np.float32), spacing, lambda p: p, shown)

    return change


def gamma(power: float) -> Perturbation:
    """Grey levels raised to ``power`` on the 0–1 range (a different tone curve)."""

    def change(array: np.ndarray, spacing: tuple[float, float], rng: np.random.Generator) -> Changed:
        unit, low, span = _unit(array)
        return _same(low + span * unit**power, spacing)

    return change


def noise(sd_share: float) -> Perturbation:
    """Gaussian noise of SD ``sd_share`` of the grey-level range (a low dose or a noisy detector)."""

    def change(array: np.ndarray, spacing: tuple[float, float], rng: np.random.Generator) -> Changed:
        _, _, span = _unit(array)
        return _same(array + rng.normal(0.0, sd_share * span, array.shape), spacing)

    return change


def blur(sigma_mm: float) -> Perturbation:
    """A Gaussian blur of ``sigma_mm`` at the detector (a soft detector, a smoothing export)."""

    def change(array: np.ndarray, spacing: tuple[float, float], rng: np.random.Generator) -> Changed:
        return _same(ndimage.gaussian_filter(array, [sigma_mm / s for s in spacing]), spacing)

    return change


def sharpen(sigma_mm: float, amount: float) -> Perturbation:
    """Unsharp masking: the image plus ``amount`` × (image − blur of ``sigma_mm``) (edge enhancement)."""

    def change(array: np.ndarray, spacing: tuple[float, float], rng: np.random.Generator) -> Changed:
        smooth = ndimage.gaussian_filter(array, [sigma_mm / s for s in spacing])
        return _same(array + amount * (array - smooth), spacing)

    return change


def equalise(clip: float) -> Perturbation:
    """Contrast-limited adaptive histogram equalisation (scikit-image's CLAHE, clip limit ``clip``)."""

    def change(array: np.ndarray, spacing: tuple[float, float], rng: np.random.Generator) -> Changed:
        from skimage.exposure import equalize_adapthist

        unit, _, _ = _unit(array)
        return _same(equalize_adapthist(unit, clip_limit=clip), spacing)

    return change


def quantise(levels: int) -> Perturbation:
    """Grey levels rounded to ``levels`` steps over the 0–1 range (an 8-bit export)."""

    def change(array: np.ndarray, spacing: tuple[float, float], rng: np.random.Generator) -> Changed:
        unit, _, _ = _unit(array)
        return _same(np.round(unit * (levels - 1)) / (levels - 1), spacing)

    return change


def jpeg(quality: int) -> Perturbation:
    """An 8-bit JPEG export at ``quality`` (Pillow), read back."""

    def change(array: np.ndarray, spacing: tuple[float, float], rng: np.random.Generator) -> Changed:
        from PIL import Image

        unit, _, _ = _unit(array)
        buffer = io.BytesIO()
        Image.fromarray(np.round(unit * 255).astype(np.uint8)).save(buffer, format="JPEG", quality=quality)
        buffer.seek(0)
        return _same(np.asarray(Image.open(buffer), dtype=np.float32) / 255.0, spacing)

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
        return _same(moved, spacing)

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


@dataclass
class HipResult:
    """One true hip of one radiograph under one perturbation."""

    inside: bool
    found: bool
    index_native: bool
    estimate_g_cm2: dict[str, float] = field(default_factory=dict)
    withheld: bool = False
    dxa_g_cm2: dict[str, float] = field(default_factory=dict)

    @property
    def measured(self) -> bool:
        return all(roi in self.estimate_g_cm2 for roi in ROIS)


class Runner:
    """The models, loaded once, and the estimate of a changed radiograph against its truth."""

    def __init__(self, samples: int) -> None:
        from hipbmd.decomposition.model_files import load_decomposition_model
        from hipbmd.localisation.model_files import load_localiser

        self.model = load_decomposition_model(None)
        self.localiser = load_localiser(None)
        self.samples = samples

    def hips(self, radiograph: Any, truth: Any, changed: Changed) -> list[HipResult]:
        """Both true hips of a case on the changed image."""
        from hipbmd.bmd.estimate import EstimateSettings, estimate_hips
        from hipbmd.bmd.qc import WITHHOLDING

        image = replace(radiograph, array=changed.array, pixel_spacing_mm=changed.spacing_mm)
        result = estimate_hips(image, self.model, self.localiser, EstimateSettings(self.samples))
        spacing = np.asarray(changed.spacing_mm)
        outcomes = []
        for side in ("right", "left"):
            head = changed.to_new(np.asarray(truth.head_centre_px(side), dtype=np.float64))
            inside = changed.shows(head)
            near = [
                hip
                for hip in result.hips
                if float(np.hypot(*((np.asarray(hip.location.head_centre_px) - head) * spacing))) <= FOUND_MM
            ]
            index_native = side == truth.index_side and truth.implant_side != side
            outcome = HipResult(inside, bool(near), index_native)
            if near:
                hip = near[0]
                outcome.estimate_g_cm2 = {
                    m.roi: m.abmd_g_cm2 for m in hip.measurements if m.abmd_g_cm2 is not None
                }
                outcome.withheld = any(flag.startswith(WITHHOLDING) for flag in hip.flags)
            if index_native:
                outcome.dxa_g_cm2 = {roi: float(truth.dxa_g_cm2[roi]) for roi in ROIS}
            outcomes.append(outcome)
        return outcomes


def summarise(name: str, original: list[HipResult], changed: list[HipResult]) -> str:
    """One perturbation's line of figures (hips in the same order in both lists)."""
    inside = [c for c in changed if c.inside]
    found = sum(c.found for c in inside)
    index = [(o, c) for o, c in zip(original, changed, strict=True) if c.index_native]
    both = [(o, c) for o, c in index if o.measured and c.measured]
    parts = [
        f"{name:<18} found {found}/{len(inside)}",
        f"measured {sum(c.measured for _, c in index)}/{len(index)} ({len(both)} also on the original)",
    ]
    for roi in ROIS:
        moved = np.abs([c.estimate_g_cm2[roi] - o.estimate_g_cm2[roi] for o, c in both])
        if moved.size:
            parts.append(
                f"{roi} |change| median {np.median(moved):.3f} p90 {np.percentile(moved, 90):.3f} "
                f">{MOVED_G_CM2} {np.mean(moved > MOVED_G_CM2) * 100:.0f} %"
            )
    if len(both) >= 3:
        dxa = np.asarray([c.dxa_g_cm2["total_hip"] for _, c in both])
        before = np.asarray([o.estimate_g_cm2["total_hip"] for o, _ in both])
        after = np.asarray([c.estimate_g_cm2["total_hip"] for _, c in both])
        parts.append(
            f"total hip r {pearsonr(after, dxa)[0]:.3f} MAE {np.mean(np.abs(after - dxa)):.3f} "
            f"(original r {pearsonr(before, dxa)[0]:.3f} MAE {np.mean(np.abs(before - dxa)):.3f})"
        )
        parts.append(
            f"flagged {sum(c.withheld for _, c in both)}/{len(both)} "
            f"(original {sum(o.withheld for o, _ in both)})"
        )
    return "; ".join(parts)


def main() -> None:
    args = _parser().parse_args()
    from hipbmd.sim.case_truth import CaseTruth, read_case_radiograph

    runner = Runner(args.samples)
    names = args.only or list(PERTURBATIONS)
    original: list[HipResult] = []
    changed: dict[str, list[HipResult]] = {name: [] for name in names}
    started, count = time.perf_counter(), 0
    for cohort in map(Path, args.cohort):
        with (cohort / "manifest.csv").open(newline="") as stream:
            rows = list(csv.DictReader(stream))[: args.limit]
        for row in rows:
            truth = CaseTruth.read(cohort / "cases" / row["case_id"])
            radiograph = read_case_radiograph(cohort / row["xray"], truth)
            spacing = radiograph.pixel_spacing_mm
            original += runner.hips(radiograph, truth, _same(radiograph.array, spacing))
            for number, name in enumerate(names):
                rng = np.random.default_rng([args.seed, count, number])
                result = PERTURBATIONS[name](radiograph.array.astype(np.float64), spacing, rng)
                changed[name] += runner.hips(radiograph, truth, result)
            count += 1
            if count % 10 == 0:
                print(f"  {count} radiographs, {time.perf_counter() - started:.0f} s", flush=True)
    lines = [
        f"perturbations: {count} radiographs from " + ", ".join(Path(c).name for c in args.cohort),
        f"model sha256 {runner.model.sha256[:12]}, localiser sha256 "
        f"{runner.localiser.manifest['weights']['sha256'][:12]}, {args.samples} Monte-Carlo samples",
        summarise("original", original, original),
        *(summarise(name, original, changed[name]) for name in names),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output:
        Path(args.output).write_text(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohort", action="append", required=True, help="a simulated cohort (repeatable)")
    parser.add_argument("--limit", type=int, default=None, help="at most this many cases per cohort")
    parser.add_argument("--samples", type=int, default=8, help="Monte-Carlo samples per hip")
    parser.add_argument("--only", action="append", default=None, help="run only this perturbation")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=None, help="also write the figures to this file")
    return parser


if __name__ == "__main__":
    main()
