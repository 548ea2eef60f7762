"""Every record hipbmd writes has a reader: each class with ``to_dict`` has ``from_dict`` and reads back
what it wrote, through JSON text. Classes whose JSON is a one-way summary of an object holding images or
statistics say so by naming the method ``summary``."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hipbmd.bmd.dxa_calibration import LinearDXAMap
from hipbmd.bmd.record_parts import EstimateOptions, ModelReference, RadiographSummary, ROIMeasurement
from hipbmd.calibration.calibrate import manual_calibration
from hipbmd.decomposition.crop import CropGrid
from hipbmd.decomposition.fit_model import TrainingPlan
from hipbmd.decomposition.hip_registration import RegistrationSettings
from hipbmd.drr.geometry import PoseParameters
from hipbmd.femur.ct_bmd import SideMeasurement
from hipbmd.femur.landmarks import FemurLandmarks
from hipbmd.femur.measure_2d import RegionDensity
from hipbmd.localisation.hip_location import HipLocation
from hipbmd.registration.register import RegistrationReport
from hipbmd.sim.anatomy import JointPose
from hipbmd.sim.case_truth import DetectorGrid
from hipbmd.sim.dxa import DXAModel
from hipbmd.sim.exam import Positioning
from hipbmd.validation.splits import Splits

PACKAGE = Path(__file__).parents[1] / "src" / "hipbmd"
# Records with their own round-trip tests, beside the data they need.
TESTED_ELSEWHERE = {
    "EstimateRecord": "tests/test_bmd/test_estimate_record.py",
    "HipRecord": "tests/test_bmd/test_estimate_record.py",
    "HipCategory": "tests/test_bmd/test_estimate_record.py",
    "HipEvidence": "tests/test_bmd/test_estimate_record.py",
    "IntervalCalibration": "tests/test_bmd/test_interval_calibration.py",
    "OODReference": "tests/test_bmd/test_interval_calibration.py",
    "RegionErrorModel": "tests/test_bmd/test_interval_calibration.py",
    "CaseTruth": "tests/test_sim/test_case_truth.py",
}
# Their modules import torch; _JSONConfig is the generator's and discriminator's base.
TORCH_RECORDS = ("UNetConfig", "LocaliserConfig", "_JSONConfig")


def _landmarks() -> FemurLandmarks:
    def point(*values: float) -> Any:
        return np.asarray(values, dtype=np.float64)

    return FemurLandmarks(
        "left",
        point(-90.0, 10.0, 0.0),
        23.5,
        point(0.7, 0.0, -0.7),
        point(-70.0, 10.0, -20.0),
        point(0.0, 0.0, 1.0),
        point(-60.0, 10.0, -120.0),
        point(-55.0, 15.0, -70.0),
        point(-40.0, 5.0, -30.0),
    )


RECORDS: list[Any] = [
    CropGrid((96, 112), 1.5, (0.3, 0.6)),
    PoseParameters((1.0, -2.0, 3.5), (4.0, 0.0, -1.0), (10.0, 20.0, 30.0), 950.0),
    RegistrationSettings(),
    LinearDXAMap(0.9, 0.05, 0.93, 120, 0.041),
    manual_calibration(1.21, -3.5, "ct.nii.gz"),
    HipLocation("right", (100.0, 220.5), None, 0.8, 0.1, "dicom", ("lesser_trochanter_not_found",)),
    DetectorGrid((200, 240), (0.3, 0.3), (99.5, 119.5), 1100.0),
    RegionDensity(0.81234, 4.2, 3.41, 2100),
    DXAModel(neck_slope=0.93),
    RegistrationReport(
        0.91, 0.5, True, "mapped", [{"factor": 4.0, "similarity": 0.9}], 12.3, ["SID assumed"]
    ),
    Splits((("a", "b"), ("c",)), ("d",), 7, ("site_e",)),
    SideMeasurement(
        "left", {"neck": 0.71}, {"neck": 301.2}, ["x"], {"head_radius_mm": 23.0}, "dxa_left.png", 2.0
    ),
    Positioning(2.0, -1.5, 0.5, (3.0, -4.0), {"right": JointPose(5.0, 2.0, -10.0), "left": JointPose()}),
    TrainingPlan(2, 40, CropGrid(), case_ids=("case_00001", "case_00003")),
    TrainingPlan(register=True, registration=RegistrationSettings()),
    ROIMeasurement("right", "neck", 0.7, (0.6, 0.8), -1.2, 88.0, "osteopenia", "normal"),
    RadiographSummary((0.14, 0.14), "imager", 1.16, "AP", "both", "FOR PROCESSING", 70.0, "M"),
    ModelReference("bmd_gan", "0" * 64),
    EstimateOptions(4, 1, "left", (10.0, 20.0), "yam.csv", 0.2),
    _landmarks(),
]


def _json(record: Any) -> Any:
    return json.loads(json.dumps(record.to_dict()))


@pytest.mark.parametrize("record", RECORDS, ids=lambda record: type(record).__name__)
def test_a_record_reads_back_what_it_wrote(record: Any) -> None:
    again = type(record).from_dict(_json(record))
    assert type(again) is type(record)
    assert _json(again) == _json(record)
    if not isinstance(record, FemurLandmarks | PoseParameters):  # arrays do not compare with ==
        assert again == record


def test_the_network_configs_read_back_what_they_wrote() -> None:
    pytest.importorskip("torch")
    from hipbmd.decomposition.networks import DiscriminatorConfig, GeneratorConfig
    from hipbmd.localisation.network import LocaliserConfig
    from hipbmd.segmentation.bayesian_unet import UNetConfig

    for record in (UNetConfig(channels=(4, 8), spacing_mm=2.5), LocaliserConfig(threshold=0.4)):
        again = type(record).from_dict(_json(record))
        assert again == record and _json(again) == _json(record)
    for config in (GeneratorConfig(base_width=8, dropout=0.2), DiscriminatorConfig()):
        assert type(config).from_json(config.to_json()) == config


def _classes_writing_records() -> dict[str, tuple[bool, Path]]:
    """Class name → (has a reader, file) of every class in the package with ``to_dict``/``to_json``."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                methods = {item.name for item in node.body if isinstance(item, ast.FunctionDef)}
                if methods & {"to_dict", "to_json"}:
                    found[node.name] = (bool(methods & {"from_dict", "from_json"}), path)
    return found


def test_every_class_that_writes_a_record_reads_it_back() -> None:
    found = _classes_writing_records()
    assert len(found) >= 20
    without = sorted(f"{name} ({path.name})" for name, (reader, path) in found.items() if not reader)
    assert not without, f"to_dict without from_dict: {without}"


def test_every_record_has_a_round_trip_test() -> None:
    tested = {type(record).__name__ for record in RECORDS} | set(TESTED_ELSEWHERE) | set(TORCH_RECORDS)
    missing = sorted(set(_classes_writing_records()) - tested)
    assert not missing, f"records without a round-trip test: {missing}"
    root = Path(__file__).parents[1]
    for name, test_file in TESTED_ELSEWHERE.items():
        assert name in (root / test_file).read_text(), (name, test_file)
