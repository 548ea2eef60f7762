"""The cross-validation driver behind ``hipbmd crossval``: per fold, train on the other folds' cases and
estimate the held-out radiographs; then combine, and evaluate with :func:`hipbmd.api_stats.evaluate`.

Layout of the output folder::

    splits.json                 cases per fold, external cases, seed, cohort, config and command
    reference.csv               the manifest rows of the folded cases, paths absolute, plus file and fold
    fold_<k>/model/             trained on every fold but k (a model folder of ``hipbmd train``)
    fold_<k>/estimates/         fold k's radiographs estimated by that model (``hipbmd estimate``)
    results.csv                 every fold's estimates in one table
    report/                     the evaluation of results.csv against reference.csv
    final/model/                with external sites: trained on every folded case
    external/estimates/         the external sites' radiographs, estimated by final/model
    external/reference.csv, external/results.csv, external/report/

Everything resumes: the splits are checked against ``splits.json``, a model folder whose manifest
records the same training plan is kept (an interrupted training resumes from its checkpoint) and the
estimates skip finished records. A model folder trained with another plan is an error, never reused.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hipbmd.errors import InputError
from hipbmd.io.records import write_json, write_text_atomic
from hipbmd.validation.splits import Splits

PATH_COLUMNS = ("ct", "labels", "xray")
StageCallback = Callable[[str], None]
StepCallback = Callable[[int, int, dict[str, float]], None]


@dataclass(frozen=True)
class CrossvalRequest:
    """What ``hipbmd crossval`` was asked for, besides the split itself."""

    cohort: Path
    folder: Path
    config: Path | None = None
    samples: int = 8
    command: str | None = None


def record_splits(request: CrossvalRequest, splits: Splits) -> Path:
    """Write ``splits.json``, or check that the one already there holds the same splits."""
    path = request.folder / "splits.json"
    record = {
        **splits.to_dict(),
        "cohort": str(request.cohort.resolve()),
        "config": None if request.config is None else str(request.config),
        "command": request.command,
    }
    if path.is_file():
        try:
            saved = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise InputError(path, f"not a splits file ({error.__class__.__name__})") from None
        if {key: saved.get(key) for key in splits.to_dict()} != splits.to_dict():
            raise InputError(request.folder, "holds a cross-validation with other splits (use a new folder)")
        return path
    request.folder.mkdir(parents=True, exist_ok=True)
    return write_json(path, record)


def write_reference(
    path: Path, rows: Sequence[dict[str, str]], cohort: Path, fold_of: dict[str, str]
) -> Path:
    """The manifest rows with absolute paths, the radiograph repeated as ``file``, and each case's fold."""
    absolute = cohort.resolve()
    table = []
    for row in rows:
        entry = {**row, **{key: str(absolute / row[key]) for key in PATH_COLUMNS if row.get(key)}}
        table.append({**entry, "file": entry["xray"], "fold": fold_of[row["case_id"]]})
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(table[0]))
    writer.writeheader()
    writer.writerows(table)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(path, text.getvalue())


def ensure_model(
    request: CrossvalRequest, folder: Path, cases: Sequence[str], on_step: StepCallback | None
) -> bool:
    """Train a model on ``cases`` into ``folder`` unless it holds one with the same plan; True if trained."""
    from hipbmd.api_bmd import train
    from hipbmd.decomposition.fit_model import plan_from_config

    plan = json.loads(json.dumps(plan_from_config(request.config, case_ids=cases).to_dict()))
    manifest = folder / "model.json"
    if manifest.is_file() and (folder / "model.safetensors").is_file():
        try:
            saved = json.loads(manifest.read_text()).get("training", {}).get("plan")
        except (OSError, json.JSONDecodeError, AttributeError):
            saved = None
        if saved == plan:
            return False
        raise InputError(folder, "holds a model trained on other cases or settings (use a new folder)")
    train(request.cohort, folder, request.config, on_step=on_step, case_ids=cases)
    return True


