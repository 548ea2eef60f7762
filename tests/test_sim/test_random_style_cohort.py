"""A coarse cohort in random styles: the same files from the same seed, and the truth of each style."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import pytest

from hipbmd.io.radiograph import read_radiograph
from hipbmd.sim.case_truth import CaseTruth
from hipbmd.sim.cohort import simulate_cohort
from hipbmd.sim.random_style import TRAINING_FAMILIES
from sim_cohort_files import SPEC, file_hashes

# Seed 0 draws an AP hip in DICOM and an AP pelvis exported as a JPEG without spacing.
RANDOM = replace(SPEC, n=2, sites=("site_a_csi", "site_b_csi"), seed=0, styles="random")


@pytest.fixture(scope="module")
def random_cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("random") / "cohort"
    simulate_cohort(RANDOM, folder)
    return folder


def test_random_styles_are_seeded(random_cohort: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    simulate_cohort(RANDOM, again)
    assert file_hashes(again) == file_hashes(random_cohort)


def test_each_case_records_its_style_and_its_file(random_cohort: Path) -> None:
    with (random_cohort / "manifest.csv").open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["style"] in TRAINING_FAMILIES for row in rows] == [True, True]
    names = []
    for row in rows:
        truth = CaseTruth.read(random_cohort / "cases" / row["case_id"])
        assert row["xray"] == f"cases/{row['case_id']}/{truth.radiograph_file}"
        assert truth.document["xray"]["style"]["family"] == row["style"]
        radiograph = read_radiograph(random_cohort / row["xray"])
        assert radiograph.shape == truth.radiograph.shape
        names.append(truth.radiograph_file)
        if truth.radiograph_file != "xray.dcm":
            assert radiograph.pixel_spacing_mm is None
    assert names == ["xray.dcm", "xray.jpg"]


def test_a_reposed_radiograph_keeps_the_case_style(random_cohort: Path) -> None:
    import json

    from hipbmd.sim.case import _case_style

    for request in RANDOM.requests():
        truth = CaseTruth.read(random_cohort / "cases" / request.case_id)
        drawn = json.loads(json.dumps(_case_style(request).summary()))
        assert drawn == truth.document["xray"]["style"]


def test_an_export_is_read_with_the_truth_detector_spacing(random_cohort: Path) -> None:
    from hipbmd.sim.case_truth import read_case_radiograph

    for request in RANDOM.requests():
        truth = CaseTruth.read(random_cohort / "cases" / request.case_id)
        radiograph = read_case_radiograph(
            random_cohort / "cases" / request.case_id / truth.radiograph_file, truth
        )
        assert radiograph.pixel_spacing_mm == pytest.approx(truth.radiograph.pixel_spacing_mm)
        assert (radiograph.spacing_source == "assumed") == (truth.radiograph_file != "xray.dcm")
