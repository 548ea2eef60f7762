"""Train the Bayesian U-Net on labelled CTs: the work behind ``hipbmd seg-train``.

AdamW with a cosine learning-rate decay over a fixed number of iterations on random patches
(:class:`~hipbmd.segmentation.train_data.PatchSampler`), seeded. A checkpoint (weights, optimiser,
iteration, random states, loss history) is written every ``checkpoint_every`` iterations and a run
resumes from it; at the end the model folder is written (:mod:`hipbmd.segmentation.model_files`) with a
loss-curve picture.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hipbmd.io.checkpoint import load_checkpoint
from hipbmd.segmentation.bayesian_unet import BayesianUNet, UNetConfig, normalise_hu
from hipbmd.segmentation.losses import segmentation_loss
from hipbmd.segmentation.model_files import save_model
from hipbmd.segmentation.train_data import PatchSampler, TrainingVolume

CHECKPOINT_FILE = "checkpoint.pt"


@dataclass(frozen=True)
class SegmenterTraining:
    """Optimisation settings (iterations of one batch each; patch edge in working voxels) and the shares
    of patches made to look like a coarser scan and like a scan that ends inside the patch."""

    iterations: int = 1500
    batch: int = 4
    patch: int = 48
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0
    checkpoint_every: int = 100
    coarse_scan_probability: float = 0.0
    cut_scan_probability: float = 0.0


def train_segmenter(
    volumes: list[TrainingVolume],
    output: Path,
    config: UNetConfig,
    settings: SegmenterTraining,
    record: dict[str, Any],
    on_step: Callable[[int, float], None] | None = None,
) -> BayesianUNet:
    """Train a model on ``volumes`` and write its folder to ``output`` (resuming a checkpoint there)."""
    torch.manual_seed(settings.seed)
    model = BayesianUNet(config)
    optimiser = torch.optim.AdamW(
        model.parameters(), settings.learning_rate, weight_decay=settings.weight_decay
    )
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, settings.iterations)
    sampler = PatchSampler(
        volumes,
        settings.patch,
        settings.seed,
        settings.coarse_scan_probability,
        settings.cut_scan_probability,
    )
    history: list[float] = []
    start = _resume(output / CHECKPOINT_FILE, model, optimiser, schedule, sampler, history)
    began = time.monotonic()
    model.train()
    for iteration in range(start, settings.iterations):
        history.append(_step(model, optimiser, sampler, settings.batch))
        schedule.step()
        if on_step is not None:
            on_step(iteration + 1, history[-1])
        if (iteration + 1) % settings.checkpoint_every == 0 or iteration + 1 == settings.iterations:
            _checkpoint(output / CHECKPOINT_FILE, model, optimiser, schedule, sampler, history)
    model.eval()
    training = {**record, "settings": asdict(settings), "final_loss": _tail_mean(history)}
    training["seconds_this_run"] = round(time.monotonic() - began, 1)
    save_model(model, output, {"name": record.get("name", output.name), "training": training})
    save_loss_curve(history, output / "loss_curve.png")
    return model


def _step(model: BayesianUNet, optimiser: torch.optim.Optimizer, sampler: PatchSampler, batch: int) -> float:
    hu, targets = sampler.batch(batch)
    logits = model(normalise_hu(torch.from_numpy(hu), model.config))
    loss = segmentation_loss(logits, torch.from_numpy(targets))
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    optimiser.step()
    return float(loss.detach())


def _checkpoint(
    path: Path,
    model: BayesianUNet,
    optimiser: Any,
    schedule: Any,
    sampler: PatchSampler,
    history: list[float],
) -> None:
    state = {
        "model": model.state_dict(),
        "optimiser": optimiser.state_dict(),
        "schedule": schedule.state_dict(),
        "sampler_rng": sampler.rng.bit_generator.state,
        "torch_rng": torch.random.get_rng_state(),
        "history": history,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    torch.save(state, partial)
    os.replace(partial, path)


def _resume(
    path: Path,
    model: BayesianUNet,
    optimiser: Any,
    schedule: Any,
    sampler: PatchSampler,
    history: list[float],
) -> int:
    if not path.is_file():
        return 0
    state = load_checkpoint(path)
    model.load_state_dict(state["model"])
    optimiser.load_state_dict(state["optimiser"])
    schedule.load_state_dict(state["schedule"])
    sampler.rng.bit_generator.state = state["sampler_rng"]
    torch.random.set_rng_state(state["torch_rng"])
    history.extend(state["history"])
    return len(history)


def _tail_mean(history: list[float], count: int = 50) -> float | None:
    return round(float(np.mean(history[-count:])), 5) if history else None


def save_loss_curve(history: list[float], path: Path) -> None:
    """PNG of the training loss per iteration with a 50-iteration running mean."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 3.5), dpi=100)
    steps = np.arange(1, len(history) + 1)
    axes.plot(steps, history, color="0.75", linewidth=0.8, label="batch loss")
    if len(history) >= 50:
        running = np.convolve(history, np.ones(50) / 50, mode="valid")
        axes.plot(steps[49:], running, color="tab:blue", label="running mean (50)")
    axes.set(xlabel="iteration", ylabel="cross-entropy + soft Dice", yscale="log", title="segmenter training")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
