"""A decomposition model from a cohort, end to end: pairs, two-stage training, DXA calibration, model folder.

The DXA calibration, fitted on the training cases themselves, is given by the caller
(:func:`hipbmd.bmd.dxa_calibration.calibrate_to_dxa`, the interpretation layer's).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hipbmd.decomposition.crop import CropGrid
from hipbmd.decomposition.data import PairSet, build_pairs, case_rows
from hipbmd.decomposition.hip_registration import RegistrationSettings
from hipbmd.decomposition.model_files import save_decomposition_model
from hipbmd.decomposition.networks import GeneratorConfig
from hipbmd.decomposition.train import GANSettings, Trainer, new_trainer, save_gan_curves, train_gan

PAIRS_FILE = "pairs.npz"
DXACalibrator = Callable[[Any, PairSet, CropGrid], tuple[dict[str, Any], dict[str, Any]]]
"""(generator, training pairs, grid) → (per-ROI DXA lines as stored in the model, a summary of each fit)."""


@dataclass(frozen=True)
class TrainingPlan:
    """What to train: cases, grid, generator and optimisation.

    The cases are the manifest rows ``first_case:stop_case`` (sorted by case id), or, when ``case_ids``
    is given, exactly those cases (e.g. the training folds of a cross-validation).
    """

    first_case: int = 0
    stop_case: int | None = None
    grid: CropGrid = field(default_factory=CropGrid)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    gan: GANSettings = field(default_factory=GANSettings)
    case_ids: tuple[str, ...] | None = None
    # True: pairs from 2D/3D registration of each case's CT to its radiograph (a site's cohort, no truth;
    # :mod:`hipbmd.decomposition.registered_pairs`), with these settings.
    register: bool = False
    registration: RegistrationSettings = field(default_factory=RegistrationSettings)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "cases": [self.first_case, self.stop_case],
            "case_ids": None if self.case_ids is None else list(self.case_ids),
            "grid": self.grid.to_dict(),
            "generator": asdict(self.generator),
            "gan": asdict(self.gan),
            "pairs_from": "registration" if self.register else "truth",
            "registration": self.registration.to_dict() if self.register else None,
        }

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> TrainingPlan:
        """Inverse of :meth:`to_dict` (a plan without ``register`` reads back the default registration
        settings, which it does not use)."""
        first, stop = record["cases"]
        case_ids = record.get("case_ids")
        return cls(
            int(first),
            None if stop is None else int(stop),
            CropGrid.from_dict(record["grid"]),
            GeneratorConfig(**record["generator"]),
            gan_settings(record["gan"]),
            None if case_ids is None else tuple(str(case) for case in case_ids),
            record.get("pairs_from") == "registration",
            RegistrationSettings.from_dict(record.get("registration") or {}),
        )

    def select_rows(self, rows: list[dict[str, str]]) -> list[dict[str, str]]:
        """The plan's rows of a manifest sorted by case id; ValueError naming case ids it lacks."""
        if self.case_ids is None:
            return rows[self.first_case : self.stop_case]
        wanted = set(self.case_ids)
        missing = sorted(wanted - {row["case_id"] for row in rows})
        if missing:
            raise ValueError(f"the cohort has no case(s) {', '.join(missing[:5])}")
        return [row for row in rows if row["case_id"] in wanted]


def training_pairs(
    cohorts: Sequence[Path], plan: TrainingPlan, folder: Path, on_case: Callable[[int, int], None] | None
) -> PairSet:
    """The plan's pairs from each cohort (the plan's rows of each), built once and cached in
    ``folder/pairs.npz`` (rebuilt when the grid or the cases differ).

    Raises:
        ValueError: registration asked for with several cohorts (one site's cohort at a time).
    """
    cached = folder / PAIRS_FILE
    rows = {cohort: plan.select_rows(case_rows(cohort)) for cohort in cohorts}
    if plan.register:  # cached per case under folder/registered/ instead
        from hipbmd.decomposition.registered_pairs import build_registered_pairs

        if len(cohorts) != 1:
            raise ValueError("registered pairs are made from one cohort at a time")
        cohort = cohorts[0]
        return build_registered_pairs(cohort, plan.grid, rows[cohort], folder, plan.registration, on_case)[0]
    several = len(cohorts) > 1
    cases = [f"{c.name}/{r['case_id']}" if several else r["case_id"] for c in cohorts for r in rows[c]]
    if cached.is_file():
        pairs, grid, cached_cases = PairSet.load(cached)
        if grid == plan.grid and cached_cases == cases:
            return pairs
    total, done = len(cases), 0

    def counted(count: int, _: int) -> None:
        if on_case is not None:
            on_case(done + count, total)

    sets = []
    for cohort in cohorts:
        built = build_pairs(cohort, plan.grid, rows[cohort], counted)
        for record in built.records:
            record["cohort"] = cohort.name
        sets.append(built)
        done += len(rows[cohort])
    pairs = PairSet.joined(sets)
    folder.mkdir(parents=True, exist_ok=True)
    pairs.save(cached, plan.grid, cases)
    return pairs


