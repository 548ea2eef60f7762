"""Results a clinician can act on: interval coverage, categories given, flags ranked by error, refusals.

Runs what ``hipbmd estimate`` runs on held-out simulated cohorts (the radiographs of
``benchmarks/robustness.py``, models loaded once) and on the real non-hip files of ``data/real``, and
prints, over the implant-free index hips measured (each against its DXA):

* **coverage** of the 95 % intervals, per region, overall and per style family or site and per anatomy
  source, with the binomial (Clopper–Pearson) 95 % CI;
* **categories given**: the share of measured hips whose WHO category (ISCD: lowest T of the neck and the
  total hip) is given, beside the share flagged ``out_of_distribution``; among those given, the
  agreement with the category of their DXA and the sensitivity and specificity for osteoporosis; why the
  others were withheld;
* **error ranking**: AUROC of the interval's half-width, and of the OOD distance, for hips whose error
  exceeds 0.10 g/cm² (per region), and how often ``high_uncertainty`` fires on them and on the rest;
* **refusals**: the real non-hip files each refused with a reason; simulated negatives (the part of each
  held-out radiograph more than 50 mm above both femoral head centres, where there is pelvis but no hip)
  said to hold no hip, and with what reason; and the held-out hips whose radiograph was said to hold no
  hip (wrong refusals).

Targets (issue "Results a clinician can act on"): coverage 95 % with the CI containing it; categories
given for >= 85 % of measured hips, WHO agreement >= 90 %, osteoporosis sensitivity and specificity >= 0.90;
AUROC >= 0.85; every real non-hip file refused with a reason, <= 1 % of held-out hips refused wrongly.

Usage:  .venv/bin/python benchmarks/categories.py --cohort DIR [--cohort DIR ...] [--model DIR]
        [--localiser DIR] [--samples 8] [--limit N] [--real data/real] [--output FILE]
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy.stats import binomtest

sys.path.insert(0, str(Path(__file__).parent))
from robustness import HipOutcome, Runner, auroc, report, run_cases, share

from hipbmd.bmd.classify import t_score, who_category

ROIS = ("neck", "total_hip")
LARGE_ERROR_G_CM2 = 0.10
NEGATIVE_ABOVE_HEAD_MM = 50.0  # a negative ends this far above the higher head centre (detector mm)
NEGATIVE_MIN_HEIGHT_MM = 100.0  # the least field of view hipbmd accepts
REAL_NON_HIP = (
    "radoss_ddh_xray",
    "deid_data_dx/cat_DX.dcm.gz",
    "fodicom_cr/CR-ModalitySequenceLUT.dcm",
    "fodicom_cr/CR-MONO1-10-chest",
)


def coverage_lines(name: str, hips: list[HipOutcome]) -> list[str]:
    """Per region: how many measured hips' DXA lies inside their interval, with its 95 % CI."""
    parts = []
    for roi in ROIS:
        inside = [_inside(h, roi) for h in hips if _interval(h, roi) is not None]
        if not inside:
            parts.append(f"{roi} -")
            continue
        ci = binomtest(sum(inside), len(inside)).proportion_ci(0.95)
        parts.append(
            f"{roi} {sum(inside)}/{len(inside)} = {100 * np.mean(inside):.1f} % "
            f"[{100 * ci.low:.1f}, {100 * ci.high:.1f}]"
        )
    return [f"{name}: " + "; ".join(parts)]


