"""``hipbmd segment`` and ``hipbmd ct-bmd`` without labels, with a tiny model trained on the phantom."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from seg_phantom import phantom_ct, phantom_label_volume  # noqa: E402

from hipbmd.cli import main  # noqa: E402
from hipbmd.io.ct import read_labels  # noqa: E402
from hipbmd.io.volume_writers import write_nifti  # noqa: E402
from hipbmd.segmentation.bayesian_unet import UNetConfig  # noqa: E402
from hipbmd.segmentation.train import SegmenterTraining, train_segmenter  # noqa: E402
from hipbmd.segmentation.train_data import training_volume  # noqa: E402

LARGE = (64, 64, 64)  # one whole inference window (64 voxels), so the model sees what it was trained on


@pytest.fixture(scope="module")
def phantom_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("segment")
    config = UNetConfig(channels=(4, 8, 16), spacing_mm=2.0, dropout=0.1)
    volume = training_volume("p", phantom_ct(shape=LARGE), phantom_label_volume(LARGE), 2.0, config.classes)
    settings = SegmenterTraining(  # clean patches: the scan augmentations have their own tests
        iterations=60,
        batch=1,
        patch=32,
        learning_rate=1e-2,
        checkpoint_every=60,
        coarse_scan_probability=0.0,
        cut_scan_probability=0.0,
    )
    train_segmenter([volume], folder / "model", config, settings, {"name": "phantom"})
    ct = write_nifti(phantom_ct(seed=3, shape=LARGE), folder / "ct.nii.gz")
    return ct, folder / "model"


def run(args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["hipbmd", *args])
    with pytest.raises(SystemExit) as done:
        main()
    return int(done.value.code or 0)


def test_segment_writes_labels_uncertainty_and_a_summary(
    phantom_files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ct, model = phantom_files
    args = [
        "segment",
        str(ct),
        "-o",
        str(tmp_path / "labels.nii.gz"),
        "--model",
        str(model),
        "--samples",
        "2",
    ]
    assert run([*args, "--uncertainty", str(tmp_path / "u.nii.gz")], monkeypatch) == 0
    labels = read_labels(tmp_path / "labels.nii.gz")
    assert {1, 2} <= set(np.unique(labels.array).tolist())
    summary = json.loads((tmp_path / "labels.json").read_text())
    assert set(summary["femurs"]) == {"right", "left"} and summary["model"]["samples"] == 2
    assert (tmp_path / "u.nii.gz").is_file()


def test_segment_refuses_a_folder_that_is_not_a_model(
    phantom_files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ct, _ = phantom_files
    args = ["segment", str(ct), "-o", str(tmp_path / "labels.nii.gz"), "--model", str(tmp_path)]
    assert run(args, monkeypatch) == 2
    assert not (tmp_path / "labels.nii.gz").exists()


def test_ct_bmd_without_labels_segments_first(
    phantom_files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ct, model = phantom_files
    args = [
        "ct-bmd",
        str(ct),
        "-o",
        str(tmp_path),
        "--model",
        str(model),
        "--slope",
        "1.0",
        "--intercept",
        "0",
    ]
    code = run(args, monkeypatch)
    record = json.loads((tmp_path / "ct_bmd.json").read_text())
    assert (tmp_path / "labels.nii.gz").is_file() and (tmp_path / "uncertainty.nii.gz").is_file()
    assert set(record["segmentation"]["femurs"]) == {"right", "left"}
    # the phantom's femurs are plain cylinders: no head, so no numbers, and the command says so
    assert code == 1 and not any(side["measured"] for side in record["sides"])
