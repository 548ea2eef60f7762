"""API function of the cross-validation command (``hipbmd crossval``); re-exported by :mod:`hipbmd.api`.
Torch is imported only when it runs."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


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
    Layout and resumption: :mod:`hipbmd.validation.crossval`; splitting: :mod:`hipbmd.validation.splits`.

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
    from hipbmd.validation.crossval import CrossvalRequest, run_crossval
    from hipbmd.validation.splits import make_splits, patient_sites, resolve_sites

    rows = case_rows(Path(cohort))
    sites = patient_sites(rows)
    external = resolve_sites(list(external_sites), list(sites.values()))
    splits = make_splits(sites, folds, seed, external)
    command = "hipbmd " + " ".join(sys.argv[1:]) if Path(sys.argv[0]).name == "hipbmd" else None
    request = CrossvalRequest(
        Path(cohort), Path(output_dir), None if config is None else Path(config), samples, command
    )
    return run_crossval(request, splits, rows, on_stage, on_step)
