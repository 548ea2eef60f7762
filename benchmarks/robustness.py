"""How the radiograph path holds up on what it was not trained on: anatomy sources, regions, styles, sites.

Reads simulated cohorts made from the held-out side of every split (docs/simulator.md, "What is kept out of
training") and runs what ``hipbmd estimate`` runs on each radiograph, with the models loaded once. PNG and
JPEG exports carry no spacing; they are given their detector spacing, as a user must (``--spacing-mm``).

Printed per anatomy source, per style family (a named site's own processing counts as its site), and over
all radiographs:

* hips found: a reported hip whose head centre lies within 5 mm (at the detector) of a true head centre,
  over the hips whose head centre lies inside the image;
* hips measured: implant-free index hips found with a DXA-equivalent number for the neck and the total hip;
  beside it, the same over the hips whose regions the image holds in the truth (head centre, greater
  trochanter tip and the total hip's distal edge, 10 mm below the lesser trochanter along the shaft,
  inside the image); the other hips have part of a region beyond the image's edge (those with little
  of it beyond are still measured, flagged ``region_partly_off_image``);
* implant recall and false alarms (``implant_suspected``), over both hips of every radiograph found;
* per region (femoral neck, total hip): Pearson r, mean absolute error (g/cm²) and, at the neck, the AUC of
  the estimate for DXA osteoporosis (T-score <= -2.5), over the measured index hips against their DXA;
* the ceiling beside r: the true femur DRR in the radiograph's pose, cropped and measured the same way, r
  against DXA (what a perfect decomposition would reach with these regions).

Targets (issue "A radiograph path that survives radiographs from elsewhere"): found >= 98 %, measured >=
95 %, total hip r >= 0.95 and MAE <= 0.04, neck r >= 0.90 and MAE <= 0.045, implant recall >= 0.95 with
false alarms <= 2 % of native hips.

Usage:  .venv/bin/python benchmarks/robustness.py --cohort DIR [--cohort DIR ...] [--model DIR]
        [--localiser DIR] [--samples 8] [--limit N] [--output benchmarks/results_robustness.txt]
"""

from __future__ import annotations

import argparse
import csv
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import mannwhitneyu, pearsonr

from hipbmd.bmd.classify import t_score
from hipbmd.femur.roi import ROISettings
from hipbmd.sim.case_truth import CaseTruth

FOUND_MM = 5.0
NEAR_MM = 30.0  # a reported head this close is the same hip, for the head-centre error
ROIS = ("neck", "total_hip")


@dataclass
class HipOutcome:
    """One true hip of one radiograph and what the estimate made of it."""

    group_source: str
    group_style: str
    inside: bool
    found: bool
    index: bool
    implant: bool
    regions_on_image: bool | None = None  # the truth's head, greater trochanter, total-hip edge inside
    flagged_implant: bool = False
    estimate_g_cm2: dict[str, float] = field(default_factory=dict)
    dxa_g_cm2: dict[str, float] = field(default_factory=dict)
    ceiling_raw_g_cm2: dict[str, float] = field(default_factory=dict)
    head_error_mm: float | None = None
    not_measured: str | None = None
    landmarks: str | None = None  # "learnt" or "fitted" for a measured hip
    refused: str | None = None  # why the radiograph was said to hold no hip
    measurements: dict[str, Any] = field(default_factory=dict)  # region -> ROIMeasurement
    category: Any = None  # the hip's HipCategory
    ood_distance: float | None = None
    flags: tuple[str, ...] = ()

    @property
    def measured(self) -> bool:
        return all(self.estimate_g_cm2.get(roi) is not None for roi in ROIS)


