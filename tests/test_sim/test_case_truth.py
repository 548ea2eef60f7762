"""A simulated case's truth.json read through CaseTruth: typed fields that agree with the document, the
two detectors' pixels related through the shared detector plane, and a round trip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hipbmd.errors import InputError
from hipbmd.sim.case_truth import CaseTruth, DetectorGrid


def _case(sim_cohort: Path) -> Path:
    return sorted((sim_cohort / "cases").glob("*/truth.json"))[0].parent


def test_the_typed_fields_agree_with_the_document(sim_cohort: Path) -> None:
    folder = _case(sim_cohort)
    document = json.loads((folder / "truth.json").read_text())
    truth = CaseTruth.read(folder)
    assert truth.case_id == document["case_id"] == folder.name
    assert truth.index_side == document["dxa_g_cm2"]["side"]
    assert truth.dxa_g_cm2["neck"] == document["dxa_g_cm2"]["neck"]
    assert truth.magnification == pytest.approx(document["xray"]["sid_mm"] / document["xray"]["sod_mm"])
    assert truth.magnification > 1.0
    assert (folder / truth.femur_drr_file).is_file() and (folder / truth.bone_drr_file).is_file()
    assert set(truth.landmarks_drr_px) == {"right", "left"}


def test_a_truth_round_trips_through_json_text(sim_cohort: Path) -> None:
    truth = CaseTruth.read(_case(sim_cohort))
    again = CaseTruth.from_json(json.loads(json.dumps(truth.to_json())))
    assert again == truth and again.to_json() == truth.to_json()


def test_detector_grids_round_trip_and_invert() -> None:
    grid = DetectorGrid((100, 120), (0.3, 0.25), (49.5, 59.5), 1100.0)
    assert DetectorGrid.from_dict(grid.to_dict()) == grid
    points = np.array([[0.0, 0.0], [10.0, 33.5]])
    np.testing.assert_allclose(grid.to_pixels(grid.to_detector_mm(points)), points)
    np.testing.assert_allclose(grid.to_detector_mm([49.5 + 10.0, 59.5]), [3.0, 0.0])


def test_head_centres_go_to_the_drr_and_back(sim_cohort: Path) -> None:
    truth = CaseTruth.read(_case(sim_cohort))
    head = truth.head_centre_px("right")
    np.testing.assert_allclose(
        truth.radiograph_to_drr_px(head), truth.landmarks_drr_px["right"]["head_centre"]
    )


def test_a_folder_without_a_truth_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"truth\.json: not the truth of a simulated case"):
        CaseTruth.read(tmp_path)
    (tmp_path / "truth.json").write_text(json.dumps({"case_id": "x"}))
    with pytest.raises(InputError, match="missing or malformed"):
        CaseTruth.read(tmp_path)
