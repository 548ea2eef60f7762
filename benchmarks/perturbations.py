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
  original and changed: a perturbation that moves the number should raise one;
* unflagged: the total hip's |change| (median, 90th percentile) over the hips whose original carries no
  such flag (those partly off the image, for one, are expected to move more).

Usage:  .venv/bin/python benchmarks/perturbations.py --cohort DIR [--cohort DIR ...] [--limit N]
        [--samples 8] [--only NAME ...] [--output benchmarks/results_perturbations.txt]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import pearsonr

sys.path.insert(0, str(Path(__file__).parent))
from perturbation_kinds import PERTURBATIONS, Changed, same_grid
from robustness import ROIS, _nearest_hip

MOVED_G_CM2 = 0.05


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
        outcomes = []
        for side in ("right", "left"):
            head = changed.to_new(np.asarray(truth.head_centre_px(side), dtype=np.float64))
            inside = changed.shows(head)
            hip = _nearest_hip(result.hips, head, changed.spacing_mm)
            index_native = side == truth.index_side and truth.implant_side != side
            outcome = HipResult(inside, hip is not None, index_native)
            if hip is not None:
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
    clear = np.abs(
        [c.estimate_g_cm2["total_hip"] - o.estimate_g_cm2["total_hip"] for o, c in both if not o.withheld]
    )
    if clear.size:
        parts.append(
            f"unflagged total_hip |change| median {np.median(clear):.3f} p90 {np.percentile(clear, 90):.3f} "
            f"(n {clear.size})"
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
            original += runner.hips(radiograph, truth, same_grid(radiograph.array, spacing))
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