class Runner:
    """The models, loaded once, and the estimate of one case's radiograph against its truth."""

    def __init__(self, args: argparse.Namespace) -> None:
        from hipbmd.decomposition.model_files import load_decomposition_model
        from hipbmd.localisation.model_files import load_localiser

        self.model = load_decomposition_model(Path(args.model) if args.model else None)
        self.localiser = load_localiser(Path(args.localiser) if args.localiser else None)
        self.samples = args.samples
        self.seconds: list[float] = []

    def case(self, cohort: Path, row: dict[str, str]) -> list[HipOutcome]:
        """Both true hips of one case with what was found, measured and flagged on them."""
        from hipbmd.bmd.estimate import EstimateSettings, estimate_hips
        from hipbmd.sim.case_truth import CaseTruth, read_case_radiograph

        folder = cohort / "cases" / row["case_id"]
        truth = CaseTruth.read(folder)
        path = cohort / row["xray"]
        started = time.perf_counter()
        radiograph = read_case_radiograph(path, truth)
        result = estimate_hips(radiograph, self.model, self.localiser, EstimateSettings(self.samples))
        self.seconds.append(time.perf_counter() - started)
        style = row.get("style", "site")
        group_style = row["site"] if style in ("site", "") else style
        ceiling = self._ceiling(cohort, row)
        outcomes = []
        for side in ("right", "left"):
            head = truth.head_centre_px(side)
            rows, cols = radiograph.shape
            inside = bool(0 <= head[0] < rows and 0 <= head[1] < cols)
            hip = _nearest_hip(result.hips, head, truth.radiograph.pixel_spacing_mm)
            closest = _nearest_hip(result.hips, head, truth.radiograph.pixel_spacing_mm, NEAR_MM)
            outcome = HipOutcome(
                row.get("anatomy", "parametric"),
                group_style,
                inside,
                hip is not None,
                side == truth.index_side,
                truth.implant_side == side,
                _regions_on_image(truth, side, radiograph.shape),
            )
            if closest is not None:
                offset = np.asarray(closest.location.head_centre_px) - head
                outcome.head_error_mm = float(np.hypot(*(offset * truth.radiograph.pixel_spacing_mm)))
            if hip is not None:
                reasons = [
                    f.removeprefix("not_measured: ") for f in hip.flags if f.startswith("not_measured")
                ]
                outcome.not_measured = reasons[0] if reasons else None
                learnt = "landmarks: landmarks_learnt" in hip.flags
                outcome.landmarks = (
                    None if hip.femur is None or not hip.femur.ok else ("learnt" if learnt else "fitted")
                )
                outcome.flagged_implant = any(flag.startswith("implant_suspected") for flag in hip.flags)
                outcome.estimate_g_cm2 = {
                    m.roi: m.abmd_g_cm2 for m in hip.measurements if m.abmd_g_cm2 is not None
                }
                outcome.measurements = {m.roi: m for m in hip.measurements}
                outcome.category, outcome.ood_distance = hip.category, hip.ood_distance
                outcome.flags = tuple(hip.flags)
            outcome.refused = result.no_hip_reason
            if outcome.index:
                outcome.dxa_g_cm2 = {roi: float(truth.dxa_g_cm2[roi]) for roi in ROIS}
                outcome.ceiling_raw_g_cm2 = ceiling.get(side, {})
            outcomes.append(outcome)
        return outcomes

    def _ceiling(self, cohort: Path, row: dict[str, str]) -> dict[str, dict[str, float]]:
        """The true femur DRR of each usable hip, cropped as the model crops and measured the same way."""
        from hipbmd.decomposition.data import case_pairs
        from hipbmd.femur.measure_2d import measure_femur_drr

        measured = {}
        for _, femur_drr, _, record in case_pairs(cohort, row, self.model.grid):
            result = measure_femur_drr(femur_drr, self.model.grid.spacing_mm, "right")
            measured[str(record["side"])] = dict(result.abmd_g_cm2)
        return measured


def _regions_on_image(truth: CaseTruth, side: str, shape: tuple[int, int]) -> bool | None:
    """Whether the truth's head centre, greater trochanter tip and the total hip's distal edge (on the
    shaft axis, the regions' depth below the lesser trochanter tip at the isocentre's magnification) lie
    on an image of ``shape`` (up to its outer pixels' outer edges); None when the truth does not place
    them."""
    points = truth.femur_points_px(side)
    needed = ("head_centre", "greater_trochanter", "lesser_trochanter", "neck_base", "shaft_distal")
    if any(name not in points for name in needed):
        return None
    spacing_mm = np.asarray(truth.radiograph.pixel_spacing_mm, dtype=np.float64)
    down_unit = (points["shaft_distal"] - points["neck_base"]) * spacing_mm
    down_unit /= np.linalg.norm(down_unit)
    edge_mm = float((points["lesser_trochanter"] - points["neck_base"]) * spacing_mm @ down_unit)
    edge_mm += ROISettings().total_hip_below_lesser_trochanter_mm * truth.magnification
    edge = points["neck_base"] + edge_mm * down_unit / spacing_mm
    upper = np.asarray(shape, dtype=np.float64) - 0.5
    return all(
        bool(np.all((point >= -0.5) & (point <= upper)))
        for point in (points["head_centre"], points["greater_trochanter"], edge)
    )


