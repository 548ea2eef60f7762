"""Every number of the validation report, as one JSON-ready record (schema :data:`SCHEMA`).

Per ROI and per stratum (all hips; by site, sex and age band when the reference has them,
:mod:`hipbmd.stats.strata`): the counts of hips with and without an estimate (and why,
:data:`hipbmd.stats.matching.WITHHELD_REASONS`), the agreement statistics
(:mod:`hipbmd.stats.agreement`), and for ROIs with a T-score reference the ROC analyses
(:mod:`hipbmd.stats.diagnosis`) and the WHO and JOS confusion matrices (:mod:`hipbmd.stats.confusion`).
The record also lists every pair, so a reader can recompute anything.
"""

from __future__ import annotations

import math
from typing import Any

from hipbmd.bmd.classify import jos_category, who_category
from hipbmd.bmd.reference import NHANES_III_SOURCE, YAMTable, t_reference
from hipbmd.stats.agreement import agreement
from hipbmd.stats.confusion import JOS_CATEGORIES, WHO_CATEGORIES, confusion
from hipbmd.stats.diagnosis import TARGETS, diagnose
from hipbmd.stats.inputs import ReferenceTable, ResultsTable
from hipbmd.stats.matching import WITHHELD_REASONS, Matching, Pair, match, withheld_counts
from hipbmd.stats.strata import AGE_BANDS, ALL, OVERALL, groupings, split
from hipbmd.stats.yam import YAMBasis, yam_basis

SCHEMA = "hipbmd-evaluate/1"
CONFIDENCE = 0.95
METHODS = {
    "confidence_level": CONFIDENCE,
    "difference": "estimate - reference (g/cm2)",
    "pearson_ci": "Fisher z transformation",
    "icc": "two-way ANOVA mean squares; ICC(A,1) absolute agreement and ICC(C,1) consistency with "
    "F-based intervals (McGraw & Wong 1996; Shrout & Fleiss 1979 ICC(2,1), ICC(3,1))",
    "bland_altman": "bias with t interval, limits bias +/- 1.96 SD; proportional bias = OLS slope of "
    "difference on mean (Bland & Altman 1986, 1999)",
    "linear_fit": "OLS of estimate on reference",
    "t_score_reference": NHANES_III_SOURCE,
    "roc_score": "estimated T-score (unrounded), lower = more likely positive",
    "auc_ci": "DeLong et al. 1988 variance by the Sun & Xu 2014 midrank algorithm; normal interval "
    "clipped to [0, 1]",
    "youden": "threshold on the estimated T maximising sensitivity + specificity - 1",
    "categories": "WHO and JOS/JSBMR 2012 rules of hipbmd.bmd.classify (values rounded to one decimal)",
    "age_bands": [label for _, _, label in AGE_BANDS],
    "withheld_reasons": WITHHELD_REASONS,
}


def evaluation(
    results: ResultsTable, reference: ReferenceTable, yam: YAMTable | None = None
) -> dict[str, Any]:
    """The report record without provenance and figures (:mod:`hipbmd.stats.report` adds them).

    Raises:
        InputError: no results row matches the reference, or a hip is estimated twice.
    """
    matching = match(results, reference)
    pairs = list(matching.pairs)
    rois = [roi for roi in reference.rois if any(pair.roi == roi for pair in pairs)]
    bases = {roi: yam_basis(roi, [p for p in pairs if p.roi == roi], yam) for roi in rois}
    strata: dict[str, dict[str, Any]] = {OVERALL: {ALL: _stratum(pairs, rois, bases)}}
    for grouping in groupings(reference):
        groups = split(pairs, lambda pair: pair.case, grouping)
        strata[grouping] = {name: _stratum(group, rois, bases) for name, group in groups.items()}
    record = {
        "schema": SCHEMA,
        "rois": rois,
        "methods": {**METHODS, "reference_yam": {roi: reason for roi, (_, reason) in bases.items()}},
        "matching": _matching_record(matching, len(reference.cases)),
        "withheld": {roi: _withheld([p for p in pairs if p.roi == roi]) for roi in rois},
        "strata": strata,
        "pairs": [_pair_record(pair) for pair in pairs],
    }
    cleaned: dict[str, Any] = clean(record)
    return cleaned