def category_lines(hips: list[HipOutcome]) -> list[str]:
    """Categories given, their agreement with DXA, sensitivity and specificity, and the reasons withheld."""
    measured = [h for h in hips if h.category is not None]
    given = [h for h in measured if h.category.who_category is not None]
    ood = sum(any(f.startswith("out_of_distribution") for f in h.flags) for h in measured)
    lines = [
        f"categories given: {share(len(given), len(measured))} of measured hips; "
        f"flagged out_of_distribution: {share(ood, len(measured))}"
    ]
    truth = [_dxa_category(h) for h in given]
    called = [h.category.who_category for h in given]
    if given:
        agree = sum(t == c for t, c in zip(truth, called, strict=True))
        sick = [t == "osteoporosis" for t in truth]
        said = [c == "osteoporosis" for c in called]
        true_pos = sum(s and d for s, d in zip(sick, said, strict=True))
        true_neg = sum(not s and not d for s, d in zip(sick, said, strict=True))
        specificity = share(true_neg, len(sick) - sum(sick))
        lines.append(
            f"  among those given: WHO agreement with DXA {share(agree, len(given))}; osteoporosis "
            f"sensitivity {share(true_pos, sum(sick))}, specificity {specificity}"
        )
        probabilities = [float(h.category.probability) for h in given]
        lines.append(f"  probability of the category given: median {np.median(probabilities):.3f}")
    all_truth = [_dxa_category(h) for h in measured]
    lines.append(
        "  DXA categories of the measured hips: "
        + ", ".join(f"{c} {all_truth.count(c)}" for c in ("normal", "osteopenia", "osteoporosis"))
    )
    reasons: dict[str, int] = defaultdict(int)
    for h in measured:
        if h.category.withheld:
            reasons[h.category.withheld.split(":")[0]] += 1
    if reasons:
        lines.append("  withheld: " + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())))
    return lines


def ranking_lines(hips: list[HipOutcome]) -> list[str]:
    """AUROC of the half-width and of the OOD distance for errors over LARGE_ERROR_G_CM2, per region."""
    lines = []
    for roi in ROIS:
        rows = [h for h in hips if _interval(h, roi) is not None]
        errors = np.array([abs(h.estimate_g_cm2[roi] - h.dxa_g_cm2[roi]) for h in rows])
        large = errors > LARGE_ERROR_G_CM2
        widths = np.array([_half_width(h, roi) for h in rows])
        distances = np.array([h.ood_distance if h.ood_distance is not None else np.nan for h in rows])
        flagged = np.array([any(f.startswith(f"high_uncertainty: {roi}") for f in h.flags) for h in rows])
        lines.append(
            f"{roi:9s} errors > {LARGE_ERROR_G_CM2:.2f} g/cm2: {large.sum()}/{len(rows)}; AUROC half-width "
            f"{auroc(widths, large)}, OOD distance {auroc(distances, large)}; high_uncertainty on "
            f"{share(int(flagged[large].sum()), int(large.sum()))} of them and on "
            f"{share(int(flagged[~large].sum()), int((~large).sum()))} of the rest"
        )
    return lines


def refusal_lines(runner: Runner, real: Path | None, workdir: Path, hips: list[HipOutcome]) -> list[str]:
    """The real non-hip files' reasons, and the held-out hips whose radiograph was refused."""
    inside = [h for h in hips if h.inside]
    wrong = sum(h.refused is not None for h in inside)
    lines = [f"held-out hips on radiographs said to hold no hip: {share(wrong, len(inside))}"]
    if real is None:
        return lines
    from hipbmd import api

    files = [real / name for name in REAL_NON_HIP]
    records = api.estimate([f for f in files if f.exists()], workdir / "real", samples=runner.samples)
    refused = 0
    for record in records:
        measured = any(hip.measured for hip in record.hips)
        reason = record.reason or "; ".join(
            f"{hip.side}: {flag}"
            for hip in record.hips
            for flag in hip.flags
            if flag.startswith("not_measured")
        )
        refused += record.reason is not None
        lines.append(f"  {Path(record.source).name}: {'MEASURED ' if measured else ''}{reason[:140]}")
    lines.insert(1, f"real non-hip files refused with a reason: {share(refused, len(records))}")
    return lines


def negative_lines(runner: Runner, cases: list[tuple[Path, dict[str, str]]]) -> list[str]:
    """Simulated negatives: each radiograph cut above its femoral heads, estimated as a whole radiograph."""
    from dataclasses import replace

    from hipbmd.bmd.estimate import EstimateSettings, estimate_hips
    from hipbmd.sim.case_truth import CaseTruth, read_case_radiograph

    reasons: dict[str, int] = defaultdict(int)
    tried = refused = 0
    for cohort, row in cases:
        truth = CaseTruth.read(cohort / "cases" / row["case_id"])
        radiograph = read_case_radiograph(cohort / row["xray"], truth)
        spacing = truth.radiograph.pixel_spacing_mm[0]
        top_head_row = min(truth.head_centre_px(side)[0] for side in ("right", "left"))
        stop = int(top_head_row - NEGATIVE_ABOVE_HEAD_MM / spacing)
        if stop * spacing < NEGATIVE_MIN_HEIGHT_MM:
            continue
        cut = replace(radiograph, array=radiograph.array[:stop].copy())
        result = estimate_hips(cut, runner.model, runner.localiser, EstimateSettings(runner.samples))
        tried += 1
        if not result.hips:
            refused += 1
            reasons[str(result.no_hip_reason).split("(")[0].strip()] += 1
        else:
            reasons[
                "hips reported" + (" and measured" if any(h.measurements for h in result.hips) else "")
            ] += 1
    tally = ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()))
    return [
        f"simulated negatives (pelvis above the hips) said to hold no hip: {share(refused, tried)}; {tally}"
    ]