def _nearest_hip(
    hips: list[Any], head_px: np.ndarray, spacing_mm: tuple[float, float], within_mm: float = FOUND_MM
) -> Any:
    """The reported hip whose head lies within ``within_mm`` of ``head_px`` (detector mm), if any."""
    best, best_mm = None, within_mm
    for hip in hips:
        offset = (np.asarray(hip.location.head_centre_px) - np.asarray(head_px)) * np.asarray(spacing_mm)
        distance = float(np.hypot(*offset))
        if distance <= best_mm:
            best, best_mm = hip, distance
    return best


def summarise(name: str, hips: list[HipOutcome]) -> list[str]:
    """The figures of one group of hips, as lines of text."""
    inside = [h for h in hips if h.inside]
    found = [h for h in inside if h.found]
    index_native = [h for h in inside if h.index and not h.implant]
    measured = [h for h in index_native if h.found and h.measured]
    measurable = [h for h in index_native if h.regions_on_image is True]
    measured_of_measurable = sum(h.found and h.measured for h in measurable)
    metal = [h for h in found if h.implant]
    native = [h for h in found if not h.implant]
    lines = [
        f"{name}: hips inside {len(inside)}, found {share(len(found), len(inside))}; "
        f"implant-free index hips {len(index_native)}, measured {share(len(measured), len(index_native))}; "
        f"of those whose regions the image holds {share(measured_of_measurable, len(measurable))}",
        f"  implants: recall {share(sum(h.flagged_implant for h in metal), len(metal))}, "
        f"false alarms {share(sum(h.flagged_implant for h in native), len(native))} of native hips found",
    ]
    errors = np.array([h.head_error_mm for h in inside if h.head_error_mm is not None])
    if len(errors):
        lines.append(
            f"  head centre error (hips reported within {NEAR_MM:.0f} mm): "
            f"median {np.median(errors):.1f} mm, 90th percentile {np.percentile(errors, 90):.1f} mm, "
            f"n {len(errors)}"
        )
    chosen = [h.landmarks for h in index_native if h.found and h.landmarks]
    reasons = defaultdict(int)
    for h in index_native:
        if h.found and not h.measured and h.not_measured:
            reasons[_reason_code(h.not_measured)] += 1
    lines.append(
        f"  regions placed on learnt landmarks {chosen.count('learnt')}, "
        f"on fitted ones {chosen.count('fitted')}"
        + ("; not measured: " + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())) if reasons else "")
    )
    for roi in ROIS:
        lines.append("  " + _accuracy(roi, measured, index_native))
    return lines


def _reason_code(reason: str) -> str:
    """A short name of a not_measured reason: its code, or its first words."""
    head = reason.split(":")[0]
    if head == "landmarks":
        head = "landmarks: " + reason.split(":", 1)[1].split("(")[0].split(";")[0].strip()[:40]
    return head


def _accuracy(roi: str, measured: list[HipOutcome], index_native: list[HipOutcome]) -> str:
    estimate = np.array([h.estimate_g_cm2[roi] for h in measured])
    dxa = np.array([h.dxa_g_cm2[roi] for h in measured])
    text = f"{roi:9s} n {len(measured):3d}"
    if len(measured) >= 3:
        text += f"  r {pearsonr(estimate, dxa)[0]:.3f}  MAE {np.mean(np.abs(estimate - dxa)):.3f} g/cm2"
    else:
        text += "  r -  MAE -"
    if roi == "neck":
        text += f"  AUC {_auc(estimate, dxa)}"
    ceiling = [h for h in index_native if roi in h.ceiling_raw_g_cm2]
    if len(ceiling) >= 3:
        raw = np.array([h.ceiling_raw_g_cm2[roi] for h in ceiling])
        truth = np.array([h.dxa_g_cm2[roi] for h in ceiling])
        text += f"  | ceiling r {pearsonr(raw, truth)[0]:.3f} (n {len(ceiling)})"
    return text


