"""API functions of the radiograph commands (``hipbmd train``, ``hipbmd estimate``); re-exported by
:mod:`hipbmd.api`. Torch is imported only when they run."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

CaseCallback = Callable[[int, int], None]
StepCallback = Callable[[int, int, dict[str, float]], None]


def train(
    cohort: str | Path,
    output: str | Path,
    config: str | Path | None = None,
    cases: tuple[int, int | None] | None = None,
    on_case: CaseCallback | None = None,
    on_step: StepCallback | None = None,
) -> dict[str, Any]:
    """Train a decomposition model (BMD-GAN) on a simulated cohort and write its model folder.

    Mirrors ``hipbmd train --cohort C -o model/ [--config configs/x.yaml] [--cases A:B]``. Builds the
    training pairs once (``output/pairs.npz``), trains in two stages (all bones, then the femur),
    resumes from ``output/checkpoint.pt``, fits the DXA calibration on the training cases and writes
    ``model.safetensors``, ``model.json`` and ``loss_curves.png``.

    Args:
        cohort: cohort folder (``manifest.csv``, cases with ``truth.json``).
        output: model folder to write.
        config: YAML training config (see ``configs/bmd_gan_default.yaml``); defaults otherwise.
        cases: manifest rows [first, stop) sorted by case id; overrides the config's ``cases``.
        on_case: called with (cases read, cases in all) while the pairs are built.
        on_step: called with (iteration, iterations, losses).
    """
    from hipbmd.decomposition.fit_model import fit_model, plan_from_config

    plan = plan_from_config(None if config is None else Path(config), cases)
    command = "hipbmd " + " ".join(sys.argv[1:]) if Path(sys.argv[0]).name == "hipbmd" else None
    record = {"command": command, "config": None if config is None else str(config)}
    return fit_model(Path(cohort), Path(output), plan, record, on_case, on_step)