def fit_model(
    cohorts: Sequence[Path],
    folder: Path,
    plan: TrainingPlan,
    record: dict[str, Any],
    on_case: Callable[[int, int], None] | None = None,
    on_step: Callable[[int, int, dict[str, float]], None] | None = None,
    init: Path | None = None,
    calibrate: DXACalibrator | None = None,
) -> dict[str, Any]:
    """Train, calibrate and write a model folder; returns its manifest.

    ``calibrate`` fits the map to DXA on the trained generator (:func:`hipbmd.bmd.dxa_calibration.
    calibrate_to_dxa`); without it the model is written uncalibrated, and its estimates carry no
    DXA-equivalent number.

    With ``init`` (a decomposition model folder of the same generator and grid) the generator starts
    from that model's weights instead of random ones; the discriminator and optimisers start afresh.
    """
    began = time.monotonic()
    trainer = new_trainer(plan.generator, plan.gan)
    if init is not None:
        record = {**record, "initialised_from": initial_weights(trainer, plan, init)}
    pairs = training_pairs(cohorts, plan, folder, on_case)
    trainer = train_gan(trainer, pairs, plan.gan, folder / "checkpoint.pt", on_step)
    calibration, fits = calibrate(trainer.generator, pairs, plan.grid) if calibrate else ({}, {})
    save_gan_curves(trainer.history, folder / "loss_curves.png")
    training = {
        **record,
        **_cohorts_record(cohorts),
        "plan": plan.to_dict(),
        "pairs": len(pairs.records),
        "final_l1_g_cm2": float(np.mean([entry["l1_g_cm2"] for entry in trainer.history[-50:]])),
        "seconds_this_run": round(time.monotonic() - began, 1),
    }
    if plan.register:
        from hipbmd.decomposition.registered_pairs import read_summary

        training["registration"] = read_summary(folder)
    metrics = {"training_calibration": fits}
    manifest_record = {"name": folder.name, "training": training, "metrics": metrics}
    return save_decomposition_model(trainer.generator, plan.grid, folder, manifest_record, calibration)


def initial_weights(trainer: Trainer, plan: TrainingPlan, init: Path) -> dict[str, Any]:
    """Load the generator weights of the model folder ``init`` into ``trainer``; what was loaded.

    Raises:
        InputError: the folder's generator or grid differs from the plan's.
    """
    from hipbmd.decomposition.model_files import load_decomposition_model
    from hipbmd.errors import InputError

    start = load_decomposition_model(init)
    if start.generator.config != plan.generator:
        raise InputError(init, f"its generator {start.generator.config} is not the config's {plan.generator}")
    if start.grid != plan.grid:
        raise InputError(init, f"its grid {start.grid.to_dict()} is not the config's {plan.grid.to_dict()}")
    trainer.generator.load_state_dict(start.generator.state_dict())
    return {"name": str(start.manifest.get("name", init.name)), "sha256": start.sha256}


def _cohorts_record(cohorts: Sequence[Path]) -> dict[str, Any]:
    """``cohort`` (one) or ``cohorts`` (several) as the model records them."""
    if len(cohorts) == 1:
        return {"cohort": cohort_description(cohorts[0])}
    return {"cohorts": [cohort_description(cohort) for cohort in cohorts]}


def cohort_description(cohort: Path) -> dict[str, Any]:
    """The training cohort as the model records it: its folder's name and, for a simulated cohort, the
    settings that remake it (``cohort.json``: seed, sites, resolution); no path of the training machine."""
    spec = cohort / "cohort.json"
    settings = json.loads(spec.read_text()) if spec.is_file() else None
    return {"name": cohort.name, "simulation": settings}


def plan_from_config(
    path: Path | None,
    cases: tuple[int, int | None] | None = None,
    case_ids: Sequence[str] | None = None,
) -> TrainingPlan:
    """A plan from a YAML config (keys ``cases: "A:B"``, ``grid``, ``generator``, ``gan``,
    ``registration`` (:class:`RegistrationSettings`, for ``--register``); all optional).

    ``cases`` (rows first, stop) or ``case_ids`` (explicit cases) override the config's ``cases``.
    """
    import yaml

    from hipbmd.errors import InputError

    values: dict[str, Any] = {}
    if path is not None:
        try:
            values = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as error:
            raise InputError(path, f"not a readable YAML config ({error.__class__.__name__})") from None
    unknown = set(values) - {"cases", "grid", "generator", "gan", "registration"}
    if unknown:
        raise InputError(path or Path("config"), f"unknown keys {sorted(unknown)}")
    if cases is not None and case_ids is not None:
        raise ValueError("give either a row range or case ids, not both")
    first, stop = cases or ((0, None) if case_ids is not None else _case_range(str(values.get("cases", ":"))))
    try:
        return TrainingPlan(
            first,
            stop,
            CropGrid.from_dict({**CropGrid().to_dict(), **values.get("grid", {})}),
            GeneratorConfig(**values.get("generator", {})),
            gan_settings(values.get("gan", {})),
            None if case_ids is None else tuple(sorted(set(case_ids))),
            registration=RegistrationSettings.from_dict(values.get("registration") or {}),
        )
    except (TypeError, ValueError) as error:
        raise InputError(path or Path("config"), str(error)) from None


def gan_settings(values: Mapping[str, Any]) -> GANSettings:
    """GAN settings from a config's or a plan's ``gan`` mapping (lists become the tuples they stand for)."""
    from hipbmd.decomposition.augment import Augmentation
    from hipbmd.decomposition.losses import LossWeights

    gan = dict(values)
    if "iterations" in gan:
        gan["iterations"] = tuple(gan["iterations"])
    gan["weights"] = LossWeights(**gan.get("weights", {}))
    augmentation: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v for k, v in gan.get("augmentation", {}).items()
    }
    gan["augmentation"] = Augmentation(**augmentation)
    return GANSettings(**gan)


def _case_range(spec: str) -> tuple[int, int | None]:
    first, _, stop = spec.partition(":")
    return int(first or 0), int(stop) if stop else None