def _auc(estimate: np.ndarray, dxa: np.ndarray) -> str:
    sick = np.array([t_score(v, "neck") <= -2.5 for v in dxa])
    auc = auroc(-estimate, sick)
    return auc if auc == "-" else f"{auc} ({sick.sum()} osteoporotic)"


def auroc(score: np.ndarray, positive: np.ndarray) -> str:
    """The AUROC of ``score`` for ``positive`` (finite scores only), as text; "-" with one class only."""
    keep = np.isfinite(score)
    score, positive = score[keep], positive[keep]
    if positive.all() or not positive.any():
        return "-"
    statistic = mannwhitneyu(score[positive], score[~positive]).statistic
    return f"{statistic / (positive.sum() * (~positive).sum()):.3f}"


def share(part: int, whole: int) -> str:
    """``part/whole (percent)``."""
    return f"{part}/{whole} ({100.0 * part / whole:.1f} %)" if whole else f"{part}/0"


def main() -> None:
    args = _parser().parse_args()
    runner = Runner(args)
    cohorts = [Path(c) for c in args.cohort]
    outcomes, _ = run_cases(runner, cohorts, args.limit)
    text = report(runner, cohorts, outcomes)
    print(text)
    if args.output:
        Path(args.output).write_text(text)


def run_cases(
    runner: Runner, cohorts: list[Path], limit: int | None
) -> tuple[list[HipOutcome], list[tuple[Path, dict[str, str]]]]:
    """Every case of the cohorts (the first ``limit`` of each) estimated: the outcomes, and the cases."""
    outcomes: list[HipOutcome] = []
    cases: list[tuple[Path, dict[str, str]]] = []
    for cohort in cohorts:
        with (cohort / "manifest.csv").open(newline="") as stream:
            rows = list(csv.DictReader(stream))[:limit]
        for number, row in enumerate(rows, start=1):
            cases.append((cohort, row))
            outcomes += runner.case(cohort, row)
            if number % 25 == 0:
                print(f"  {cohort.name}: {number}/{len(rows)}", flush=True)
    return outcomes, cases


def report(runner: Runner, cohorts: list[Path], outcomes: list[HipOutcome]) -> str:
    """The figures over all radiographs, per anatomy source and per style family, as text."""
    by_source: dict[str, list[HipOutcome]] = defaultdict(list)
    by_style: dict[str, list[HipOutcome]] = defaultdict(list)
    for outcome in outcomes:
        by_source[outcome.group_source].append(outcome)
        by_style[outcome.group_style].append(outcome)
    lines = [
        f"robustness of the radiograph path: {len(outcomes) // 2} radiographs from "
        + ", ".join(c.name for c in cohorts),
        f"model sha256 {runner.model.sha256[:12]}, localiser sha256 "
        f"{runner.localiser.manifest['weights']['sha256'][:12]}, {runner.samples} Monte-Carlo samples",
        f"estimate per radiograph (read, locate, decompose, measure): median "
        f"{np.median(runner.seconds):.2f} s",
        "",
        *summarise("all", outcomes),
        "",
        "by anatomy source",
    ]
    for name in sorted(by_source):
        lines += summarise(f" {name}", by_source[name])
    lines += ["", "by style family or site"]
    for name in sorted(by_style):
        lines += summarise(f" {name}", by_style[name])
    return "\n".join(lines) + "\n"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohort", action="append", required=True, help="a simulated cohort (repeatable)")
    parser.add_argument("--model", default=None, help="decomposition model folder (default: shipped)")
    parser.add_argument("--localiser", default=None, help="hip localiser folder (default: shipped)")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--limit", type=int, default=None, help="at most this many cases per cohort")
    parser.add_argument("--output", default=None, help="also write the figures to this file")
    return parser


if __name__ == "__main__":
    main()
