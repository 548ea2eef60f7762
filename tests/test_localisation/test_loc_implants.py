"""Implant channels: truth targets per side, the mirror of six channels, a tiny model that learns metal."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pytest

torch = pytest.importorskip("torch")

from test_loc_tiny_training import PITCH_MM, SIZE, STILL_VIEWS, _hips  # noqa: E402

from hipbmd.localisation.data import LocaliserSample, truth_landmarks_px  # noqa: E402
from hipbmd.localisation.grid import grid_map  # noqa: E402
from hipbmd.localisation.heatmaps import LANDMARKS_WITH_IMPLANTS, mirror_landmarks, mirrored_order  # noqa: E402
from hipbmd.localisation.locate import locate_hips  # noqa: E402
from hipbmd.localisation.network import LocaliserConfig  # noqa: E402
from hipbmd.localisation.train import LocaliserTraining, train_localiser  # noqa: E402
from hipbmd.sim.case_truth import CaseTruth  # noqa: E402
from hipbmd.types import Radiograph  # noqa: E402

CONFIG = LocaliserConfig(
    landmarks=LANDMARKS_WITH_IMPLANTS, channels=(8, 16), pitch_mm=PITCH_MM, size=SIZE, sigma_px=2.0
)


def test_the_mirror_swaps_implant_channels_with_the_sides() -> None:
    assert mirrored_order(LANDMARKS_WITH_IMPLANTS) == [2, 3, 0, 1, 5, 4]
    points = np.arange(12, dtype=np.float64).reshape(6, 2)
    mirrored = mirror_landmarks(points, 10, LANDMARKS_WITH_IMPLANTS)
    assert mirrored[4].tolist() == [10.0, 9.0 - 11.0]


def test_the_implant_target_is_the_head_of_the_hip_with_metal() -> None:
    camera = {
        "shape": [100, 100],
        "sdd_mm": 1100.0,
        "pixel_spacing_mm": [1.0, 1.0],
        "principal_point_px": [50.0, 50.0],
    }
    femur = {"landmarks_drr_px": {"head_centre": [40.0, 30.0], "lesser_trochanter": [60.0, 35.0]}}
    truth = CaseTruth.from_json(
        {
            "case_id": "case",
            "site": "site_a_csi",
            "patient": {"sex": "F", "age_years": 70.0, "implant": {"kind": "screws", "side": "left"}},
            "dxa_g_cm2": {"side": "right", "neck": 0.7, "total_hip": 0.8},
            "xray": {"side": "both", "sid_mm": 1100.0, "sod_mm": 950.0, "camera": camera},
            "femur_drr": {"file": "f.npz", "camera": camera},
            "bone_drr": {"file": "b.npz", "camera": camera},
            "femurs": {"right": femur, "left": {"landmarks_drr_px": {"head_centre": [41.0, 70.0]}}},
        }
    )
    points = truth_landmarks_px(truth, LANDMARKS_WITH_IMPLANTS)
    assert np.isnan(points[4]).all()  # the right hip is native
    assert points[5].tolist() == points[2].tolist() == [41.0, 70.0]  # the left holds the screws


def _with_metal(
    rng: np.random.Generator, metal_side: int | None
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float64]]:
    """A synthetic pair of hips; ``metal_side`` 0 (right) or 1 (left) gets a saturated stem in its head."""
    image, landmarks = _hips(rng)
    implants = np.full((2, 2), np.nan)
    if metal_side is not None:
        head = landmarks[2 * metal_side]
        rows, cols = np.indices(image.shape)
        image[(np.abs(cols - head[1]) <= 1.5) & (rows >= head[0] - 3) & (rows <= head[0] + 12)] = 2.5
        implants[metal_side] = head
    return image, np.concatenate([landmarks, implants])


@pytest.fixture(scope="module")
def model() -> Iterator[object]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rng = np.random.default_rng(5)
    mapping = grid_map((SIZE, SIZE), (PITCH_MM, PITCH_MM), PITCH_MM)
    samples = []
    for index, metal in enumerate([0, 1, None, 0, 1, None, 0, 1]):
        image, landmarks = _with_metal(rng, metal)
        samples.append(LocaliserSample(f"s{index}", image, np.ones_like(image, bool), landmarks, mapping))
    settings = LocaliserTraining(iterations=300, batch=4, learning_rate=5e-3, peak_weight=20.0)
    trained, _ = train_localiser(samples, CONFIG, settings, STILL_VIEWS)
    yield trained
    torch.set_num_threads(threads)


@pytest.mark.parametrize("metal_side", [0, 1])
def test_a_tiny_model_tells_the_hip_with_metal(model: object, metal_side: int) -> None:
    image, _ = _with_metal(np.random.default_rng(50 + metal_side), metal_side)
    radiograph = Radiograph(image, (PITCH_MM, PITCH_MM), "imager", meta={"patient_orientation": ["L", "F"]})
    hips = {hip.side: hip for hip in locate_hips(radiograph, model)}
    metal, native = ("right", "left") if metal_side == 0 else ("left", "right")
    assert hips[metal].implant_probability is not None and hips[native].implant_probability is not None
    assert hips[metal].implant_probability > 0.5 > hips[native].implant_probability


def test_a_localiser_without_implant_channels_says_nothing_of_metal() -> None:
    from hipbmd.localisation.network import HipLocaliser

    plain = HipLocaliser(LocaliserConfig(channels=(8, 16), pitch_mm=PITCH_MM, size=SIZE, threshold=0.0))
    image, _ = _hips(np.random.default_rng(1))
    hips = locate_hips(Radiograph(image, (PITCH_MM, PITCH_MM), "imager"), plain)
    assert hips and all(hip.implant_probability is None for hip in hips)


def test_training_on_two_cohorts_with_implant_channels_writes_them(
    sim_cohort: object, tmp_path: object
) -> None:
    import json
    from pathlib import Path

    from hipbmd.localisation.model_files import load_localiser
    from hipbmd.localisation.train import main

    cohort, output = Path(str(sim_cohort)), Path(str(tmp_path)) / "localiser"
    args = ["--cohort", str(cohort), "--cohort", str(cohort), "--cases", "0:2", "--eval-cases", "2:3"]
    args += ["-o", str(output), "--iterations", "2", "--batch", "2", "--channels", "4,8", "--implants"]
    assert main(args) == 0
    record = json.loads((output / "model.json").read_text())
    assert len(record["training"]["samples"]) == 4
    assert "--cohort COHORT1 --cohort COHORT2" in record["training"]["command"]
    assert "--implants" in record["training"]["command"]
    assert load_localiser(output).config.landmarks == LANDMARKS_WITH_IMPLANTS
    assert record["evaluation"]["hips_present"] == 1


def test_implant_recall_and_false_alarms_count_the_hips_found() -> None:
    from hipbmd.localisation.evaluate import _implant_rates

    rows = [
        {"implant": True, "implant_probability": 0.9},
        {"implant": True, "implant_probability": 0.3},
        {"implant": False, "implant_probability": 0.6},
        {"implant": False, "implant_probability": 0.1},
        {"implant": False, "implant_probability": 0.0},
        {"implant": False, "implant_probability": 0.2},
    ]
    rates = _implant_rates(rows)
    assert (rates["implant_hips"], rates["implant_recall"]) == (2, 0.5)
    assert (rates["native_hips"], rates["implant_false_alarm_rate"]) == (4, 0.25)
    assert _implant_rates([{"implant": True, "implant_probability": None}]) == {}
