from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hipbmd.segmentation.bayesian_unet import BayesianUNet, UNetConfig  # noqa: E402
from hipbmd.segmentation.inference import (  # noqa: E402
    WindowSettings,
    gaussian_weight,
    normalised_entropy,
    predict_probabilities,
    window_starts,
)

TINY = UNetConfig(channels=(2, 4), dropout=0.5)


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


@pytest.mark.parametrize(("length", "size"), [(10, 16), (16, 16), (40, 16), (100, 32)])
def test_windows_cover_the_axis_and_overlap(length: int, size: int) -> None:
    starts = window_starts(length, size, 0.25)
    covered = np.zeros(max(length, size), bool)
    for start in starts:
        covered[start : start + size] = True
    assert covered[:length].all()
    assert starts[-1] + size >= length and starts[0] == 0
    gaps = np.diff(starts)
    assert np.all(gaps <= size * 0.75 + 1)


def test_the_blending_weight_peaks_in_the_middle() -> None:
    weight = gaussian_weight(16)
    assert weight.max() == pytest.approx(1.0, abs=1e-2) and weight.min() >= 1e-3
    assert weight[8, 8, 8] > weight[0, 8, 8]


def test_entropy_is_zero_when_certain_and_one_when_uniform() -> None:
    certain = np.zeros((3, 2, 2, 2), np.float32)
    certain[1] = 1
    uniform = np.full((3, 2, 2, 2), 1 / 3, np.float32)
    assert np.allclose(normalised_entropy(certain), 0, atol=1e-4)
    assert np.allclose(normalised_entropy(uniform), 1, atol=1e-4)


def test_windows_without_bone_are_background_without_a_pass() -> None:
    model = BayesianUNet(TINY).eval()
    hu = np.zeros((20, 12, 12), np.float32)
    result = predict_probabilities(model, hu, WindowSettings(size=8, samples=2))
    assert result.mean.shape == (3, 20, 12, 12)
    assert np.allclose(result.mean[0], 1.0) and np.allclose(result.entropy, 0.0, atol=1e-4)


def test_monte_carlo_sampling_is_seeded() -> None:
    torch.manual_seed(0)
    model = BayesianUNet(TINY).eval().monte_carlo()
    hu = np.random.default_rng(0).normal(300, 300, (16, 16, 16)).astype(np.float32)
    first = predict_probabilities(model, hu, WindowSettings(size=16, samples=3, seed=1))
    again = predict_probabilities(model, hu, WindowSettings(size=16, samples=3, seed=1))
    other = predict_probabilities(model, hu, WindowSettings(size=16, samples=3, seed=2))
    assert np.array_equal(first.mean, again.mean)
    assert not np.allclose(first.mean, other.mean)
    assert np.allclose(first.mean.sum(axis=0), 1.0, atol=1e-5)


def test_without_monte_carlo_the_passes_agree() -> None:
    torch.manual_seed(0)
    model = BayesianUNet(TINY).eval()
    hu = np.random.default_rng(0).normal(300, 300, (16, 16, 16)).astype(np.float32)
    one = predict_probabilities(model, hu, WindowSettings(size=16, samples=1, seed=1))
    two = predict_probabilities(model, hu, WindowSettings(size=16, samples=4, seed=2))
    assert np.allclose(one.mean, two.mean, atol=1e-6)


def test_a_window_size_the_model_cannot_take_is_refused() -> None:
    model = BayesianUNet(UNetConfig(channels=(2, 4, 8))).eval()
    with pytest.raises(ValueError, match="multiple"):
        predict_probabilities(model, np.zeros((8, 8, 8), np.float32), WindowSettings(size=10))
