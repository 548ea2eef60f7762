"""Tiny synthetic inputs of ``hipbmd evaluate``: a cohort-style manifest and a matching results.csv."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from hipbmd.bmd.classify import jos_category, percent_yam, reported, t_score, who_category
from hipbmd.bmd.results_table import CSV_COLUMNS

SITES = ("site_a", "site_b")
YAM_G_CM2 = {"neck": 0.80, "total_hip": 0.90, "proximal_femur": 0.85}
WITHHELD_CASE = 3  # its neck estimate is withheld
FAILED_CASE = 4  # its radiograph "could not be read"


def write_inputs(folder: Path, n: int = 16, seed: int = 7) -> tuple[Path, Path]:
    """``folder/cohort/manifest.csv`` and ``folder/estimates/results.csv`` for n cases; returns both."""
    rng = np.random.default_rng(seed)
    manifest, results = [], []
    for k in range(n):
        case_id, side = f"case_{k:05d}", ("right", "left")[k % 2]
        neck = float(np.clip(rng.normal(0.68, 0.14), 0.35, 1.1))
        total = float(np.clip(neck * 1.1 + rng.normal(0.0, 0.03), 0.4, 1.3))
        manifest.append(
            {
                "case_id": case_id,
                "site": SITES[k % 2],
                "age": 45 + 3 * k,
                "sex": "F" if k % 3 else "M",
                "side": side,
                "ct": f"cases/{case_id}/ct.nii.gz",
                "labels": "",
                "xray": f"cases/{case_id}/xray.dcm",
                "dxa_neck_g_cm2": f"{neck:.4f}",
                "dxa_total_hip_g_cm2": f"{total:.4f}",
            }
        )
        file = str(folder / "cohort" / "cases" / case_id / "xray.dcm")
        if k == FAILED_CASE:
            results.append({"file": file, "error": "cannot read the radiograph"})
            continue
        for roi, value in (("neck", neck), ("total_hip", total), ("proximal_femur", total * 0.95)):
            estimate = value + float(rng.normal(0.01, 0.04))
            results.append(
                result_row(file, side, roi, None if (k, roi) == (WITHHELD_CASE, "neck") else estimate)
            )
    return _write(folder / "cohort" / "manifest.csv", manifest), _write(
        folder / "estimates" / "results.csv", results
    )


def result_row(file: str, side: str, roi: str, abmd_g_cm2: float | None) -> dict[str, Any]:
    """One results.csv row as ``hipbmd estimate --yam`` writes it (values rounded alike)."""
    row: dict[str, Any] = {"file": file, "side": side, "roi": roi, "flags": "", "error": ""}
    if abmd_g_cm2 is None:
        return {**row, "flags": "high_uncertainty"}
    t = t_score(abmd_g_cm2, roi)
    percent = percent_yam(abmd_g_cm2, YAM_G_CM2[roi])
    return {
        **row,
        "abmd_g_cm2": round(abmd_g_cm2, 4),
        "t_score": None if t is None else reported(t),
        "yam_percent": reported(percent),
        "who_category": None if t is None else who_category(t),
        "jos_category": jos_category(percent, t),
    }


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = CSV_COLUMNS if path.name == "results.csv" else list(rows[0])
    with path.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path
