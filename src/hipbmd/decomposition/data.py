"""Training pairs for the decomposition network: radiograph crops and the DRRs they should become.

For each hip shown on a cohort radiograph (hips with an implant left out): the radiograph cropped to
the model grid (:mod:`hipbmd.decomposition.crop`, network-normalised), and on the same grid the femur
DRR of that side and the all-bone DRR (both g/cm², physical units kept), from the simulator's truth:
the DRRs are
rendered on the radiograph's detector with pixels ``3×`` larger, so radiograph pixel p and DRR pixel q
see the same detector point when (p − p0)·Δ = (q − q0)·Δ' (principal points p0, q0 and pixel sizes Δ,
Δ' of the two cameras in ``truth.json``). An AP hip view gives its one hip, an AP pelvis both.

Pairs are kept in one ``.npz`` (inputs and targets as float16, plus per-pair case id, side, site and
the DXA values of the case's index side), built once per cohort and reused by training.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hipbmd.decomposition.crop import CropGrid, CropPlacement, normalise_radiograph, sample_crop
from hipbmd.errors import InputError
from hipbmd.io.array_files import save_arrays
from hipbmd.io.radiograph import read_radiograph
from hipbmd.sim.case_truth import CaseTruth

SIDES = ("right", "left")
EDGE_MARGIN_MM = 30.0  # a head closer than this to the image edge is not a usable hip


@dataclass
class PairSet:
    """Aligned arrays (N, H, W): network input, femur DRR and all-bone DRR (g/cm²), and per-pair records."""

    inputs: npt.NDArray[np.float16]
    femur_g_cm2: npt.NDArray[np.float16]
    bone_g_cm2: npt.NDArray[np.float16]
    records: list[dict[str, Any]]

    def save(self, path: Path, grid: CropGrid, cases: list[str] | None = None) -> Path:
        """Write the set as one deterministic ``.npz`` with its grid, the cases it was built from and
        its records as JSON."""
        meta = json.dumps({"grid": grid.to_dict(), "cases": cases, "records": self.records})
        arrays = {"inputs": self.inputs, "femur_g_cm2": self.femur_g_cm2, "bone_g_cm2": self.bone_g_cm2}
        save_arrays(path, {**arrays, "meta": np.frombuffer(meta.encode(), dtype=np.uint8)})
        return path

    @classmethod
    def joined(cls, sets: list[PairSet]) -> PairSet:
        """One set of the pairs of several, in order."""
        return cls(
            np.concatenate([pairs.inputs for pairs in sets]),
            np.concatenate([pairs.femur_g_cm2 for pairs in sets]),
            np.concatenate([pairs.bone_g_cm2 for pairs in sets]),
            [record for pairs in sets for record in pairs.records],
        )

    @classmethod
    def load(cls, path: Path) -> tuple[PairSet, CropGrid, list[str] | None]:
        """Read a set written by :meth:`save`: the pairs, their grid and the cases they came from."""
        with np.load(path) as data:
            meta = json.loads(bytes(data["meta"]).decode())
            pairs = cls(data["inputs"], data["femur_g_cm2"], data["bone_g_cm2"], meta["records"])
        return pairs, CropGrid.from_dict(meta["grid"]), meta.get("cases")


def case_rows(cohort: Path) -> list[dict[str, str]]:
    """Rows of a cohort's ``manifest.csv``, sorted by case id."""
    manifest = cohort / "manifest.csv"
    if not manifest.is_file():
        raise InputError(cohort, "no manifest.csv (not a cohort folder)")
    with manifest.open(newline="") as stream:
        return sorted(csv.DictReader(stream), key=lambda row: row["case_id"])


def build_pairs(
    cohort: Path,
    grid: CropGrid,
    rows: list[dict[str, str]],
    on_case: Callable[[int, int], None] | None = None,
) -> PairSet:
    """Pairs of every usable hip of the given manifest rows (simulated cases: truth.json beside them)."""
    inputs, femurs, bones, records = [], [], [], []
    for done, row in enumerate(rows, start=1):
        for pair in case_pairs(cohort, row, grid):
            inputs.append(pair[0])
            femurs.append(pair[1])
            bones.append(pair[2])
            records.append(pair[3])
        if on_case is not None:
            on_case(done, len(rows))
    if not records:
        raise InputError(cohort, "no usable hip in the cases given")
    stack = lambda images: np.stack(images).astype(np.float16)  # noqa: E731
    return PairSet(stack(inputs), stack(femurs), stack(bones), records)


def case_pairs(
    cohort: Path, row: dict[str, str], grid: CropGrid
) -> list[tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32], dict[str, Any]]]:
    """(input, femur DRR, bone DRR, record) of each usable hip of one simulated case."""
    folder = (cohort / row["xray"]).parent
    truth = CaseTruth.read(folder)
    radiograph = read_radiograph(cohort / row["xray"])
    femur_drrs = np.load(folder / truth.femur_drr_file)
    bone_drr = np.load(folder / truth.bone_drr_file)["all_bone"]
    pairs = []
    for side in usable_sides(truth, radiograph.shape):
        head = truth.head_centre_px(side)
        spacing = truth.radiograph.pixel_spacing_mm
        mirror = side == "left"
        placement = CropPlacement((float(head[0]), float(head[1])), spacing, truth.magnification, mirror)
        drr_placement = _on_drr(truth, placement)
        record = {
            "case_id": row["case_id"],
            "site": row["site"],
            "side": side,
            "index_side": truth.index_side,
            "dxa_neck_g_cm2": truth.dxa_g_cm2["neck"],
            "dxa_total_hip_g_cm2": truth.dxa_g_cm2["total_hip"],
        }
        pairs.append(
            (
                normalise_radiograph(sample_crop(radiograph.array, grid, placement, outside=None)),
                sample_crop(femur_drrs[side], grid, drr_placement),
                sample_crop(bone_drr, grid, drr_placement),
                record,
            )
        )
    return pairs


def usable_sides(truth: CaseTruth, shape: tuple[int, int]) -> list[str]:
    """Sides whose head centre lies on the radiograph at least :data:`EDGE_MARGIN_MM` from its edges,
    without an implant (a hip with metal gets no BMD, so it does not teach the network one)."""
    margin = EDGE_MARGIN_MM / np.array(truth.radiograph.pixel_spacing_mm)
    sides = []
    for side in SIDES if truth.shown_side in (None, "both") else (truth.shown_side,):
        if truth.implant_side == side:
            continue
        head = truth.head_centre_px(side)
        if np.all(head >= margin) and np.all(head <= np.array(shape) - 1 - margin):
            sides.append(side)
    return sides


def _on_drr(truth: CaseTruth, placement: CropPlacement) -> CropPlacement:
    """The same crop placed on the truth-DRR pixels."""
    head = truth.radiograph_to_drr_px(placement.head_px)
    spacing = truth.drr.pixel_spacing_mm
    return CropPlacement((float(head[0]), float(head[1])), spacing, placement.magnification, placement.mirror)
