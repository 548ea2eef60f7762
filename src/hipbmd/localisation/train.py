"""Train the hip localiser on a simulated cohort, evaluate it on held-out cases, write its model folder.

AdamW with a cosine learning-rate decay over a fixed number of iterations on random augmented views
(:class:`~hipbmd.localisation.augment.RandomViews`), seeded. The loss is a binary cross-entropy between
the heatmap logits and the Gaussian targets, each pixel weighted 1 + ``peak_weight`` × target so that
the few landmark pixels are not drowned by the background, each channel by its presence weight (0 for
a landmark on the edge of the detector window). Reproducible entry point::

    python -m hipbmd.localisation.train --cohort COHORT --cases 0:100 --eval-cases 100:140 -o DIR --seed 0
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hipbmd import __version__
from hipbmd.localisation.appearance import AppearanceSettings
from hipbmd.localisation.augment import AugmentSettings, RandomViews
from hipbmd.localisation.data import LocaliserSample, cohort_cases, load_samples
from hipbmd.localisation.heatmaps import LANDMARKS, LANDMARKS_WITH_IMPLANTS, LANDMARKS_WITH_REGIONS
from hipbmd.localisation.network import HipLocaliser, LocaliserConfig

EVALUATION_FILE = "evaluation.json"


@dataclass(frozen=True)
class LocaliserTraining:
    """Optimisation settings (iterations of one batch each)."""

    iterations: int = 1500
    batch: int = 8
    learning_rate: float = 5e-3
    weight_decay: float = 1e-4
    peak_weight: float = 20.0
    seed: int = 0


def heatmap_loss(
    logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor, peak_weight: float
) -> torch.Tensor:
    """Weighted BCE: logits, targets (N, K, H, W); channel weights (N, K)."""
    pixel = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    per_channel = (pixel * (1.0 + peak_weight * targets)).mean(dim=(2, 3))
    return (per_channel * weights).sum() / weights.sum().clamp(min=1.0)


def train_localiser(
    samples: list[LocaliserSample],
    config: LocaliserConfig,
    settings: LocaliserTraining,
    augment: AugmentSettings | None = None,
    on_step: Callable[[int, float], None] | None = None,
    start: HipLocaliser | None = None,
) -> tuple[HipLocaliser, list[float]]:
    """A model trained on ``samples`` and its loss per iteration; ``on_step(iteration, loss)`` reports.

    ``start``: a trained localiser of the same channels per level whose weights start this one
    (:func:`start_from`); its output channels are kept where the names match, new ones start afresh.
    """
    torch.manual_seed(settings.seed)
    model = HipLocaliser(config)
    if start is not None:
        start_from(model, start)
    optimiser = torch.optim.AdamW(
        model.parameters(), settings.learning_rate, weight_decay=settings.weight_decay
    )
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, settings.iterations)
    views = RandomViews(samples, config, augment or AugmentSettings(), settings.seed)
    history: list[float] = []
    model.train()
    for iteration in range(settings.iterations):
        images, targets, weights = (torch.from_numpy(a) for a in views.batch(settings.batch))
        loss = heatmap_loss(model(images), targets, weights, settings.peak_weight)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        history.append(float(loss.detach()))
        if on_step is not None:
            on_step(iteration + 1, history[-1])
    model.eval()
    return model, history


def start_from(model: HipLocaliser, start: HipLocaliser) -> None:
    """Copy ``start``'s weights into ``model``: every layer but the output one as it is, and of the output
    layer the channels both name.

    Raises:
        ValueError: the two differ in their channels per level or pitch.
    """
    if (start.config.channels, start.config.pitch_mm) != (model.config.channels, model.config.pitch_mm):
        raise ValueError(
            f"the starting localiser has channels {start.config.channels} at {start.config.pitch_mm} mm, "
            f"not {model.config.channels} at {model.config.pitch_mm} mm"
        )
    state = {k: v for k, v in start.state_dict().items() if not k.startswith("head.")}
    model.load_state_dict(state, strict=False)
    with torch.no_grad():
        for index, name in enumerate(model.config.landmarks):
            if name in start.config.landmarks:
                old = start.config.landmarks.index(name)
                model.head.weight[index] = start.head.weight[old]
                if model.head.bias is not None and start.head.bias is not None:
                    model.head.bias[index] = start.head.bias[old]


def _range(text: str) -> tuple[int, int]:
    first, _, stop = text.partition(":")
    return int(first or 0), int(stop)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m hipbmd.localisation.train", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--cohort",
        type=Path,
        required=True,
        action="append",
        help="simulated cohort folder (manifest.csv); repeat to train on several, --cases taken from each",
    )
    parser.add_argument("--cases", type=_range, default=(0, 100), help="training manifest rows, FIRST:STOP")
    parser.add_argument("--eval-cases", type=_range, default=None, help="held-out rows FIRST:STOP")
    parser.add_argument(
        "--eval-cohort", type=Path, default=None, help="cohort of --eval-cases (default: --cohort)"
    )
    parser.add_argument("-o", "--output", type=Path, required=True, help="model folder to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--iterations", type=int, default=LocaliserTraining.iterations)
    parser.add_argument("--batch", type=int, default=LocaliserTraining.batch)
    parser.add_argument("--learning-rate", type=float, default=LocaliserTraining.learning_rate)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument(
        "--channels",
        type=_channels,
        default=LocaliserConfig.channels,
        help="feature channels per level, e.g. 16,32,64,128",
    )
    parser.add_argument(
        "--implants", action="store_true", help="also learn implant channels (metal in a hip, per side)"
    )
    parser.add_argument(
        "--init", type=Path, default=None, help="start from this localiser folder's weights (same channels)"
    )
    parser.add_argument(
        "--regions",
        action="store_true",
        help="also learn the implant channels and the points that place the DXA-like regions",
    )
    parser.add_argument(
        "--negatives",
        type=float,
        default=0.0,
        help="share of training views holding no hip (noise, smoothed noise, ramps), every channel absent",
    )
    parser.add_argument(
        "--plain-look",
        action="store_true",
        help="no sharpness, edge, tone or occlusion perturbations of the training views (geometry, gamma "
        "and noise only)",
    )
    parser.add_argument(
        "--edges",
        type=float,
        default=AppearanceSettings().edge,
        help="share of training views crossed by a grey-level edge or band (0: none)",
    )
    return parser


def _channels(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def main(argv: Sequence[str] | None = None) -> int:
    """Train, evaluate on the held-out cases, and write the model folder."""
    from hipbmd.localisation.evaluate import evaluate_localiser
    from hipbmd.localisation.model_files import save_localiser

    args = _parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.regions:
        names = LANDMARKS_WITH_REGIONS
    else:
        names = LANDMARKS_WITH_IMPLANTS if args.implants else LANDMARKS
    config = LocaliserConfig(landmarks=names, channels=args.channels)
    settings = LocaliserTraining(args.iterations, args.batch, args.learning_rate, seed=args.seed)
    began = time.monotonic()
    cases = [case for cohort in args.cohort for case in cohort_cases(cohort, *args.cases)]
    samples = load_samples(cases, config, _progress("read", len(cases)))
    start = None
    if args.init is not None:
        from hipbmd.localisation.model_files import load_localiser

        start = load_localiser(args.init)
    look = AppearanceSettings.off() if args.plain_look else AppearanceSettings(edge=args.edges)
    augment = AugmentSettings(appearance=look, negative=args.negatives)
    model, history = train_localiser(
        samples, config, settings, augment, on_step=_progress("train", settings.iterations), start=start
    )
    trained = time.monotonic()
    record: dict[str, Any] = {
        "training": {
            "data": "; ".join(f"simulated cohort '{c.name}' ({_sites(c)})" for c in args.cohort)
            + "; no real images",
            "cases": f"{args.cases[0]}:{args.cases[1]}",
            "samples": [sample.name for sample in samples],
            "command": _command(args),
            "settings": asdict(settings),
            "augment": asdict(augment),
            "loss_every_100": [
                round(float(np.mean(history[i : i + 100])), 5) for i in range(0, len(history), 100)
            ],
            "seconds": round(trained - began, 1),
            "threads": args.threads,
            "hipbmd_version": __version__,
            "torch_version": torch.__version__,
            "python": platform.python_version(),
        }
    }
    if start is not None:
        earlier = start.manifest.get("training", {})
        record["training"]["initialised_from"] = {
            "weights_sha256": start.manifest["weights"]["sha256"],
            "command": earlier.get("command"),
            "data": earlier.get("data"),
            "seconds": earlier.get("seconds"),
        }
    if args.eval_cases is not None:
        eval_cohort = args.eval_cohort or args.cohort[0]
        evaluation = evaluate_localiser(model, cohort_cases(eval_cohort, *args.eval_cases))
        record["evaluation"] = {
            "cohort": f"simulated cohort '{eval_cohort.name}' ({_sites(eval_cohort)})",
            "cases": f"{args.eval_cases[0]}:{args.eval_cases[1]}",
            **evaluation["summary"],
            "seconds": round(time.monotonic() - trained, 1),
        }
    save_localiser(model, args.output, record)
    if args.eval_cases is not None:
        details = {key: evaluation[key] for key in ("hips", "single_hip_crops")}
        (args.output / EVALUATION_FILE).write_text(json.dumps(details, indent=1) + "\n")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _command(args: argparse.Namespace) -> str:
    parts = [
        "python -m hipbmd.localisation.train "
        + " ".join(f"--cohort COHORT{k + 1}" for k in range(len(args.cohort))),
        f"--cases {args.cases[0]}:{args.cases[1]}",
    ]
    if args.eval_cases is not None:
        parts.append(f"--eval-cases {args.eval_cases[0]}:{args.eval_cases[1]}")
    if args.eval_cohort is not None:
        parts.append("--eval-cohort EVAL_COHORT")
    parts += [f"-o OUTPUT --seed {args.seed} --iterations {args.iterations} --batch {args.batch}"]
    parts += [f"--learning-rate {args.learning_rate} --threads {args.threads}"]
    parts += (
        [f"--channels {','.join(str(c) for c in args.channels)}"]
        + (["--implants"] if args.implants else [])
        + (["--regions"] if args.regions else [])
        + (["--init START"] if args.init is not None else [])
        + (["--plain-look"] if args.plain_look else [])
        + ([f"--negatives {args.negatives}"] if args.negatives else [])
        + ([f"--edges {args.edges}"] if _edges_given(args) else [])
    )
    return " ".join(parts)


def _edges_given(args: argparse.Namespace) -> bool:
    """Whether the command's share of edged views differs from the default (and counts at all)."""
    return not args.plain_look and bool(args.edges != AppearanceSettings().edge)


def _sites(cohort: Path) -> str:
    """The cohort's sites and seed from its cohort.json, as a phrase."""
    spec = json.loads((cohort / "cohort.json").read_text())
    styles = spec.get("styles", "sites")
    anatomy = ", ".join(spec.get("anatomy", ["parametric"]))
    sites = ", ".join(spec["sites"])
    region = f", anatomy region {spec['anatomy_region']}" if "anatomy_region" in spec else ""
    return f"hipbmd simulate, sites {sites}, styles {styles}, anatomy {anatomy}{region}, seed {spec['seed']}"


def _progress(stage: str, total: int) -> Callable[[int, Any], None]:
    began = time.monotonic()

    def report(done: int, value: Any) -> None:
        if done == total or done % max(1, total // 20) == 0:
            shown = f"{value:.4f}" if isinstance(value, float) else str(value)
            print(
                f"{stage} {done}/{total} {shown} {time.monotonic() - began:.0f}s", file=sys.stderr, flush=True
            )

    return report


if __name__ == "__main__":
    raise SystemExit(main())
