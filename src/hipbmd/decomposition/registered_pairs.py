"""Training pairs from real-site data: the research path of ``hipbmd train --register``.

For one manifest row (:mod:`hipbmd.decomposition.site_case`: CT calibrated, labels, radiograph), without
any simulator truth:

1. the hips on the radiograph (:func:`hipbmd.localisation.locate.locate_hips`); a hip is left out, with
   its reason, when the CT has no label for that femur, its head lies within
   :data:`~hipbmd.decomposition.data.EDGE_MARGIN_MM` of the image edge, it has an implant (metal in or
   against the femur, :func:`hipbmd.femur.ct_bmd.metal_voxels`) or its head sphere cannot be fitted;
2. the pelvis and each remaining femur registered (:mod:`hipbmd.decomposition.hip_registration`); a
   bone whose similarity stays below ``min_similarity`` is left out as poorly registered (the pelvis:
   the whole case, since its all-bone target would be wrong);
3. the femur and all-bone DRRs in the found poses and the crops
   (:mod:`hipbmd.decomposition.registered_targets`).

Registration is slow (minutes per case at full resolution), so each case is kept in
``<folder>/registered/<case_id>.json`` (poses, similarities, reasons, settings) and ``.npz`` (its
pairs); a rerun reuses a case whose manifest row, grid and settings are unchanged, and a case that was
skipped stays skipped (with its reason) until its row changes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hipbmd import __version__
from hipbmd.decomposition.crop import CropGrid
from hipbmd.decomposition.data import EDGE_MARGIN_MM, PairSet
from hipbmd.decomposition.hip_registration import RegistrationSettings
from hipbmd.decomposition.registered_hips import (
    HipCandidate,
    RegisteredHips,
    bone_poses,
    find_hips,
    register_hips,
)
from hipbmd.decomposition.registered_targets import (
    all_bone_drr,
    drr_camera,
    femur_drr,
    hip_crops,
)
from hipbmd.decomposition.site_case import SiteCase, read_site_case
from hipbmd.errors import InputError
from hipbmd.io.array_files import save_arrays
from hipbmd.io.records import write_json

REGISTERED_FOLDER = "registered"
SUMMARY_FILE = "summary.json"
PAIRS_FROM = "registration"
ARRAYS = ("inputs", "femur_g_cm2", "bone_g_cm2")
__all__ = ["EDGE_MARGIN_MM", "RegisteredCase", "build_registered_pairs", "register_case"]


@dataclass
class RegisteredCase:
    """One case's pairs (arrays (N, H, W), float32) and its record (what was done, kept or dropped)."""

    record: dict[str, Any]
    pairs: list[dict[str, Any]] = field(default_factory=list)
    arrays: dict[str, npt.NDArray[np.float32]] = field(default_factory=dict)


class _Models:
    """The hip localiser and the segmenter, loaded once and only when first needed."""

    def __init__(self) -> None:
        self._localiser: Any = None
        self._segmenter: Any = None

    def localiser(self) -> Any:
        if self._localiser is None:
            from hipbmd.localisation.model_files import load_localiser

            self._localiser = load_localiser()
        return self._localiser

    def segmenter(self, row: dict[str, str]) -> Any:
        if row.get("labels", "").strip() or self._segmenter is not None:
            return self._segmenter
        from hipbmd.segmentation.model_files import load_model

        self._segmenter = load_model()
        return self._segmenter


