"""The main job in one command: simulate a small fresh cohort from sites the model never saw, estimate
BMD on its radiographs with the default model, and compare with the cohort's DXA.

The work behind ``hipbmd demo`` and ``make demo``. The DXA values are the simulator's, read from the
cohort's ``manifest.csv`` (the index hip of each case, as a site would hand them over); the estimate of
that hip is compared per ROI by ``hipbmd evaluate`` (:mod:`hipbmd.stats.report`), whose report lands in
``report/``: Pearson r, mean absolute error, Bland–Altman, and the AUC of the estimated T-score for DXA
osteoporosis (T ≤ −2.5), when both classes occur.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hipbmd.bmd.record import EstimateRecord

DEMO_SEED = 4242


@dataclass
class DemoRow:
    """One case: its DXA and estimated aBMD per ROI (g/cm², None when withheld), the WHO category of its
    DXA and the estimate's (with its probability, or why withheld), and the flags."""

    case_id: str
    site: str
    side: str
    dxa_g_cm2: dict[str, float]
    estimate_g_cm2: dict[str, float | None]
    flags: list[str] = field(default_factory=list)
    dxa_category: str = ""
    category: str = ""


def demo_rows(cohort: Path, records: list[EstimateRecord]) -> list[DemoRow]:
    """Pair each manifest row's DXA (index hip) with the estimate of that hip."""
    by_source = {Path(record.source).resolve(): record for record in records}
    with (cohort / "manifest.csv").open(newline="") as stream:
        manifest = list(csv.DictReader(stream))
    rows = []
    for entry in manifest:
        record = by_source.get((cohort / entry["xray"]).resolve())
        hips = record.hips if record is not None else ()
        hip = next((h for h in hips if h.side == entry["side"]), None)
        estimate = {m.roi: m.abmd_g_cm2 for m in hip.measurements} if hip else {}
        error = record.error if record is not None else None
        flags = list(hip.flags) if hip else [error or "hip not found"]
        dxa = {"neck": float(entry["dxa_neck_g_cm2"]), "total_hip": float(entry["dxa_total_hip_g_cm2"])}
        category = _category_text(hip.category if hip else None)
        row = DemoRow(entry["case_id"], entry["site"], entry["side"], dxa, estimate, flags)
        row.dxa_category, row.category = _dxa_category(dxa), category
        rows.append(row)
    return rows


def _dxa_category(dxa_g_cm2: dict[str, float]) -> str:
    """The WHO category of the lowest DXA T-score of the neck and total hip (the ISCD rule)."""
    from hipbmd.bmd.classify import t_score, who_category

    scores = [t_score(value, roi) for roi, value in dxa_g_cm2.items()]
    return who_category(min(score for score in scores if score is not None))


def _category_text(category: Any) -> str:
    """The estimate's category with its probability; when withheld as uncertain, the likeliest with its
    probability, else "withheld (the reason's code)"."""
    if category is None:
        return "not measured"
    if category.who_category is not None:
        return f"{category.who_category} ({category.probability:.2f})"
    if category.likeliest is not None:  # uncertain: the likeliest with its probability
        return f"withheld: {category.likeliest} ({category.probability:.2f})"
    return f"withheld ({str(category.withheld).split(':')[0]})"


def training_resolution(model: Path | None) -> dict[str, Any]:
    """The simulation resolution of the model's training cohort (from its ``model.json``), so the demo's
    radiographs are rendered as the model's were; the simulator's defaults when it is not recorded."""
    from hipbmd.decomposition.model_files import default_model_dir

    manifest = json.loads(((model or default_model_dir()) / "model.json").read_text())
    training = manifest.get("training", {})
    cohorts = training.get("cohorts") or [training.get("cohort")]  # several cohorts: the first's
    simulation = cohorts[0].get("simulation") if isinstance(cohorts[0], dict) else None
    return dict((simulation or {}).get("resolution", {}))


def demo(
    folder: Path,
    n: int,
    model: Path | None,
    workers: int = 1,
    resolution: Any = None,
    on_stage: Callable[[str], None] | None = None,
) -> tuple[list[DemoRow], dict[str, Any]]:
    """Simulate, estimate and compare (see the module docstring).

    Returns:
        The rows (one per case) and the record of the validation report written to ``folder/report``
        (``hipbmd-evaluate/1``, as :func:`hipbmd.api.evaluate` returns it).
    """
    from hipbmd.api.bmd import estimate
    from hipbmd.sim.case_draw import Resolution
    from hipbmd.sim.cohort import CohortSpec, resolve_sites, simulate_cohort, write_manifest
    from hipbmd.stats.report import write_report

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
    if on_stage is not None:
        on_stage("comparing with the cohort's DXA")
    report = write_report(folder / "estimates" / "results.csv", cohort / "manifest.csv", folder / "report")
    return rows, report
