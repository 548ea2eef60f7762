"""Decompose radiograph crops into femur DRRs, with Monte-Carlo dropout for an uncertainty.

``samples`` passes with the generator's dropout on (run as one batch, seeded) give a mean DRR and its
per-pixel standard deviation (g/cm²); with ``samples = 1`` dropout is off and the SD is zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

from hipbmd.decomposition.networks import Generator
from hipbmd.torch_device import module_device

FloatImage = npt.NDArray[np.float32]


@dataclass
class PredictedDRR:
    """Mean and SD (g/cm², (H, W)) of the femur DRR over the Monte-Carlo samples, and every sample."""

    mean_g_cm2: FloatImage
    sd_g_cm2: FloatImage
    samples_g_cm2: npt.NDArray[np.float32]


def predict_drr(
    generator: Generator, crop_input: FloatImage, samples: int = 8, seed: int = 0
) -> PredictedDRR:
    """Femur DRR of one network-normalised crop (H, W), on the device the generator lives on."""
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    generator.set_mc_dropout(samples > 1)
    try:
        batch = torch.from_numpy(np.ascontiguousarray(crop_input, dtype=np.float32))[None, None]
        batch = batch.to(module_device(generator))
        with torch.no_grad():
            images = generator(batch.expand(max(samples, 1), 1, *crop_input.shape))[:, 0].cpu().numpy()
    finally:
        generator.set_mc_dropout(False)
        torch.random.set_rng_state(state)
    images = np.asarray(images, dtype=np.float32)
    return PredictedDRR(images.mean(axis=0), images.std(axis=0), images)