def build_registered_pairs(
    cohort: Path,
    grid: CropGrid,
    rows: list[dict[str, str]],
    folder: Path,
    settings: RegistrationSettings | None = None,
    on_case: Callable[[int, int], None] | None = None,
) -> tuple[PairSet, dict[str, Any]]:
    """Pairs of every usable hip of the rows, registering each case once (cached under ``folder``).

    Returns:
        The pairs and a summary (cases used and skipped, hips dropped and why, similarities, seconds).

    Raises:
        InputError: no hip of any case could be used (the summary's reasons are in the message).
    """
    settings = settings or RegistrationSettings()
    (folder / REGISTERED_FOLDER).mkdir(parents=True, exist_ok=True)
    models = _Models()
    cases = []
    for done, row in enumerate(rows, start=1):
        case = load_cached(folder, row, grid, settings)
        if case is None:
            case = register_case(cohort, row, grid, settings, models.localiser(), models.segmenter(row))
            save_case(folder, case)
        cases.append(case)
        if on_case is not None:
            on_case(done, len(rows))
    summary = registration_summary([case.record for case in cases])
    write_json(folder / REGISTERED_FOLDER / SUMMARY_FILE, summary)
    pairs = [pair for case in cases for pair in case.pairs]
    if not pairs:
        reasons = "; ".join(f"{c}: {r}" for c, r in list(summary["cases_skipped"].items())[:3])
        raise InputError(cohort, f"no hip could be registered ({reasons or 'see ' + REGISTERED_FOLDER})")
    stacked = {
        name: np.concatenate([case.arrays[name] for case in cases if case.pairs]).astype(np.float16)
        for name in ARRAYS
    }
    return PairSet(stacked["inputs"], stacked["femur_g_cm2"], stacked["bone_g_cm2"], pairs), summary


def register_case(
    cohort: Path,
    row: dict[str, str],
    grid: CropGrid,
    settings: RegistrationSettings,
    localiser: Any = None,
    segmenter: Any = None,
) -> RegisteredCase:
    """Register one manifest row and make its pairs; a case that cannot be used says why in its record."""
    began = time.monotonic()
    record: dict[str, Any] = {
        "hipbmd_version": __version__,
        "case_id": row["case_id"],
        "row": dict(row),
        "grid": grid.to_dict(),
        "settings": settings.to_dict(),
        "reason": None,
        "hips": [],
    }
    try:
        dxa = _dxa_values(row)
        case = read_site_case(cohort, row, segmenter)
    except InputError as error:
        return _finished(RegisteredCase({**record, "reason": error.problem}), began)
    record.update(calibration=case.calibration, labels=case.labels_source)
    found = find_hips(case, localiser)
    record["hips"] = found.dropped
    if not found.candidates:
        record["reason"] = "no usable hip on the radiograph"
        return _finished(RegisteredCase(record), began)
    result = register_hips(case, found.candidates, settings)
    record["hips"] += result.hips
    record["pelvis"] = result.pelvis
    if result.reason is None and not result.used:
        result.reason = "no hip registered well enough"
    if result.reason is not None:
        return _finished(RegisteredCase({**record, "reason": result.reason}), began)
    try:
        registered = _crops(case, result, grid)
    except ValueError as error:  # e.g. a femur whose surroundings cannot be read
        return _finished(RegisteredCase({**record, "reason": f"training targets not made: {error}"}), began)
    heads = registered["head_px"]
    pairs = [_pair_record(row, dxa, hip, heads[i]) for i, hip in enumerate(result.used)]
    return _finished(RegisteredCase(record, pairs, registered), began)


def _crops(case: SiteCase, result: RegisteredHips, grid: CropGrid) -> dict[str, npt.NDArray[np.float32]]:
    """The pairs' arrays of the registered hips."""
    from hipbmd.drr.geometry import camera_from_radiograph
    from hipbmd.io.radiograph_geometry import radiograph_geometry

    camera, _, _ = camera_from_radiograph(case.radiograph)
    coarse = drr_camera(camera)
    magnification = radiograph_geometry(case.radiograph).magnification
    crops = []
    for hip in result.used:
        assert hip.pose is not None, "a used hip has been registered"
        femur = femur_drr(case.density, case.labels, hip.value, coarse, hip.pose)
        poses, pelvis = bone_poses(case, result, hip)
        bone = all_bone_drr(case.density, case.labels, poses, case.pelvis_values(), pelvis, coarse)
        crops.append(
            hip_crops(
                case.radiograph,
                camera,
                (coarse, femur, bone),
                (hip.pose, hip.head_mm),
                grid,
                magnification,
                hip.side == "left",
            )
        )
    return {
        "inputs": np.stack([c.input for c in crops]),
        "femur_g_cm2": np.stack([c.femur_g_cm2 for c in crops]),
        "bone_g_cm2": np.stack([c.bone_g_cm2 for c in crops]),
        "head_px": np.array([c.head_px for c in crops], np.float32),
    }