def clean(value: Any) -> Any:
    """``value`` with tuples as lists and NaN or infinite floats as None (strict JSON)."""
    if isinstance(value, dict):
        return {str(key): clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [clean(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def t_of(abmd_g_cm2: float, roi: str) -> float | None:
    """T = (aBMD − young mean) / young SD against NHANES III, unrounded; None without a reference.

    Unlike :func:`hipbmd.bmd.classify.t_score` this accepts any finite aBMD, so that an implausible
    estimate is scored (badly) rather than stopping the evaluation.
    """
    young = t_reference(roi)
    return None if young is None else (abmd_g_cm2 - young.mean_g_cm2) / young.sd_g_cm2


def _stratum(
    pairs: list[Pair], rois: list[str], bases: dict[str, tuple[YAMBasis | None, str]]
) -> dict[str, Any]:
    return {roi: _roi_record([p for p in pairs if p.roi == roi], roi, bases[roi][0]) for roi in rois}


def _roi_record(pairs: list[Pair], roi: str, basis: YAMBasis | None) -> dict[str, Any]:
    """Counts, agreement, diagnosis and categories of one ROI within one stratum."""
    done = [(pair.reference_g_cm2, value) for pair in pairs if (value := pair.estimate_g_cm2) is not None]
    x, y = [d[0] for d in done], [d[1] for d in done]
    stats = agreement(x, y, CONFIDENCE)
    record: dict[str, Any] = {
        **_withheld(pairs),
        "agreement": None if stats is None else stats.summary(),
        "diagnosis": None,
        "who_confusion": None,
        "jos_confusion": None,
    }
    if basis is not None and pairs:
        record["jos_confusion"] = _jos_confusion(pairs, roi, basis)
    if t_reference(roi) is None or not pairs:
        return record
    if done:
        reference_t, estimated_t = [_t(v, roi) for v in x], [_t(v, roi) for v in y]
        record["diagnosis"] = {
            name: diagnose(reference_t, estimated_t, target, CONFIDENCE).summary()
            for name, target in TARGETS.items()
        }
    truth = [who_category(_t(pair.reference_g_cm2, roi)) for pair in pairs]
    called = [_category(pair, "who") for pair in pairs]
    record["who_confusion"] = confusion(truth, called, WHO_CATEGORIES).summary()
    return record


def _jos_confusion(pairs: list[Pair], roi: str, basis: YAMBasis) -> dict[str, Any]:
    """JOS matrix of the hips with a reference %YAM; T ≤ −2.5 counts too where the ROI has a T."""
    known = [(pair, percent) for pair in pairs if (percent := basis.percent(pair)) is not None]
    truth = [jos_category(percent, t_of(pair.reference_g_cm2, roi)) for pair, percent in known]
    called = [_category(pair, "jos") for pair, _ in known]
    record = confusion(truth, called, JOS_CATEGORIES).summary()
    return {**record, "n_without_reference_yam": len(pairs) - len(known), "reference_yam": basis.source}


def _t(abmd_g_cm2: float, roi: str) -> float:
    t = t_of(abmd_g_cm2, roi)
    assert t is not None  # callers check t_reference(roi) first
    return t


def _category(pair: Pair, system: str) -> str | None:
    if pair.estimate is None or pair.estimate.abmd_g_cm2 is None:
        return None
    return pair.estimate.who_category if system == "who" else pair.estimate.jos_category


def _withheld(pairs: list[Pair]) -> dict[str, Any]:
    reasons = withheld_counts(pairs)
    return {
        "n_reference": len(pairs),
        "n_pairs": len(pairs) - sum(reasons.values()),
        "n_withheld": sum(reasons.values()),
        "withheld_by_reason": reasons,
    }


def _matching_record(matching: Matching, n_reference: int) -> dict[str, Any]:
    return {
        "reference_hips": n_reference,
        "matched_by_path": matching.matched_by_path,
        "matched_by_name": matching.matched_by_name,
        "unmatched_reference": list(matching.unmatched_reference),
        "ambiguous_reference": list(matching.ambiguous_reference),
        "results_files_not_in_reference": list(matching.unmatched_results),
    }


def _pair_record(pair: Pair) -> dict[str, Any]:
    estimate = pair.estimate
    return {
        "case_id": pair.case.case_id,
        "file": pair.case.file,
        "side": pair.case.side,
        "site": pair.case.site,
        "sex": pair.case.sex,
        "age_years": pair.case.age_years,
        "roi": pair.roi,
        "reference_g_cm2": pair.reference_g_cm2,
        "estimate_g_cm2": pair.estimate_g_cm2,
        "withheld": pair.withheld,
        "estimate_who_category": None if estimate is None else estimate.who_category,
        "estimate_jos_category": None if estimate is None else estimate.jos_category,
        "flags": None if estimate is None else estimate.flags,
    }
