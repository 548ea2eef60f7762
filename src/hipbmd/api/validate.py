"""``hipbmd crossval``: per fold, train on the other folds' cases and estimate the held-out
radiographs; then combine, and evaluate with :func:`hipbmd.api.stats.evaluate`. Torch is imported only
when it runs.

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

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hipbmd.api.bmd import StepCallback
from hipbmd.errors import InputError
from hipbmd.io.output_paths import check_output_folder
from hipbmd.validation.fold_files import CrossvalRequest, record_splits, write_reference

if TYPE_CHECKING:
    from hipbmd.validation.splits import Splits

StageCallback = Callable[[str], None]


def crossval(
    cohort: str | Path,
    output_dir: str | Path,
    folds: int = 5,
    config: str | Path | None = None,
    external_sites: Sequence[str] = (),
    seed: int = 0,
    samples: int = 8,
    on_stage: Callable[[str], None] | None = None,
    on_step: Callable[[int, int, dict[str, float]], None] | None = None,
) -> dict[str, Any]:
    """Patient-level K-fold cross-validation of the decomposition model on a cohort, stratified by site.

    Mirrors ``hipbmd crossval --cohort C --folds K -o cv/ [--config YAML] [--external-sites a,b]
    [--seed S] [--samples N]``. For each fold k trains ``cv/fold_k/model`` on the other folds' cases and
    estimates fold k's radiographs into ``cv/fold_k/estimates``; combines them into ``cv/results.csv``
    beside ``cv/reference.csv`` and evaluates them into ``cv/report/``. Cases of the external sites are
    in no fold: a model trained on all other cases (``cv/final/model``) estimates them into
    ``cv/external/`` (with its own reference, results and report). Writes ``cv/splits.json``; resumes.
    Layout and resumption: this module's docstring; splitting: :mod:`hipbmd.validation.splits`.

    Args:
        cohort: cohort folder (``manifest.csv``; cases with ``truth.json`` for training).
        output_dir: the cross-validation folder.
        folds: number of folds K (at least 2).
        config: YAML training config for every model (see ``hipbmd train --config``).
        external_sites: sites (names or prefixes such as ``site_e``) never trained on.
        seed: seed of the split.
        samples: Monte-Carlo dropout samples per estimate.
        on_stage: called with a line saying what starts (fold, training, estimating, evaluating).
        on_step: training progress, called with (iteration, iterations, losses).

    Returns:
        A summary: per fold the cases and the estimate counts (done, skipped, failed), the paths of the
        combined results, and the evaluation records (``report``, and ``external`` when asked for).

    Raises:
        InputError: no cohort, a folder holding other splits or another model; ValueError: bad folds or sites.
    """
    from hipbmd.decomposition.data import case_rows
    from hipbmd.validation.splits import make_splits, patient_sites, resolve_sites

    check_output_folder(output_dir)
    rows = case_rows(Path(cohort))
    sites = patient_sites(rows)
    external = resolve_sites(list(external_sites), list(sites.values()))
    splits = make_splits(sites, folds, seed, external)
    command = "hipbmd " + " ".join(sys.argv[1:]) if Path(sys.argv[0]).name == "hipbmd" else None
    request = CrossvalRequest(
        Path(cohort), Path(output_dir), None if config is None else Path(config), samples, command
    )
    return run_crossval(request, splits, rows, on_stage, on_step)


def ensure_model(
    request: CrossvalRequest, folder: Path, cases: Sequence[str], on_step: StepCallback | None
) -> bool:
    """Train a model on ``cases`` into ``folder`` unless it holds one with the same plan; True if trained."""
    from hipbmd.api.bmd import train
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
    from hipbmd.api.bmd import estimate

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
    from hipbmd.api.bmd import merge_results

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
    from hipbmd.api.bmd import merge_results

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
    from hipbmd.api.stats import evaluate

    say(f"evaluating {folder / 'results.csv'}")
    return evaluate(folder / "results.csv", folder / "reference.csv", folder / "report")