def _interval(h: HipOutcome, roi: str) -> tuple[float, float] | None:
    m = h.measurements.get(roi)
    ok = m is not None and m.interval_g_cm2 is not None and h.index and not h.implant and h.found
    return m.interval_g_cm2 if ok else None


def _inside(h: HipOutcome, roi: str) -> bool:
    low, high = _interval(h, roi) or (np.nan, np.nan)
    return bool(low <= h.dxa_g_cm2[roi] <= high)


def _half_width(h: HipOutcome, roi: str) -> float:
    low, high = _interval(h, roi) or (np.nan, np.nan)
    return (high - low) / 2


def _dxa_category(h: HipOutcome) -> str:
    return who_category(min(t_score(h.dxa_g_cm2[roi], roi) for roi in ROIS))


def main() -> None:
    args = _parser().parse_args()
    runner = Runner(args)
    cohorts = [Path(c) for c in args.cohort]
    outcomes, cases = run_cases(runner, cohorts, args.limit)
    measured = [h for h in outcomes if h.category is not None and h.index and not h.implant and h.found]
    calibration = runner.model.manifest.get("interval_calibration") or {}
    lines = [
        f"categories and intervals: {len(outcomes) // 2} radiographs from "
        + ", ".join(c.name for c in cohorts),
        f"model sha256 {runner.model.sha256[:12]} (intervals calibrated on "
        f"{'+'.join(c['name'] for c in calibration.get('cohorts', [])) or 'nothing'}, "
        f"{calibration.get('hips', 0)} hips), "
        f"localiser sha256 {runner.localiser.manifest['weights']['sha256'][:12]}, {args.samples} samples",
        f"measured implant-free index hips: {len(measured)}",
        "",
        "coverage of the 95 % intervals (binomial 95 % CI)",
        *coverage_lines(" all", measured),
    ]
    for key, title in (("group_style", "by style family or site"), ("group_source", "by anatomy source")):
        groups: dict[str, list[HipOutcome]] = defaultdict(list)
        for h in measured:
            groups[getattr(h, key)].append(h)
        lines.append(f" {title}")
        for name in sorted(groups):
            lines += coverage_lines(f"  {name}", groups[name])
    lines += ["", *category_lines(measured), "", "error ranking", *ranking_lines(measured), ""]
    real = Path(args.real) if args.real else None
    lines += ["refusals", *refusal_lines(runner, real, Path(args.workdir), outcomes)]
    lines += negative_lines(runner, cases[:: args.negative_every])
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output:
        Path(args.output).write_text(text)
    if args.robustness_output:  # the same run's figures of benchmarks/robustness.py
        Path(args.robustness_output).write_text(report(runner, cohorts, outcomes))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohort", action="append", required=True, help="a simulated cohort (repeatable)")
    parser.add_argument("--model", default=None, help="decomposition model folder (default: shipped)")
    parser.add_argument("--localiser", default=None, help="hip localiser folder (default: shipped)")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--limit", type=int, default=None, help="at most this many cases per cohort")
    parser.add_argument("--real", default="data/real", help="the real files' folder ('' to skip)")
    parser.add_argument(
        "--workdir", default="/tmp/hipbmd_categories", help="where the real files' records go"
    )
    parser.add_argument("--negative-every", type=int, default=2, help="a negative from every k-th case")
    parser.add_argument("--output", default=None, help="also write the figures to this file")
    parser.add_argument("--robustness-output", default=None, help="write robustness.py's figures here too")
    return parser


if __name__ == "__main__":
    main()
