"""The same patient in another positioning: pose 0 is the case's own radiograph, pose k ≥ 1 another."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pydicom

from hipbmd.sim.case import simulate_reposed_radiograph
from sim_cohort_files import SPEC


def _digest(path: Path) -> str:
    return hashlib.sha256(pydicom.dcmread(path).PixelData).hexdigest()


def test_pose_zero_is_the_cases_own_radiograph(sim_cohort: Path, tmp_path: Path) -> None:
    request = SPEC.requests()[0]
    written = simulate_reposed_radiograph(request, tmp_path / "pose0", 0)
    assert _digest(written) == _digest(sim_cohort / "cases" / request.case_id / "xray.dcm")


def test_other_poses_differ_but_keep_the_patient(sim_cohort: Path, tmp_path: Path) -> None:
    request = SPEC.requests()[0]
    own = pydicom.dcmread(sim_cohort / "cases" / request.case_id / "xray.dcm")
    first = pydicom.dcmread(simulate_reposed_radiograph(request, tmp_path / "pose1", 1))
    again = pydicom.dcmread(simulate_reposed_radiograph(request, tmp_path / "again", 1))
    second = pydicom.dcmread(simulate_reposed_radiograph(request, tmp_path / "pose2", 2))
    assert first.PixelData == again.PixelData  # seeded by (seed, case, pose)
    assert len({own.PixelData, first.PixelData, second.PixelData}) == 3
    assert first.SOPInstanceUID not in (own.SOPInstanceUID, second.SOPInstanceUID)
    assert first.PatientID == own.PatientID and first.PatientAge == own.PatientAge
    # the same body: mean detector signal within a few per cent of the case's own radiograph
    ratio = np.mean(first.pixel_array.astype(float)) / np.mean(own.pixel_array.astype(float))
    assert 0.8 < ratio < 1.25
