from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hipbmd.decomposition.augment import Augmentation, augment  # noqa: E402
from hipbmd.decomposition.crop import CropGrid  # noqa: E402
from hipbmd.decomposition.data import PairSet  # noqa: E402
from hipbmd.decomposition.model_files import load_decomposition_model, save_decomposition_model  # noqa: E402
from hipbmd.decomposition.networks import GeneratorConfig  # noqa: E402
from hipbmd.decomposition.predict import predict_drr  # noqa: E402
from hipbmd.decomposition.train import GANSettings, new_trainer, save_gan_curves, train_gan  # noqa: E402
from hipbmd.errors import InputError  # noqa: E402

GEOMETRY_ONLY = Augmentation(gamma=1.0, contrast=0.0, offset=0.0, noise=0.0, processing_probability=0.0)


def tiny_pairs(count: int = 6, size: int = 32) -> PairSet:
    rng = np.random.default_rng(0)
    rows, cols = np.indices((size, size))
    inputs, femurs = [], []
    for _ in range(count):
        centre = rng.uniform(10, size - 10, 2)
        disc = ((rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 < 36).astype(np.float32)
        inputs.append(0.2 + 0.6 * disc + rng.normal(0, 0.02, disc.shape))
        femurs.append(0.8 * disc)
    stack = np.stack(inputs).astype(np.float16), np.stack(femurs).astype(np.float16)
    return PairSet(
        stack[0], stack[1], (stack[1] * 1.5).astype(np.float16), [{"case_id": str(i)} for i in range(count)]
    )


def test_geometric_augmentation_moves_input_and_target_together() -> None:
    image = torch.zeros(3, 1, 32, 32)
    image[:, :, 10:20, 12:22] = 1.0
    moved_input, moved_target = augment(image, image.clone(), GEOMETRY_ONLY, torch.Generator().manual_seed(1))
    assert torch.allclose(moved_input, moved_target, atol=1e-6)
    assert not torch.allclose(moved_input, image)


def test_intensity_augmentation_leaves_the_target_alone() -> None:
    image = torch.rand(2, 1, 32, 32)
    settings = Augmentation(rotation_deg=0.0, scale=0.0, shift_px=0.0)
    moved_input, moved_target = augment(image, image.clone(), settings, torch.Generator().manual_seed(2))
    assert torch.allclose(moved_target, image, atol=1e-5)
    assert not torch.allclose(moved_input, image, atol=1e-3)


def test_two_stages_train_resume_and_save(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    pairs = tiny_pairs()
    settings = GANSettings(iterations=(2, 2), batch=2, checkpoint_every=2, seed=3)
    config = GeneratorConfig(base_width=4)
    trainer = train_gan(new_trainer(config, settings), pairs, settings, tmp_path / "checkpoint.pt")
    assert [entry["stage"] for entry in trainer.history] == [0.0, 0.0, 1.0, 1.0]
    assert all(np.isfinite(entry["l1_g_cm2"]) for entry in trainer.history)
    resumed = train_gan(new_trainer(config, settings), pairs, settings, tmp_path / "checkpoint.pt")
    assert len(resumed.history) == 4  # nothing left to do: restored, not retrained
    for name, tensor in trainer.generator.state_dict().items():
        assert torch.equal(tensor, resumed.generator.state_dict()[name])
    save_gan_curves(trainer.history, tmp_path / "curves.png")
    grid = CropGrid(shape=(32, 32), spacing_mm=2.0)
    save_decomposition_model(
        trainer.generator, grid, tmp_path / "m", {"name": "tiny"}, {"neck": {"slope": 1.0}}
    )
    loaded = load_decomposition_model(tmp_path / "m")
    assert loaded.grid == grid and loaded.dxa_calibration == {"neck": {"slope": 1.0}}
    prediction = predict_drr(loaded.generator, pairs.inputs[0].astype(np.float32), samples=4)
    assert prediction.mean_g_cm2.shape == (32, 32) and prediction.samples_g_cm2.shape == (4, 32, 32)
    assert (prediction.mean_g_cm2 >= 0).all() and prediction.sd_g_cm2.max() > 0
    single = predict_drr(loaded.generator, pairs.inputs[0].astype(np.float32), samples=1)
    assert single.sd_g_cm2.max() == 0.0
    (tmp_path / "m" / "model.safetensors").write_bytes(b"changed")
    with pytest.raises(InputError, match="sha256"):
        load_decomposition_model(tmp_path / "m")


def test_a_pair_set_round_trips_with_its_grid_and_cases(tmp_path: Path) -> None:
    pairs = tiny_pairs(3)
    grid = CropGrid(shape=(32, 32), spacing_mm=2.0)
    pairs.save(tmp_path / "pairs.npz", grid, ["case_a", "case_b"])
    loaded, loaded_grid, cases = PairSet.load(tmp_path / "pairs.npz")
    assert loaded_grid == grid and cases == ["case_a", "case_b"] and loaded.records == pairs.records
    assert np.array_equal(loaded.inputs, pairs.inputs) and np.array_equal(loaded.bone_g_cm2, pairs.bone_g_cm2)


def test_training_can_start_from_another_models_generator(tmp_path: Path) -> None:
    from hipbmd.decomposition.fit_model import TrainingPlan, initial_weights

    torch.set_num_threads(1)
    grid = CropGrid(shape=(32, 32), spacing_mm=2.0)
    config = GeneratorConfig(base_width=4)
    settings = GANSettings(iterations=(0, 2), batch=2, checkpoint_every=2, seed=3)
    first = train_gan(new_trainer(config, settings), tiny_pairs(), settings, None)
    save_decomposition_model(first.generator, grid, tmp_path / "first", {"name": "first"})
    plan = TrainingPlan(grid=grid, generator=config, gan=GANSettings(seed=9))
    fresh = new_trainer(config, plan.gan)
    assert not all(
        torch.equal(t, first.generator.state_dict()[n]) for n, t in fresh.generator.state_dict().items()
    )
    loaded = initial_weights(fresh, plan, tmp_path / "first")
    assert loaded["name"] == "first" and len(loaded["sha256"]) == 64
    for name, tensor in fresh.generator.state_dict().items():
        assert torch.equal(tensor, first.generator.state_dict()[name])
    wider = TrainingPlan(grid=grid, generator=GeneratorConfig(base_width=8))
    with pytest.raises(InputError, match="generator"):
        initial_weights(new_trainer(wider.generator, wider.gan), wider, tmp_path / "first")
    other_grid = TrainingPlan(grid=CropGrid(shape=(64, 64), spacing_mm=2.0), generator=config)
    with pytest.raises(InputError, match="grid"):
        initial_weights(new_trainer(config, other_grid.gan), other_grid, tmp_path / "first")