def estimate_cases(
    request: CrossvalRequest, rows: Sequence[dict[str, str]], cases: Sequence[str], model: Path, output: Path
) -> dict[str, int]:
    """Estimate the radiographs of ``cases`` with ``model`` into ``output``; counts per status."""
    from hipbmd.api_bmd import estimate

    chosen = set(cases)
    xrays = [(request.cohort / row["xray"]).resolve() for row in rows if row["case_id"] in chosen]
    counts = dict.fromkeys(("done", "skipped", "failed"), 0)

    def count(done: int, total: int, name: str, status: str) -> None:
        counts[status] += 1

    estimate(xrays, output, model=model, samples=request.samples, on_file=count)
    return counts


def run_crossval(
    request: CrossvalRequest,
    splits: Splits,
    rows: Sequence[dict[str, str]],
    on_stage: StageCallback | None = None,
    on_step: StepCallback | None = None,
) -> dict[str, Any]:
    """Train, estimate, combine and evaluate every fold, then the external sites (module docstring)."""
    from hipbmd.api_bmd import merge_results

    say = on_stage or (lambda text: None)
    folder, fold_of = request.folder, splits.fold_of()
    record_splits(request, splits)
    internal = [row for row in rows if fold_of[row["case_id"]] != "external"]
    write_reference(folder / "reference.csv", internal, request.cohort, fold_of)
    summary: dict[str, Any] = {"splits": str(folder / "splits.json"), "folds": []}
    for k in range(1, len(splits.folds) + 1):
        summary["folds"].append(_run_fold(request, splits, rows, k, say, on_step))
    merge_results(
        [folder / f"fold_{k}" / "estimates" for k in range(1, len(splits.folds) + 1)], folder / "results.csv"
    )
    summary["results"] = str(folder / "results.csv")
    summary["report"] = _evaluate(folder, say)
    if splits.external:
        summary["external"] = _run_external(request, splits, rows, say, on_step)
    return summary


def _run_fold(
    request: CrossvalRequest,
    splits: Splits,
    rows: Sequence[dict[str, str]],
    k: int,
    say: StageCallback,
    on_step: StepCallback | None,
) -> dict[str, Any]:
    """Train fold k's model (unless finished) and estimate its held-out cases."""
    fold, total = request.folder / f"fold_{k}", len(splits.folds)
    training, test = splits.training_cases(k), splits.test_cases(k)
    say(f"fold {k}/{total}: model on {len(training)} cases")
    trained = ensure_model(request, fold / "model", training, on_step)
    say(f"fold {k}/{total}: estimating {len(test)} held-out cases")
    counts = estimate_cases(request, rows, test, fold / "model", fold / "estimates")
    return {"fold": k, "trained": trained, "training_cases": len(training), "test_cases": len(test), **counts}


def _run_external(
    request: CrossvalRequest,
    splits: Splits,
    rows: Sequence[dict[str, str]],
    say: StageCallback,
    on_step: StepCallback | None,
) -> dict[str, Any]:
    """Train the final model on every folded case and estimate the external sites with it."""
    from hipbmd.api_bmd import merge_results

    folder, model = request.folder / "external", request.folder / "final" / "model"
    internal = splits.internal_cases()
    say(f"final model on {len(internal)} cases (external sites: {', '.join(splits.external_sites)})")
    trained = ensure_model(request, model, internal, on_step)
    external_rows = [row for row in rows if row["case_id"] in set(splits.external)]
    write_reference(folder / "reference.csv", external_rows, request.cohort, splits.fold_of())
    say(f"estimating {len(splits.external)} external cases")
    counts = estimate_cases(request, rows, splits.external, model, folder / "estimates")
    merge_results([folder / "estimates"], folder / "results.csv")
    return {
        "trained": trained,
        "cases": len(splits.external),
        **counts,
        "results": str(folder / "results.csv"),
        "report": _evaluate(folder, say),
    }


def _evaluate(folder: Path, say: StageCallback) -> dict[str, Any]:
    """The evaluation of ``folder/results.csv`` against ``folder/reference.csv`` into ``folder/report``."""
    from hipbmd.api_stats import evaluate

    say(f"evaluating {folder / 'results.csv'}")
    return evaluate(folder / "results.csv", folder / "reference.csv", folder / "report")
