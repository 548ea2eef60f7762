"""Training material for the hip localiser: cohort radiographs on the working grid with their landmarks.

The truth of a simulated case (``truth.json``) gives each femur's 2-D landmarks in the pixels of the
truth DRR camera (``femur_drr.camera``), which shares the radiograph camera's source–detector distance
and detector plane but has larger pixels. Both cameras put detector millimetres at
(px − principal_point) × pixel_spacing, so a landmark goes to radiograph pixels through that common
plane (:meth:`~hipbmd.sim.case_truth.CaseTruth.drr_to_radiograph_px`). Each radiograph is flipped into
the standard AP display when its PatientOrientation says otherwise, resampled once to the working pitch
and normalised (:func:`~hipbmd.localisation.network.normalise_intensity`); the landmarks follow it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hipbmd.errors import InputError
from hipbmd.localisation.grid import GridMap, to_working_grid
from hipbmd.localisation.heatmaps import IMPLANT_CHANNELS, LANDMARKS
from hipbmd.localisation.network import LocaliserConfig, normalise_intensity
from hipbmd.localisation.orientation import display_orientation, display_transform, to_standard
from hipbmd.sim.case_truth import CaseTruth, read_case_radiograph

# A channel "<side>_<name>" is the truth landmark of that femur (CaseTruth.femur_points_px) named here.
TRUTH_KEYS = {"head": "head_centre", "implant": "head_centre"}


@dataclass
class LocaliserSample:
    """One radiograph on the working grid (standard AP display) with its four landmarks.

    Attributes:
        name: case id.
        image: normalised working image (H, W).
        valid: working pixels inside the original image (H, W).
        landmarks: (K, 2) working (row, col) in the order of the config's channels; may lie outside the
            image; NaN for a femur missing, or for an implant channel of a hip without metal.
        mapping: working ↔ original pixels (of the image in the standard display).
    """

    name: str
    image: npt.NDArray[np.float32]
    valid: npt.NDArray[np.bool_]
    landmarks: npt.NDArray[np.float64]
    mapping: GridMap


def cohort_cases(cohort: Path, first: int = 0, stop: int | None = None) -> list[tuple[str, Path, Path]]:
    """(case id, radiograph, truth.json) of ``manifest.csv`` rows first..stop−1 (sorted by case id)."""
    manifest = cohort / "manifest.csv"
    if not manifest.is_file():
        raise InputError(cohort, "no manifest.csv (not a cohort folder)")
    with manifest.open(newline="") as stream:
        rows = sorted((row for row in csv.DictReader(stream) if row.get("xray")), key=lambda r: r["case_id"])
    chosen = [
        (row["case_id"], cohort / row["xray"], cohort / "cases" / row["case_id"] / "truth.json")
        for row in rows[first:stop]
    ]
    missing = [case for case, _, truth in chosen if not truth.is_file()]
    if not chosen or missing:
        raise InputError(
            manifest, f"rows {first}:{stop}: no cases, or cases without truth.json {missing[:3]}"
        )
    return chosen


def truth_landmarks_px(truth: CaseTruth, names: tuple[str, ...] = LANDMARKS) -> npt.NDArray[np.float64]:
    """The landmarks (K, 2) named ``names`` of a simulated case in its radiograph's pixels.

    A name is "<side>_<landmark>" (see :data:`~hipbmd.localisation.heatmaps.REGION_LANDMARKS`). NaN: a
    femur missing; an implant channel ("right_implant", "left_implant") is the head centre of a hip that
    holds metal, NaN for a hip without.
    """
    points = np.full((len(names), 2), np.nan)
    femurs = {side: truth.femur_points_px(side) for side in ("right", "left")}
    for index, name in enumerate(names):
        side, _, landmark = name.partition("_")
        if name in IMPLANT_CHANNELS and truth.implant_side != side:
            continue
        point = femurs.get(side, {}).get(TRUTH_KEYS.get(landmark, landmark))
        if point is not None:
            points[index] = point
    return points


def load_sample(name: str, xray: Path, truth_path: Path, config: LocaliserConfig) -> LocaliserSample:
    """Read one case and bring it onto the working grid in the standard AP display."""
    truth = CaseTruth.read(truth_path.parent)
    radiograph = read_case_radiograph(xray, truth)
    spacing = radiograph.pixel_spacing_mm
    assert spacing is not None, "read_case_radiograph gives every case a spacing"
    orientation = display_orientation(radiograph)
    image = to_standard(radiograph.array, orientation)
    working, valid, mapping = to_working_grid(image, spacing, config.pitch_mm)
    normalised = normalise_intensity(working, config.percentiles, valid)
    file_to_working = display_transform(orientation, radiograph.shape).then(
        mapping.working_to_original.inverse()
    )
    landmarks = file_to_working.apply(truth_landmarks_px(truth, config.landmarks))
    return LocaliserSample(name, normalised, valid, landmarks, mapping)


def load_samples(
    cases: list[tuple[str, Path, Path]], config: LocaliserConfig, on_case: Any = None
) -> list[LocaliserSample]:
    """:func:`load_sample` of every case; ``on_case(index, case_id)`` is called after each."""
    samples = []
    for index, (name, xray, truth) in enumerate(cases):
        samples.append(load_sample(name, xray, truth, config))
        if on_case is not None:
            on_case(index + 1, name)
    return samples
