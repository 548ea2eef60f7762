"""Held-out accuracy of a hip localiser on simulated cases: head and trochanter errors, sides, single hips.

Errors are Euclidean distances at the detector, mm (pixel error × pixel spacing). A truth hip is
"present" when its head centre lies at least ``EDGE_MARGIN_MM`` inside the image. Each full view
(both heads present) is also cut at the column midway between the heads, and each half is located
again as a single-hip radiograph: it counts as detected when exactly the hip it holds is reported,
with the right side, within ``HIT_MM`` of the truth.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hipbmd.localisation.data import truth_landmarks_px
from hipbmd.localisation.hip_location import IMPLANT_THRESHOLD, HipLocation
from hipbmd.localisation.locate import locate_hips
from hipbmd.sim.case_truth import CaseTruth, read_case_radiograph
from hipbmd.types import Radiograph

EDGE_MARGIN_MM = 12.0
HIT_MM = 15.0
SIDES = {"right": 0, "left": 2}


def evaluate_localiser(model: Any, cases: list[tuple[str, Path, Path]]) -> dict[str, Any]:
    """Summary metrics over ``cases`` (case id, radiograph, truth.json), and one row per case and hip."""
    rows: list[dict[str, Any]] = []
    crops: list[dict[str, Any]] = []
    for name, xray, truth_path in cases:
        case = CaseTruth.read(truth_path.parent)
        radiograph = read_case_radiograph(xray, case)
        truth = truth_landmarks_px(case)
        present = _present(truth, radiograph)
        scored = _score(name, locate_hips(radiograph, model), truth, present, radiograph)
        rows += [{**row, "implant": case.implant_side == row["side"]} for row in scored]
        if all(present.values()):
            crops += _score_halves(name, radiograph, truth, model)
    return {"summary": _summary(rows, crops), "hips": rows, "single_hip_crops": crops}


def _present(truth: npt.NDArray[np.float64], radiograph: Radiograph) -> dict[str, bool]:
    spacing = np.asarray(radiograph.pixel_spacing_mm or (1.0, 1.0))
    margin = EDGE_MARGIN_MM / spacing
    shape = np.asarray(radiograph.shape)
    return {
        side: bool(np.all(truth[channel] >= margin) and np.all(truth[channel] <= shape - 1 - margin))
        for side, channel in SIDES.items()
    }


def _score(
    name: str,
    hips: list[HipLocation],
    truth: npt.NDArray[np.float64],
    present: dict[str, bool],
    radiograph: Radiograph,
) -> list[dict[str, Any]]:
    """One row per truth-present hip and per reported hip whose side is not in the image."""
    spacing = np.asarray(radiograph.pixel_spacing_mm or (1.0, 1.0))
    rows = []
    for side, channel in SIDES.items():
        found = next((hip for hip in hips if hip.side == side), None)
        if not present[side] and found is None:
            continue
        row: dict[str, Any] = {
            "case": name,
            "side": side,
            "present": present[side],
            "found": found is not None,
        }
        if found is not None:
            head = np.asarray(found.head_centre_px)
            nearest = min(SIDES, key=lambda s: float(np.hypot(*((head - truth[SIDES[s]]) * spacing))))
            row["side_correct"] = present[nearest] and nearest == side
            row["confidence"] = found.confidence
            row["implant_probability"] = found.implant_probability
            row["head_error_mm"] = _error_mm(found.head_centre_px, truth[channel], spacing)
            row["lesser_trochanter_error_mm"] = _error_mm(
                found.lesser_trochanter_px, truth[channel + 1], spacing
            )
        rows.append(row)
    return rows


def _error_mm(
    point: tuple[float, float] | None, truth: npt.NDArray[np.float64], spacing: npt.NDArray[np.float64]
) -> float | None:
    if point is None:
        return None
    return round(float(np.hypot(*((np.asarray(point) - truth) * spacing))), 3)


def _score_halves(
    name: str, radiograph: Radiograph, truth: npt.NDArray[np.float64], model: Any
) -> list[dict[str, Any]]:
    """Cut at the column midway between the heads; locate each half as a single-hip image."""
    middle = int(np.rint((truth[0, 1] + truth[2, 1]) / 2.0))
    halves = {"right": (0, middle), "left": (middle, radiograph.shape[1])}
    spacing = np.asarray(radiograph.pixel_spacing_mm or (1.0, 1.0))
    results = []
    for side, (first, stop) in halves.items():
        crop = replace(radiograph, array=np.ascontiguousarray(radiograph.array[:, first:stop]))
        hips = locate_hips(crop, model)
        expected = truth[SIDES[side]] - (0.0, first)
        match = [hip for hip in hips if hip.side == side]
        error = _error_mm(match[0].head_centre_px, expected, spacing) if match else None
        results.append(
            {
                "case": name,
                "side": side,
                "hips_reported": len(hips),
                "head_error_mm": error,
                "detected": len(hips) == 1 and error is not None and error <= HIT_MM,
            }
        )
    return results


def _summary(rows: list[dict[str, Any]], crops: list[dict[str, Any]]) -> dict[str, Any]:
    present = [row for row in rows if row["present"]]
    found = [row for row in present if row["found"]]
    head = [row["head_error_mm"] for row in found]
    lesser = [
        row["lesser_trochanter_error_mm"] for row in found if row["lesser_trochanter_error_mm"] is not None
    ]
    reported = [row for row in rows if row["found"]]
    return {
        "hips_present": len(present),
        "hips_found": len(found),
        "false_hips": len(rows) - len(present),
        "head_error_mm": _quantiles(head),
        "hits_within_15mm": round(float(np.mean(np.asarray(head) <= HIT_MM)), 4) if head else None,
        "lesser_trochanter_error_mm": _quantiles(lesser),
        "lesser_trochanter_found": len(lesser),
        "side_correct_rate": _rate([row["side_correct"] for row in reported]),
        **_implant_rates(found),
        "single_hip_crops": {
            "count": len(crops),
            "detected_rate": _rate([crop["detected"] for crop in crops]),
            "other_hip_reported": sum(crop["hips_reported"] > 1 for crop in crops),
            "head_error_mm": _quantiles(
                [c["head_error_mm"] for c in crops if c["head_error_mm"] is not None]
            ),
        },
    }


def _implant_rates(found: list[dict[str, Any]]) -> dict[str, Any]:
    """Implant recall and false alarms over the hips found, at a response of :data:`IMPLANT_THRESHOLD`."""
    scored = [row for row in found if row.get("implant_probability") is not None]
    if not scored:
        return {}
    metal = [row["implant_probability"] >= IMPLANT_THRESHOLD for row in scored if row["implant"]]
    native = [row["implant_probability"] >= IMPLANT_THRESHOLD for row in scored if not row["implant"]]
    return {
        "implant_hips": len(metal),
        "implant_recall": _rate(metal),
        "native_hips": len(native),
        "implant_false_alarm_rate": _rate(native),
    }


def _quantiles(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "median": None, "p95": None, "max": None}
    array = np.asarray(values)
    return {
        "n": len(values),
        "median": round(float(np.median(array)), 3),
        "p95": round(float(np.percentile(array, 95)), 3),
        "max": round(float(array.max()), 3),
    }


def _rate(flags: list[bool]) -> float | None:
    return round(float(np.mean(flags)), 4) if flags else None
