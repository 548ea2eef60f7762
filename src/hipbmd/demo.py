"""The main job in one command: simulate a small fresh cohort from sites the model never saw, estimate
BMD on its radiographs with the default model, and compare with the cohort's DXA.

The work behind ``hipbmd demo`` and ``make demo``. The DXA values are the simulator's, read from the
cohort's ``manifest.csv`` (the index hip of each case, as a site would hand them over); the estimate of
that hip is compared per ROI: Pearson r, mean absolute error, and the AUC of the estimated T-score for
DXA osteoporosis (T ≤ −2.5 at the femoral neck), when both classes occur.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hipbmd.bmd.classify import t_score

DEMO_SEED = 4242


@dataclass
class DemoRow:
    """One case: its DXA and estimated aBMD per ROI (g/cm², None when withheld) and the flags."""

    case_id: str
    site: str
    side: str
    dxa_g_cm2: dict[str, float]
    estimate_g_cm2: dict[str, float | None]
    flags: list[str] = field(default_factory=list)


def demo_rows(cohort: Path, records: list[dict[str, Any]]) -> list[DemoRow]:
    """Pair each manifest row's DXA (index hip) with the estimate of that hip."""
    by_source = {Path(record["source"]).resolve(): record for record in records}
    with (cohort / "manifest.csv").open(newline="") as stream:
        manifest = list(csv.DictReader(stream))
    rows = []
    for entry in manifest:
        record = by_source.get((cohort / entry["xray"]).resolve(), {})
        hip = next((h for h in record.get("hips", []) if h["side"] == entry["side"]), None)
        estimate = {m["roi"]: m["abmd_g_cm2"] for m in hip["measurements"]} if hip else {}
        flags = list(hip["flags"]) if hip else [record.get("error", "hip not found")]
        dxa = {"neck": float(entry["dxa_neck_g_cm2"]), "total_hip": float(entry["dxa_total_hip_g_cm2"])}
        rows.append(DemoRow(entry["case_id"], entry["site"], entry["side"], dxa, estimate, flags))
    return rows


def agreement(rows: list[DemoRow], roi: str) -> dict[str, float | int | None]:
    """r, MAE (g/cm²) and the number of cases with an estimate, for one ROI."""
    pairs = [(r.dxa_g_cm2[roi], r.estimate_g_cm2.get(roi)) for r in rows]
    kept = np.array([(d, e) for d, e in pairs if e is not None], dtype=float).reshape(-1, 2)
    if len(kept) < 3:
        return {"n": len(kept), "r": None, "mae_g_cm2": None}
    r = float(np.corrcoef(kept[:, 0], kept[:, 1])[0, 1])
    return {"n": len(kept), "r": r, "mae_g_cm2": float(np.mean(np.abs(kept[:, 1] - kept[:, 0])))}


def osteoporosis_auc(rows: list[DemoRow]) -> float | None:
    """AUC of the estimated neck T-score (lower = more likely) for DXA neck T ≤ −2.5; None with one class."""
    from scipy.stats import mannwhitneyu

    scored = [(_neck_t(r.dxa_g_cm2["neck"]), _neck_t(r.estimate_g_cm2.get("neck"))) for r in rows]
    sick = [-e for d, e in scored if d is not None and e is not None and d <= -2.5]
    well = [-e for d, e in scored if d is not None and e is not None and d > -2.5]
    if not sick or not well:
        return None
    return float(mannwhitneyu(sick, well).statistic) / (len(sick) * len(well))


def _neck_t(abmd_g_cm2: float | None) -> float | None:
    return None if abmd_g_cm2 is None else t_score(abmd_g_cm2, "neck")


def training_resolution(model: Path | None) -> dict[str, Any]:
    """The simulation resolution of the model's training cohort (from its ``model.json``), so the demo's
    radiographs are rendered as the model's were; the simulator's defaults when it is not recorded."""
    from hipbmd.decomposition.model_files import default_model_dir

    manifest = json.loads(((model or default_model_dir()) / "model.json").read_text())
    simulation = manifest.get("training", {}).get("cohort", {})
    simulation = simulation.get("simulation") if isinstance(simulation, dict) else None
    return dict((simulation or {}).get("resolution", {}))


def run_demo(
    folder: Path,
    n: int,
    model: Path | None,
    workers: int = 1,
    resolution: Any = None,
    on_stage: Callable[[str], None] | None = None,
) -> tuple[list[DemoRow], dict[str, Any]]:
    """Simulate, estimate and compare (see the module docstring); returns the rows and the summary."""
    from hipbmd.api_bmd import estimate
    from hipbmd.sim.case_draw import Resolution
    from hipbmd.sim.cohort import CohortSpec, resolve_sites, simulate_cohort, write_manifest

    cohort = folder / "cohort"
    resolution = resolution or Resolution(**training_resolution(model))
    spec = CohortSpec(n, resolve_sites("held-out"), seed=DEMO_SEED, resolution=resolution)
    if on_stage is not None:
        on_stage(f"simulating {n} cases from the held-out sites")
    simulate_cohort(spec, cohort, workers)
    write_manifest(cohort)
    if on_stage is not None:
        on_stage("estimating BMD")
    xrays = sorted(cohort.glob("cases/*/xray.dcm"))
    records = estimate(xrays, folder / "estimates", model=model)
    rows = demo_rows(cohort, records)
    summary: dict[str, Any] = {roi: agreement(rows, roi) for roi in ("neck", "total_hip")}
    summary["osteoporosis_auc_neck"] = osteoporosis_auc(rows)
    return rows, summary
