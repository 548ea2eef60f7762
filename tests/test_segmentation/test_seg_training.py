from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from seg_phantom import phantom_ct, phantom_label_volume, phantom_labels  # noqa: E402

from hipbmd.segmentation.bayesian_unet import UNetConfig  # noqa: E402
from hipbmd.segmentation.inference import WindowSettings  # noqa: E402
from hipbmd.segmentation.losses import segmentation_loss, soft_dice_loss  # noqa: E402
from hipbmd.segmentation.model_files import load_model  # noqa: E402
from hipbmd.segmentation.segment import segment_ct  # noqa: E402
from hipbmd.segmentation.train import SegmenterTraining, train_segmenter  # noqa: E402
from hipbmd.segmentation.train_data import PatchSampler, midline_x_mm, side_half, training_volume  # noqa: E402

CONFIG = UNetConfig(channels=(4, 8, 16), spacing_mm=2.0, dropout=0.1)


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


def test_soft_dice_of_a_perfect_prediction_is_zero() -> None:
    targets = torch.zeros(1, 3, 4, 4, 4)
    targets[:, 1, :2] = 1
    targets[:, 2, 2:, :2] = 1
    targets[:, 0, 2:, 2:] = 1
    assert float(soft_dice_loss(targets, targets, smooth=0.0)) == pytest.approx(0.0, abs=1e-6)
    confident = torch.log(targets.clamp(1e-6))
    assert float(segmentation_loss(confident * 50, targets)) < 1e-3


def test_training_targets_are_class_fractions_on_the_working_grid() -> None:
    volume = training_volume("p", phantom_ct(), phantom_label_volume(), 2.0, CONFIG.classes)
    assert volume.targets.shape == (3, *phantom_ct().array.shape)
    assert np.allclose(volume.targets.astype(np.float32).sum(axis=0), 1.0, atol=1e-2)
    femur = volume.targets[1] > 0.5
    assert femur.sum() == np.isin(phantom_labels(), (1, 2)).sum()


def test_patches_keep_ct_and_target_aligned() -> None:
    volume = training_volume("p", phantom_ct(), phantom_label_volume(), 2.0, CONFIG.classes)
    sampler = PatchSampler([volume], 16, seed=3)
    hu, targets = sampler.batch(6)
    assert hu.shape == (6, 1, 16, 16, 16) and targets.shape == (6, 3, 16, 16, 16)
    bone = targets[:, 1:].sum(axis=1) > 0.5
    assert hu[:, 0][bone].mean() > 500 and hu[:, 0][~bone].mean() < 100


def test_a_tiny_model_learns_the_phantom_and_the_run_resumes(tmp_path: Path) -> None:
    volume = training_volume("p", phantom_ct(), phantom_label_volume(), 2.0, CONFIG.classes)
    settings = SegmenterTraining(  # clean patches: the scan augmentations have their own tests
        iterations=90,
        batch=2,
        patch=16,
        learning_rate=1e-2,
        checkpoint_every=30,
        coarse_scan_probability=0.0,
        cut_scan_probability=0.0,
    )
    same_run = SegmenterTraining(**settings.__dict__)
    train_segmenter([volume], tmp_path / "m", CONFIG, settings, {"name": "phantom", "command": "test"})
    assert (tmp_path / "m" / "loss_curve.png").stat().st_size > 1000
    model = load_model(tmp_path / "m")
    result = segment_ct(phantom_ct(seed=5), model, WindowSettings(size=16, samples=2))
    truth = phantom_labels()
    for value, side in ((1, "right"), (2, "left")):
        found, expected = result.labels.array == value, truth == value
        dice = 2 * (found & expected).sum() / (found.sum() + expected.sum())
        assert dice > 0.8, side
    assert result.uncertainty.unit == "fraction" and result.uncertainty.array.max() <= 1.0
    assert set(result.femurs) == {"right", "left"}
    # a finished run resumes at its end: no more steps, same weights
    before = {k: v.clone() for k, v in model.state_dict().items()}
    again = train_segmenter([volume], tmp_path / "m", CONFIG, same_run, {"name": "phantom"})
    assert all(torch.equal(before[k], v) for k, v in again.state_dict().items())


@pytest.mark.parametrize("side", ["right", "left"])
def test_one_side_of_a_scan_is_kept_and_the_other_held_out(side: str) -> None:
    """The phantom's right femur (label 1) lies at +x (RAS+), its left at −x, the pelvis across both."""
    volume = training_volume("p", phantom_ct(), phantom_label_volume(), 2.0, CONFIG.classes, keep_side=side)
    full = training_volume("p", phantom_ct(), phantom_label_volume(), 2.0, CONFIG.classes)
    kept_femur = (volume.targets[1] > 0.5).sum()
    assert kept_femur == (phantom_labels() == (1 if side == "right" else 2)).sum()
    assert volume.hu.shape[0] == full.hu.shape[0] // 2 and volume.hu.shape[1:] == full.hu.shape[1:]
    assert all(len(found) for found in volume.centres)  # femur and pelvis patches still to draw


def test_side_half_follows_the_axis_direction() -> None:
    right_going = np.diag([2.0, 2.0, 2.0, 1.0])
    left_going = np.diag([-2.0, 2.0, 2.0, 1.0])
    assert side_half(right_going, 10, 9.0, "right") == slice(5, 10)  # x = 0, 2, ..., 18: x >= 9 from 5
    assert side_half(right_going, 10, 9.0, "left") == slice(0, 5)
    assert side_half(left_going, 10, -9.0, "left") == slice(5, 10)
    with pytest.raises(ValueError, match="side"):
        side_half(right_going, 10, 9.0, "both")


def test_a_scan_without_femurs_or_pelvis_has_no_midline() -> None:
    labels = phantom_label_volume()
    labels.array[labels.array == 2] = 0
    labels.array[labels.array == 7] = 0
    with pytest.raises(ValueError, match="midline"):
        midline_x_mm(labels)
