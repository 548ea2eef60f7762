"""Training augmentation that keeps radiograph and targets aligned, plus radiograph-only intensity changes.

Geometry (applied identically to input and targets, bilinear, zeros outside): rotation ±``rotation_deg``,
isotropic scale ±``scale``, shift ±``shift_px``. Intensity (input only, on the normalised crop): a
gamma in [1/γ, γ] on the 0–1 range, contrast ×(1 ± c), offset ± o, and Gaussian noise of SD up to σ,
as sites process and expose radiographs differently. Targets keep their physical units (g/cm²).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812


@dataclass(frozen=True)
class Augmentation:
    """Ranges of the random changes (0 turns one off)."""

    rotation_deg: float = 5.0
    scale: float = 0.06
    shift_px: float = 6.0
    gamma: float = 1.4
    contrast: float = 0.15
    offset: float = 0.08
    noise: float = 0.03


def augment(
    inputs: torch.Tensor, targets: torch.Tensor, settings: Augmentation, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Augmented copies of inputs (B, 1, H, W) and targets (B, C, H, W)."""
    grid = _random_grid(inputs, settings, generator)
    moved_inputs = F.grid_sample(inputs, grid, mode="bilinear", padding_mode="border", align_corners=False)
    moved_targets = F.grid_sample(targets, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return _intensity(moved_inputs, settings, generator), moved_targets


def _uniform(count: int, half_range: float, generator: torch.Generator) -> torch.Tensor:
    return (torch.rand(count, generator=generator) * 2.0 - 1.0) * half_range


def _random_grid(inputs: torch.Tensor, settings: Augmentation, generator: torch.Generator) -> torch.Tensor:
    batch, _, height, width = inputs.shape
    angle = _uniform(batch, math.radians(settings.rotation_deg), generator)
    scale = 1.0 + _uniform(batch, settings.scale, generator)
    shift = torch.stack(
        [
            _uniform(batch, settings.shift_px * 2.0 / width, generator),
            _uniform(batch, settings.shift_px * 2.0 / height, generator),
        ],
        dim=1,
    )
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )
    return F.affine_grid(theta, [batch, 1, height, width], align_corners=False)


def _intensity(inputs: torch.Tensor, settings: Augmentation, generator: torch.Generator) -> torch.Tensor:
    batch = inputs.shape[0]
    shape = (batch, 1, 1, 1)
    log_gamma = (
        _uniform(batch, math.log(settings.gamma), generator).view(shape) if settings.gamma > 1 else 0.0
    )
    gamma = torch.exp(torch.as_tensor(log_gamma))
    curved = inputs.clamp(0.0, 1.0) ** gamma + (inputs - inputs.clamp(0.0, 1.0))
    contrast = 1.0 + _uniform(batch, settings.contrast, generator).view(shape)
    offset = _uniform(batch, settings.offset, generator).view(shape)
    sigma = torch.rand(batch, generator=generator).view(shape) * settings.noise
    noise = torch.randn(inputs.shape, generator=generator) * sigma
    return curved * contrast + offset + noise
