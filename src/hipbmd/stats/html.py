"""The report as one self-contained HTML page: tables of the record's numbers and the figures embedded
as base64 PNG, with its style inline and no script or external resource."""

from __future__ import annotations

import base64
from html import escape
from typing import Any

from hipbmd.stats.strata import ALL, OVERALL

STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 1200px; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.85em; }
th, td { border: 1px solid #bbb; padding: 3px 7px; text-align: right; }
td { white-space: nowrap; }
th { background: #eee; } td.l, th.l { text-align: left; }
img { max-width: 480px; margin: 4px; border: 1px solid #ddd; }
p.note { font-size: 0.85em; color: #555; }
"""
GROUPING_TITLES = {"site": "By site", "sex": "By sex", "age_band": "By age band"}


def render_html(record: dict[str, Any], pictures: dict[str, bytes]) -> str:
    """The whole page for a report record and its figures (file name → PNG bytes)."""
    overall = record["strata"][OVERALL][ALL]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>hipbmd validation report</title>',
        f"<style>{STYLE}</style></head><body>",
        "<h1>hipbmd validation report: estimated vs reference aBMD</h1>",
        _provenance(record["provenance"]),
        "<h2>Matching</h2>",
        _matching(record),
        "<h2>Agreement (all hips)</h2>",
        _agreement_table({roi: overall[roi] for roi in record["rois"]}, "ROI"),
        _images(pictures, ("scatter_", "bland_altman_")),
        "<h2>Diagnosis (all hips)</h2>",
        _diagnosis_table({roi: overall[roi] for roi in record["rois"]}, "ROI"),
        _images(pictures, ("roc_",)),
        "<h2>Categories (all hips)</h2>",
        _confusions(overall, record["rois"]),
    ]
    for grouping, groups in record["strata"].items():
        if grouping == OVERALL:
            continue
        rows = {f"{name} / {roi}": groups[name][roi] for name in groups for roi in record["rois"]}
        parts += [f"<h2>{escape(GROUPING_TITLES.get(grouping, grouping))}</h2>"]
        parts += [_agreement_table(rows, "group / ROI"), _diagnosis_table(rows, "group / ROI")]
        if grouping == "site":
            parts.append(_images(pictures, ("sites",)))
    parts += ["<h2>Methods</h2>", _methods(record["methods"]), "</body></html>"]
    return "\n".join(part for part in parts if part)


def _provenance(provenance: dict[str, Any]) -> str:
    rows = [["hipbmd version", provenance["hipbmd_version"]], ["created", provenance["created"]]]
    for role, entry in provenance["inputs"].items():
        rows.append([role, f"{entry['path']} (sha256 {entry['sha256']})"])
    return _table(None, rows, left=2)


def _matching(record: dict[str, Any]) -> str:
    matching = record["matching"]
    rows = [
        ["reference hips", matching["reference_hips"]],
        ["matched by path", matching["matched_by_path"]],
        ["matched by file name", matching["matched_by_name"]],
        ["reference hips not found", len(matching["unmatched_reference"])],
        ["reference hips ambiguous", len(matching["ambiguous_reference"])],
        ["results files not in the reference", len(matching["results_files_not_in_reference"])],
    ]
    for roi, counts in record["withheld"].items():
        reasons = ", ".join(f"{k} {v}" for k, v in counts["withheld_by_reason"].items()) or "none"
        rows.append(
            [f"{roi}: estimated / withheld", f"{counts['n_pairs']} / {counts['n_withheld']} ({reasons})"]
        )
    return _table(None, rows, left=1)


def _agreement_table(rows: dict[str, dict[str, Any]], key: str) -> str:
    """Two tables: correlation and ICC, then errors, Bland–Altman and the fitted line."""
    first = [key, "n", "withheld", "Pearson r [95% CI]", "Spearman ρ (p)", "ICC(A,1) [95% CI]"]
    first.append("ICC(C,1) [95% CI]")
    second = [key, "MAE", "RMSE", "bias [95% CI]", "limits of agreement", "prop. bias slope (p)"]
    second.append("fit slope / intercept / r²")
    correlations, errors = [], []
    for name, entry in rows.items():
        stats = entry["agreement"]
        if stats is None:
            correlations.append([name, entry["n_pairs"], entry["n_withheld"], "too few pairs", "", "", ""])
            continue
        correlations.append(
            [
                name,
                stats["n"],
                entry["n_withheld"],
                _ci(*(stats["pearson"][k] for k in ("value", "ci_low", "ci_high"))),
                f"{_n(stats['spearman']['value'])} ({_p(stats['spearman']['p_value'])})",
                _ci(*(stats["icc_agreement"][k] for k in ("value", "ci_low", "ci_high"))),
                _ci(*(stats["icc_consistency"][k] for k in ("value", "ci_low", "ci_high"))),
            ]
        )
        errors.append([name, *_error_cells(stats)])
    note = '<p class="note">aBMD and differences in g/cm², difference = estimate − reference.</p>'
    return _table(first, correlations, left=1) + (_table(second, errors, left=1) if errors else "") + note


def _error_cells(stats: dict[str, Any]) -> list[str]:
    ba, fit = stats["bland_altman"], stats["linear_fit"]
    line = (
        ""
        if fit is None
        else f"{_n(fit['slope'])} / {_n(fit['intercept_g_cm2'], 4)} / {_n(fit['r_squared'])}"
    )
    return [
        _n(stats["mae_g_cm2"], 4),
        _n(stats["rmse_g_cm2"], 4),
        _ci(ba["bias_g_cm2"], ba["bias_ci_low_g_cm2"], ba["bias_ci_high_g_cm2"], 4),
        f"{_n(ba['loa_low_g_cm2'], 4)} to {_n(ba['loa_high_g_cm2'], 4)}",
        f"{_n(ba['proportional_slope'])} ({_p(ba['proportional_p_value'])})",
        line,
    ]


def _diagnosis_table(rows: dict[str, dict[str, Any]], key: str) -> str:
    header = [key, "target", "n", "positive", "AUC [95% CI]", "category: sens / spec / PPV / NPV"]
    header += ["Youden T ≤", "Youden: sens / spec / PPV / NPV"]
    body = []
    for name, entry in rows.items():
        for target, result in (entry["diagnosis"] or {}).items():
            auc = result["auc"]
            auc_text = result["note"] if auc is None else _ci(auc["value"], auc["ci_low"], auc["ci_high"])
            youden = result["at_youden"]
            body.append(
                [
                    name,
                    f"{target} ({result['rule']})",
                    result["n"],
                    result["n_positive"],
                    auc_text,
                    _rates(result["at_category"]),
                    _n(result["youden_t_score"], 2),
                    "" if youden is None else _rates(youden),
                ]
            )
    if not body:
        return '<p class="note">No ROI with a T-score reference.</p>'
    return _table(header, body, left=2)


def _confusions(overall: dict[str, Any], rois: list[str]) -> str:
    parts = []
    for roi in rois:
        for system in ("who", "jos"):
            matrix = overall[roi][f"{system}_confusion"]
            if matrix is None:
                continue
            title = f"{roi}: {system.upper()} categories (rows reference, columns estimate)"
            rows = [
                [label, *counts] for label, counts in zip(matrix["labels"], matrix["counts"], strict=True)
            ]
            agreement = _n(matrix["agreement"])
            parts.append(f"<h3>{escape(title)}</h3>")
            parts.append(_table(["reference \\ estimate", *matrix["columns"]], rows, left=1))
            extra = f", reference %YAM from {matrix['reference_yam']}" if "reference_yam" in matrix else ""
            parts.append(f'<p class="note">agreement over categorised hips: {agreement}{escape(extra)}</p>')
    return "\n".join(parts) or '<p class="note">No ROI with categories.</p>'


def _methods(methods: dict[str, Any]) -> str:
    rows = [[name, _method_text(value)] for name, value in methods.items()]
    return _table(None, rows, left=2)


def _method_text(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{key}: {item}" for key, item in value.items())
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def _images(pictures: dict[str, bytes], prefixes: tuple[str, ...]) -> str:
    tags = []
    for name, data in pictures.items():
        if name.startswith(prefixes):
            encoded = base64.b64encode(data).decode("ascii")
            tags.append(
                f'<img alt="{escape(name)}" title="{escape(name)}" src="data:image/png;base64,{encoded}">'
            )
    return f"<div>{''.join(tags)}</div>" if tags else ""


def _table(header: list[str] | None, rows: list[list[Any]], left: int = 1) -> str:
    """A table with the first ``left`` columns aligned left; no header row when ``header`` is None."""

    def cell(tag: str, index: int, value: Any) -> str:
        style = ' class="l"' if index < left else ""
        return f"<{tag}{style}>{escape(str(value))}</{tag}>"

    head = (
        "" if header is None else "<tr>" + "".join(cell("th", i, h) for i, h in enumerate(header)) + "</tr>"
    )
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table>{head}{body}</table>"


def _rates(point: dict[str, Any]) -> str:
    return " / ".join(_n(point[k], 2) for k in ("sensitivity", "specificity", "ppv", "npv"))


def _ci(value: float | None, low: float | None, high: float | None, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    interval = "" if low is None or high is None else f" [{_n(low, digits)}, {_n(high, digits)}]"
    return f"{_n(value, digits)}{interval}"


def _n(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _p(value: float | None) -> str:
    return "n/a" if value is None else f"p={value:.2g}"
