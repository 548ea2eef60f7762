"""Segmentation loss: soft-target cross-entropy plus soft Dice of the foreground classes.

Targets are class fractions (the labels resampled to the working grid), so both terms take soft
targets: cross-entropy −Σ t log p averaged over voxels, and Dice 1 − 2Σpt / (Σp + Σt) per foreground
class over the batch (Milletari et al., 3DV 2016), averaged over classes.
"""

from __future__ import annotations

import torch


def soft_dice_loss(probabilities: torch.Tensor, targets: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """Mean over foreground classes of 1 − Dice; probabilities and targets (B, C, X, Y, Z)."""
    axes = (0, 2, 3, 4)
    overlap = (probabilities * targets).sum(dim=axes)
    total = probabilities.sum(dim=axes) + targets.sum(dim=axes)
    dice = (2.0 * overlap + smooth) / (total + smooth)
    return 1.0 - dice[1:].mean()


def segmentation_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy with soft targets + soft Dice; logits and targets (B, C, X, Y, Z)."""
    cross_entropy = torch.nn.functional.cross_entropy(logits, targets)
    return cross_entropy + soft_dice_loss(torch.softmax(logits, dim=1), targets)
