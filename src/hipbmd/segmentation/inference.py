"""Sliding-window Monte-Carlo inference of the Bayesian U-Net on a whole CT (working grid).

The volume is covered by overlapping cubic windows; each window's class probabilities are the mean of
``samples`` dropout passes (run as one batch), and overlapping windows are blended with a Gaussian
weight that trusts window centres more than edges (as nnU-Net does; Isensee et al., Nat Methods 2021).
Windows holding no voxel above ``bone_hu`` are background without a network pass. The uncertainty
is the predictive entropy of the mean probabilities, divided by ln(C) so it runs from 0 to 1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import product

import numpy as np
import numpy.typing as npt
import torch

from hipbmd.segmentation.bayesian_unet import BayesianUNet, normalise_hu

BONE_HU = 150.0  # windows without any voxel above this hold no bone


@dataclass(frozen=True)
class WindowSettings:
    """How a volume is tiled: cube ``size`` voxels (a multiple of the model's), ``overlap`` fraction."""

    size: int = 64
    overlap: float = 0.25
    samples: int = 6
    seed: int = 0
    bone_hu: float = BONE_HU


@dataclass
class Probabilities:
    """Mean class probabilities (C, X, Y, Z) and normalised predictive entropy (X, Y, Z), 0–1."""

    mean: npt.NDArray[np.float32]
    entropy: npt.NDArray[np.float32]


def window_starts(length: int, size: int, overlap: float) -> list[int]:
    """First indices of windows of ``size`` covering ``length`` with at least ``overlap`` between them."""
    if length <= size:
        return [0]
    stride = max(1, int(size * (1.0 - overlap)))
    count = int(np.ceil((length - size) / stride)) + 1
    return [round(i * (length - size) / (count - 1)) for i in range(count)]


def gaussian_weight(size: int) -> npt.NDArray[np.float32]:
    """Blending weight of a window: a Gaussian of σ = size/8 about its centre, floored at 1e-3."""
    axis = np.arange(size) - (size - 1) / 2.0
    profile = np.exp(-0.5 * (axis / (size / 8.0)) ** 2)
    weight = profile[:, None, None] * profile[None, :, None] * profile[None, None, :]
    return np.asarray(np.maximum(weight / weight.max(), 1e-3), dtype=np.float32)


def predict_probabilities(
    model: BayesianUNet,
    hu: npt.NDArray[np.float32],
    settings: WindowSettings,
    on_window: Callable[[int, int], None] | None = None,
) -> Probabilities:
    """Monte-Carlo mean probabilities and entropy of a CT on the model's working grid (HU in)."""
    padded, crop = _pad(hu, settings.size, model.config.size_multiple)
    classes = len(model.config.classes)
    total = np.zeros((classes, *padded.shape), dtype=np.float32)
    weights = np.zeros(padded.shape, dtype=np.float32)
    weight = gaussian_weight(settings.size)
    windows = list(_windows(padded.shape, settings))
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(settings.seed)
    try:
        for done, corner in enumerate(windows, start=1):
            block = tuple(slice(c, c + settings.size) for c in corner)
            total[(slice(None), *block)] += weight * _window_mean(model, padded[block], settings)
            weights[block] += weight
            if on_window is not None:
                on_window(done, len(windows))
    finally:
        torch.random.set_rng_state(generator_state)
    mean = np.asarray((total / weights)[(slice(None), *crop)], dtype=np.float32)
    return Probabilities(mean, normalised_entropy(mean))


def normalised_entropy(mean: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """−Σ p ln p / ln C over the class axis (0: certain, 1: all classes equally likely)."""
    safe = np.clip(mean, 1e-6, 1.0)
    entropy = -(mean * np.log(safe)).sum(axis=0) / np.log(mean.shape[0])
    return np.asarray(np.clip(entropy, 0.0, 1.0), dtype=np.float32)


def _window_mean(
    model: BayesianUNet, hu_block: npt.NDArray[np.float32], settings: WindowSettings
) -> npt.NDArray[np.float32]:
    classes = len(model.config.classes)
    if float(hu_block.max()) < settings.bone_hu:
        background = np.zeros((classes, *hu_block.shape), dtype=np.float32)
        background[0] = 1.0
        return background
    image = normalise_hu(torch.from_numpy(np.ascontiguousarray(hu_block)), model.config)
    batch = image[None, None].expand(settings.samples, 1, *hu_block.shape)
    with torch.no_grad():
        probabilities = torch.softmax(model(batch), dim=1).mean(dim=0)
    return np.asarray(probabilities.numpy(), dtype=np.float32)


def _windows(shape: tuple[int, ...], settings: WindowSettings) -> Iterator[tuple[int, ...]]:
    starts = [window_starts(length, settings.size, settings.overlap) for length in shape]
    yield from product(*starts)


def _pad(
    hu: npt.NDArray[np.float32], size: int, multiple: int
) -> tuple[npt.NDArray[np.float32], tuple[slice, ...]]:
    """Pad with air to at least one window per axis; return the crop that undoes it."""
    if size % multiple:
        raise ValueError(f"window size {size} is not a multiple of {multiple}")
    target = [max(length, size) for length in hu.shape]
    padding = [(0, t - length) for t, length in zip(target, hu.shape, strict=True)]
    padded = np.pad(hu.astype(np.float32), padding, constant_values=-1000.0)
    return padded, tuple(slice(0, length) for length in hu.shape)
