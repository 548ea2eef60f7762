"""Femur segmentation (Bayesian U-Net) on held-out simulated CTs and on the real CT, with its uncertainty.

For each CT: the shipped model (or --model) segments it blind; Dice of each femur against the truth
labels (simulated: the simulator's label map; real: the TotalSegmentator v1 prediction shipped with
the CT, itself a model output, not manual truth), Dice of the pelvis (hip bones + sacrum), the CPU
time of the whole `segment_ct` call, and each femur's uncertainty score. The uncertainty should pick
out the bad femurs: AUROC of the score for Dice < 0.9 (undefined when no femur is below 0.9).

Targets of issue 5: Dice ≥ 0.95 on held-out simulated CTs, ≥ 0.90 against the real CT's labels,
uncertainty AUROC ≥ 0.9 for Dice < 0.9, ≤ 60 s CPU per CT.

A model trained on one side of the real CT (``seg-train --extra CT,LABELS,TABLE,SIDE``; recorded in its
model.json) is scored on the real CT's other side only: the side it trained on is printed, marked, and
left out of the real-CT summary and of the uncertainty's AUROC.

Usage:  .venv/bin/python benchmarks/segmentation.py [--cohort DIR --cases 100:140] [--n 20] [--model DIR]
        [--output FILE]   (default: results_segmentation.txt; another file for a model not shipped)
Without --cohort, simulates --n cases over all six sites (seed 23) in a temporary folder.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from hipbmd.io.ct import read_ct, read_labels
from hipbmd.io.label_tables import load_label_table
from hipbmd.segmentation.inference import WindowSettings
from hipbmd.segmentation.masks import import_masks
from hipbmd.segmentation.model_files import load_model
from hipbmd.segmentation.segment import segment_ct
from hipbmd.segmentation.train_data import cohort_pairs
from hipbmd.sim.case_draw import Resolution
from hipbmd.sim.cohort import CohortSpec, resolve_sites, simulate_cohort
from hipbmd.types import Volume

ROOT = Path(__file__).resolve().parents[1]
REAL_CT = ROOT / "data" / "real" / "totalsegmentator_example_ct"
RESULTS = ROOT / "benchmarks" / "results_segmentation.txt"
HIPBMD = load_label_table("hipbmd")
PELVIS = [HIPBMD[name] for name in ("hip_right", "hip_left", "sacrum", "pelvis")]


def dice(found: np.ndarray, truth: np.ndarray) -> float:
    """2|A∩B| / (|A| + |B|); NaN when both are empty."""
    total = int(found.sum() + truth.sum())
    return float("nan") if total == 0 else 2.0 * float((found & truth).sum()) / total


def measure_case(
    name: str, ct: Volume, truth: Volume, model: Any, settings: WindowSettings
) -> list[dict[str, Any]]:
    """One row per femur present in the truth: Dice, uncertainty, time; pelvis Dice on each row."""
    began = time.process_time()
    wall = time.monotonic()
    result = segment_ct(ct, model, settings)
    seconds_cpu, seconds_wall = time.process_time() - began, time.monotonic() - wall
    pelvis = dice(result.labels.array == HIPBMD["pelvis"], np.isin(truth.array, PELVIS))
    rows = []
    for side in ("right", "left"):
        expected = truth.array == HIPBMD[f"femur_{side}"]
        if not expected.any():
            continue
        found = result.labels.array == HIPBMD[f"femur_{side}"]
        femur = result.femurs.get(side, {})
        rows.append(
            {
                "case": name,
                "side": side,
                "dice": dice(found, expected),
                "pelvis_dice": pelvis,
                "uncertainty": femur.get("uncertainty_score", float("nan")),
                "flags": femur.get("flags", []) + result.flags,
                "cpu_s": seconds_cpu,
                "wall_s": seconds_wall,
            }
        )
    return rows


def auroc(scores: list[float], bad: list[bool]) -> float | None:
    """AUROC of ``scores`` for the ``bad`` cases (Mann–Whitney U / n₁n₀); None with one class only."""
    from scipy.stats import mannwhitneyu

    positive = [s for s, b in zip(scores, bad, strict=True) if b]
    negative = [s for s, b in zip(scores, bad, strict=True) if not b]
    if not positive or not negative:
        return None
    return float(mannwhitneyu(positive, negative).statistic) / (len(positive) * len(negative))


def print_rows(rows: list[dict[str, Any]], out: list[str]) -> None:
    out.append(
        f"{'case':<14}{'side':<7}{'Dice':>8}{'pelvis':>8}{'uncert':>9}{'CPU s':>8}{'wall s':>8}  flags"
    )
    for row in rows:
        out.append(
            f"{row['case']:<14}{row['side']:<7}{row['dice']:>8.4f}{row['pelvis_dice']:>8.4f}"
            f"{row['uncertainty']:>9.4f}{row['cpu_s']:>8.1f}{row['wall_s']:>8.1f}  {'; '.join(row['flags'])}"
        )


def summary(label: str, rows: list[dict[str, Any]], target: float, out: list[str]) -> None:
    if not rows:
        out.append(f"{label}: no femur to test")
        return
    dices = np.array([row["dice"] for row in rows])
    met = "met" if np.median(dices) >= target else "NOT met"
    out.append(
        f"{label}: femur Dice mean {np.mean(dices):.4f}, median {np.median(dices):.4f}, "
        f"min {np.min(dices):.4f} over {len(dices)} femurs (target ≥ {target}: {met} on the median, "
        f"{int(np.sum(dices >= target))}/{len(dices)} femurs at or above)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohort", type=Path)
    parser.add_argument("--cases", default="0:")
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--model", type=Path)
    parser.add_argument("--samples", type=int, default=6)
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the table")
    args = parser.parse_args()
    model = load_model(args.model)
    settings = WindowSettings(samples=args.samples)
    sha = model.manifest["weights"]["sha256"][:16]
    out = [f"model {model.manifest.get('name')} sha256 {sha}, {args.samples} Monte-Carlo samples"]
    temporary = None
    cohort = args.cohort
    if cohort is None:
        temporary = Path(tempfile.mkdtemp(prefix="hipbmd_seg_bench_"))
        cohort = temporary / "cohort"
        simulate_cohort(
            CohortSpec(args.n, resolve_sites("all"), seed=23, resolution=Resolution()), cohort, args.workers
        )
    try:
        first, _, stop = args.cases.partition(":")
        rows: list[dict[str, Any]] = []
        for name, ct_path, labels_path in cohort_pairs(cohort, int(first or 0), int(stop) if stop else None):
            ct = read_ct(ct_path)
            rows += measure_case(name, ct, read_labels(labels_path, like=ct), model, settings)
            print(
                f"{name}: " + ", ".join(f"{r['side']} {r['dice']:.4f}" for r in rows if r["case"] == name),
                flush=True,
            )
        real_ct = read_ct(REAL_CT / "example_ct.nii.gz")
        real_truth = import_masks(REAL_CT / "example_seg_v1.nii.gz", real_ct, "totalsegmentator_v1")
        real_rows = measure_case("real_ct", real_ct, real_truth, model, settings)
        trained = real_sides_trained_on(model.manifest)
        for row in real_rows:
            if row["side"] in trained:
                row["flags"] = ["TRAINED ON THIS SIDE: not a test", *row["flags"]]
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
    out.append("\nsimulated CTs (held out from training)")
    print_rows(rows, out)
    out.append("\nreal CT (TotalSegmentator example; labels are TotalSegmentator v1's prediction)")
    print_rows(real_rows, out)
    out.append("")
    summary("simulated", rows, 0.95, out)
    held_out = [row for row in real_rows if row["side"] not in trained]
    summary(
        "real" + (f" (held-out side only; trained on the {', '.join(trained)})" if trained else ""),
        held_out,
        0.90,
        out,
    )
    every = rows + held_out
    area = auroc([r["uncertainty"] for r in every], [r["dice"] < 0.9 for r in every])
    bad = sum(r["dice"] < 0.9 for r in every)
    shown = f"undefined ({bad} such femurs)" if area is None else f"{area:.3f}"
    out.append(
        f"uncertainty: AUROC for Dice < 0.9 = {shown} (target ≥ 0.9); "
        f"Spearman(score, Dice) = {_spearman(every):.3f}"
    )
    cpu, wall = [r["cpu_s"] for r in rows], [r["wall_s"] for r in rows]
    out.append(
        f"time per CT: CPU median {np.median(cpu):.1f} s, max {np.max(cpu):.1f} s; "
        f"wall median {np.median(wall):.1f} s (target ≤ 60 s CPU)"
    )
    text = "\n".join(out)
    print(text)
    args.output.write_text(text + "\n")
    print(f"wrote {args.output}")


def real_sides_trained_on(manifest: dict[str, Any]) -> set[str]:
    """Sides of the real CT the model trained on (every side when it trained on the whole scan)."""
    sides: set[str] = set()
    for case in manifest.get("training", {}).get("cases", []):
        if Path(case.get("ct", "")).name == "example_ct.nii.gz":
            sides |= {case["side_kept"]} if case.get("side_kept") else {"right", "left"}
    return sides


def _spearman(rows: list[dict[str, Any]]) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr([r["uncertainty"] for r in rows], [r["dice"] for r in rows]).statistic)


if __name__ == "__main__":
    main()
