"""Train the decomposition network (BMD-GAN) on radiograph/DRR pairs: the work behind ``hipbmd train``.

Hierarchical learning (Gu et al., MICCAI 2022): stage 1 learns radiograph → all-bone DRR, stage 2
continues from those weights to radiograph → femur DRR. Each iteration: one discriminator step (LSGAN
on (radiograph, DRR) pairs, two scales) and one generator step (L1 ×100, gradient correlation ×1,
feature matching ×10, LSGAN ×1; :mod:`hipbmd.decomposition.losses`), AdamW for both, a cosine decay
of the learning rate within each stage, augmentation from :mod:`hipbmd.decomposition.augment`; seeded.
A checkpoint every ``checkpoint_every`` iterations lets a run resume; the loss curve is drawn at the end.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hipbmd.decomposition.augment import Augmentation, augment
from hipbmd.decomposition.data import PairSet
from hipbmd.decomposition.losses import LossWeights, generator_loss, lsgan_discriminator_loss
from hipbmd.decomposition.networks import DiscriminatorConfig, Generator, GeneratorConfig, PatchDiscriminator
from hipbmd.io.checkpoint import load_checkpoint

CHECKPOINT_FILE = "checkpoint.pt"
STAGES = ("bone", "femur")


@dataclass(frozen=True)
class GANSettings:
    """Iterations per stage (bone, femur), batch, learning rates, seed and checkpoint period."""

    iterations: tuple[int, int] = (600, 1400)
    batch: int = 8
    generator_lr: float = 2e-4
    discriminator_lr: float = 2e-4
    weight_decay: float = 1e-4
    seed: int = 0
    checkpoint_every: int = 100
    weights: LossWeights = field(default_factory=LossWeights)
    augmentation: Augmentation = field(default_factory=Augmentation)


@dataclass
class Trainer:
    """Networks, optimisers and progress of one training run."""

    generator: Generator
    discriminator: PatchDiscriminator
    optimisers: tuple[torch.optim.Optimizer, torch.optim.Optimizer]
    random: torch.Generator
    history: list[dict[str, float]] = field(default_factory=list)


def new_trainer(generator_config: GeneratorConfig, settings: GANSettings) -> Trainer:
    """Fresh networks and optimisers, seeded."""
    torch.manual_seed(settings.seed)
    generator = Generator(generator_config)
    discriminator = PatchDiscriminator(DiscriminatorConfig())
    betas = (0.5, 0.999)
    optimisers = (
        torch.optim.AdamW(
            generator.parameters(), settings.generator_lr, betas, weight_decay=settings.weight_decay
        ),
        torch.optim.AdamW(
            discriminator.parameters(), settings.discriminator_lr, betas, weight_decay=settings.weight_decay
        ),
    )
    return Trainer(generator, discriminator, optimisers, torch.Generator().manual_seed(settings.seed))


def train_gan(
    trainer: Trainer,
    pairs: PairSet,
    settings: GANSettings,
    checkpoint: Path | None,
    on_step: Callable[[int, int, dict[str, float]], None] | None = None,
) -> Trainer:
    """Run (or resume) both stages on ``pairs``; ``on_step(iteration, total, losses)``."""
    if checkpoint is not None and checkpoint.is_file():
        _restore(trainer, checkpoint)
    total = sum(settings.iterations)
    rng = np.random.default_rng(settings.seed + len(trainer.history))
    trainer.generator.train()
    trainer.discriminator.train()
    for iteration in range(len(trainer.history), total):
        stage, step_in_stage, length = _stage_of(iteration, settings.iterations)
        _set_learning_rates(trainer, settings, step_in_stage, length)
        inputs, targets = _batch(pairs, STAGES[stage], settings.batch, rng)
        inputs, targets = augment(inputs, targets, settings.augmentation, trainer.random)
        losses = _step(trainer, inputs, targets, settings.weights)
        entry = {"stage": float(stage), **losses}
        trainer.history.append(entry)
        if on_step is not None:
            on_step(iteration + 1, total, entry)
        if checkpoint is not None and (
            (iteration + 1) % settings.checkpoint_every == 0 or iteration + 1 == total
        ):
            _save(trainer, checkpoint)
    trainer.generator.eval()
    return trainer


def _stage_of(iteration: int, lengths: tuple[int, int]) -> tuple[int, int, int]:
    if iteration < lengths[0]:
        return 0, iteration, lengths[0]
    return 1, iteration - lengths[0], lengths[1]


def _set_learning_rates(trainer: Trainer, settings: GANSettings, step: int, length: int) -> None:
    factor = 0.5 * (1.0 + math.cos(math.pi * step / max(length, 1)))  # a float, not numpy: checkpoints
    for optimiser, base in zip(
        trainer.optimisers, (settings.generator_lr, settings.discriminator_lr), strict=True
    ):
        for group in optimiser.param_groups:
            group["lr"] = base * (0.05 + 0.95 * factor)


def _batch(
    pairs: PairSet, target: str, size: int, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    chosen = np.sort(rng.choice(len(pairs.records), size=min(size, len(pairs.records)), replace=False))
    images = pairs.femur_g_cm2 if target == "femur" else pairs.bone_g_cm2
    inputs = torch.from_numpy(pairs.inputs[chosen].astype(np.float32))[:, None]
    targets = torch.from_numpy(images[chosen].astype(np.float32))[:, None]
    return inputs, targets


def _step(
    trainer: Trainer, inputs: torch.Tensor, targets: torch.Tensor, weights: LossWeights
) -> dict[str, float]:
    generator_optimiser, discriminator_optimiser = trainer.optimisers
    fake = trainer.generator(inputs)
    real_outputs = trainer.discriminator(inputs, targets)
    discriminator_loss = lsgan_discriminator_loss(real_outputs, trainer.discriminator(inputs, fake.detach()))
    discriminator_optimiser.zero_grad(set_to_none=True)
    discriminator_loss.backward()
    discriminator_optimiser.step()
    # feature matching compares with the real pair's features from before this step's update (detached)
    losses = generator_loss(fake, targets, real_outputs, trainer.discriminator(inputs, fake), weights)
    generator_optimiser.zero_grad(set_to_none=True)
    losses.total.backward()
    generator_optimiser.step()
    return {
        "generator": float(losses.total.detach()),
        "l1_g_cm2": float(losses.l1.detach()),
        "gc": float(1.0 - losses.gc.detach()),  # the gradient correlation itself (the loss term is 1 − GC)
        "discriminator": float(discriminator_loss.detach()),
    }


def _save(trainer: Trainer, path: Path) -> None:
    state = {
        "generator": trainer.generator.state_dict(),
        "discriminator": trainer.discriminator.state_dict(),
        "optimisers": [optimiser.state_dict() for optimiser in trainer.optimisers],
        "random": trainer.random.get_state(),
        "history": trainer.history,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    torch.save(state, partial)
    os.replace(partial, path)


def _restore(trainer: Trainer, path: Path) -> None:
    state = load_checkpoint(path)
    trainer.generator.load_state_dict(state["generator"])
    trainer.discriminator.load_state_dict(state["discriminator"])
    for optimiser, saved in zip(trainer.optimisers, state["optimisers"], strict=True):
        optimiser.load_state_dict(saved)
    trainer.random.set_state(state["random"])
    trainer.history[:] = state["history"]


def settings_record(settings: GANSettings) -> dict[str, Any]:
    """JSON-ready settings."""
    return asdict(settings)


def save_gan_curves(history: list[dict[str, float]], path: Path) -> None:
    """PNG of the generator's L1 (g/cm²) and gradient correlation per iteration, with the stage boundary."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(9, 3.5), dpi=100)
    steps = np.arange(1, len(history) + 1)
    for axis, key, label, scale in (
        (axes[0], "l1_g_cm2", "L1 (g/cm²)", "log"),
        (axes[1], "gc", "gradient correlation", "linear"),
    ):
        values = np.array([entry[key] for entry in history])
        axis.plot(steps, values, color="0.75", linewidth=0.7)
        if len(values) >= 25:
            axis.plot(steps[24:], np.convolve(values, np.ones(25) / 25, mode="valid"), color="tab:blue")
        stage_two = next((i for i, entry in enumerate(history) if entry["stage"] >= 1), None)
        if stage_two:
            axis.axvline(stage_two + 1, color="tab:red", linestyle="--", linewidth=0.8, label="femur stage")
            axis.legend()
        axis.set(xlabel="iteration", ylabel=label, yscale=scale)
    figure.suptitle("decomposition training (stage 1: all bones, stage 2: femur)")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