def _dxa_values(row: dict[str, str]) -> dict[str, float]:
    """The row's DXA values (g/cm²); InputError naming the column when one is missing."""
    values = {}
    for roi in ("neck", "total_hip"):
        column = f"dxa_{roi}_g_cm2"
        try:
            values[column] = float(row.get(column, ""))
        except ValueError:
            raise InputError(row.get("ct", row["case_id"]), f"no {column} in the manifest row") from None
    return values


def _pair_record(
    row: dict[str, str], dxa: dict[str, float], hip: HipCandidate, head_px: npt.ArrayLike
) -> dict[str, Any]:
    return {
        "case_id": row["case_id"],
        "site": row.get("site", ""),
        "side": hip.side,
        "index_side": row.get("side", ""),
        **dxa,
        "pairs_from": PAIRS_FROM,
        "similarity": hip.similarity,
        "head_px": [round(float(v), 2) for v in np.asarray(head_px)],
    }


def _finished(case: RegisteredCase, began: float) -> RegisteredCase:
    case.record["pairs"] = case.pairs
    case.record["seconds"] = round(time.monotonic() - began, 1)
    return case


def case_paths(folder: Path, case_id: str) -> tuple[Path, Path]:
    """The record (.json) and pairs (.npz) files of a case under ``folder``."""
    base = folder / REGISTERED_FOLDER / case_id
    return base.with_suffix(".json"), base.with_suffix(".npz")


def save_case(folder: Path, case: RegisteredCase) -> None:
    """Write a case's pairs, then its record (the record marks the case as finished)."""
    record_path, arrays_path = case_paths(folder, case.record["case_id"])
    record_path.parent.mkdir(parents=True, exist_ok=True)
    if case.pairs:
        save_arrays(arrays_path, case.arrays)
    write_json(record_path, case.record)


def load_cached(
    folder: Path, row: dict[str, str], grid: CropGrid, settings: RegistrationSettings
) -> RegisteredCase | None:
    """A finished case of the same row, grid and settings, else None."""
    record_path, arrays_path = case_paths(folder, row["case_id"])
    try:
        record = json.loads(record_path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    same = (record.get("row"), record.get("grid"), record.get("settings"))
    if same != (dict(row), grid.to_dict(), settings.to_dict()):
        return None
    if not record.get("pairs"):
        return RegisteredCase(record)
    if not arrays_path.is_file():
        return None
    with np.load(arrays_path) as data:
        arrays = {name: np.asarray(data[name], np.float32) for name in data.files}
    return RegisteredCase(record, list(record["pairs"]), arrays)


def read_summary(folder: Path) -> dict[str, Any]:
    """The summary written by the last :func:`build_registered_pairs` into ``folder``."""
    loaded: dict[str, Any] = json.loads((folder / REGISTERED_FOLDER / SUMMARY_FILE).read_text())
    return loaded


def registration_summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Cases used and skipped (with reasons), hips dropped (with reasons), similarities and seconds."""
    hips = [hip for record in records for hip in record.get("hips", [])]
    used = [hip for hip in hips if hip.get("used")]
    similarities = [hip["similarity"] for hip in used]
    return {
        "pairs_from": PAIRS_FROM,
        "cases": len(records),
        "cases_skipped": {r["case_id"]: r["reason"] for r in records if r.get("reason")},
        "hips_used": len(used),
        "hips_dropped": [
            {"case_id": r["case_id"], "side": hip["side"], "reason": hip["reason"]}
            for r in records
            for hip in r.get("hips", [])
            if not hip.get("used")
        ],
        "similarity_range": [min(similarities), max(similarities)] if similarities else None,
        "seconds_per_case_median": float(np.median([r["seconds"] for r in records])) if records else None,
    }
