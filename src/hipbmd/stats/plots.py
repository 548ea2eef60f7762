"""The report's figures as PNG bytes, drawn from the report record (so they show what the JSON says).

Per ROI a scatter of estimate against reference with the identity and the fitted line, and a
Bland–Altman plot; per diagnostic target the ROC curves of the ROIs; with several sites, bars of MAE
and Pearson r per site. Matplotlib's object API renders with Agg, without pyplot's global state.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from hipbmd.stats.strata import ALL, OVERALL

DPI = 100
SIZE_IN = (5.0, 4.4)
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
ROI_LABELS = {"neck": "femoral neck", "total_hip": "total hip", "proximal_femur": "proximal femur"}


def figures(record: dict[str, Any]) -> dict[str, bytes]:
    """File name → PNG bytes of every figure the record supports."""
    drawn: dict[str, bytes] = {}
    overall = record["strata"][OVERALL][ALL]
    for roi in record["rois"]:
        points = [p for p in record["pairs"] if p["roi"] == roi and p["estimate_g_cm2"] is not None]
        stats = overall[roi]["agreement"]
        if stats is None:
            continue
        drawn[f"scatter_{roi}.png"] = scatter(points, stats, roi)
        drawn[f"bland_altman_{roi}.png"] = bland_altman_plot(points, stats, roi)
    for target in ("osteoporosis", "low_bone_mass"):
        curves = {
            roi: overall[roi]["diagnosis"][target]
            for roi in record["rois"]
            if _has_curve(overall[roi], target)
        }
        if curves:
            drawn[f"roc_{target}.png"] = roc_plot(curves, target)
    sites = record["strata"].get("site", {})
    if len(sites) > 1:
        drawn["sites.png"] = site_bars(sites, record["rois"])
    return drawn


def scatter(points: list[dict[str, Any]], stats: dict[str, Any], roi: str) -> bytes:
    """Estimate against reference (g/cm²), coloured by site, with y = x and the OLS line."""
    figure, axes = _figure()
    sites = sorted({str(p["site"]) for p in points})
    for index, site in enumerate(sites):
        chosen = [p for p in points if str(p["site"]) == site]
        label = site if len(sites) > 1 else None
        x, y = _xy(chosen)
        axes.scatter(x, y, s=14, alpha=0.75, color=COLOURS[index % len(COLOURS)], label=label)
    x, y = _xy(points)
    span = np.array([min(x.min(), y.min()), max(x.max(), y.max())])
    axes.plot(span, span, color="grey", linestyle="--", linewidth=1, label="identity")
    fit = stats["linear_fit"]
    if fit is not None:
        line = f"fit: y = {fit['slope']:.2f}x {fit['intercept_g_cm2']:+.3f}"
        axes.plot(span, fit["slope"] * span + fit["intercept_g_cm2"], color="black", linewidth=1, label=line)
    r = stats["pearson"]["value"]
    r_text = "n/a" if r is None else f"{r:.3f}"
    axes.set_title(f"{ROI_LABELS[roi]}: r = {r_text}, MAE = {stats['mae_g_cm2']:.3f} g/cm², n = {stats['n']}")
    axes.set_xlabel("reference DXA aBMD (g/cm²)")
    axes.set_ylabel("estimated aBMD (g/cm²)")
    axes.legend(fontsize=7, loc="upper left")
    return _png(figure)


def bland_altman_plot(points: list[dict[str, Any]], stats: dict[str, Any], roi: str) -> bytes:
    """Difference (estimate − reference) against the mean, with bias, limits and proportional bias."""
    figure, axes = _figure()
    x, y = _xy(points)
    mean, difference = (x + y) / 2.0, y - x
    axes.scatter(mean, difference, s=14, alpha=0.75, color=COLOURS[0])
    ba = stats["bland_altman"]
    for value, style, label in (
        (ba["bias_g_cm2"], "-", f"bias {ba['bias_g_cm2']:+.3f}"),
        (ba["loa_low_g_cm2"], "--", f"-1.96 SD {ba['loa_low_g_cm2']:+.3f}"),
        (ba["loa_high_g_cm2"], "--", f"+1.96 SD {ba['loa_high_g_cm2']:+.3f}"),
    ):
        axes.axhline(value, color="black", linestyle=style, linewidth=1, label=label)
    if ba["proportional_slope"] is not None:
        span = np.array([mean.min(), mean.max()])
        p_text = "n/a" if ba["proportional_p_value"] is None else f"{ba['proportional_p_value']:.3g}"
        label = f"slope {ba['proportional_slope']:+.2f} (p = {p_text})"
        line = ba["proportional_slope"] * span + ba["proportional_intercept_g_cm2"]
        axes.plot(span, line, color=COLOURS[1], linestyle=":", linewidth=1.2, label=label)
    axes.set_title(f"{ROI_LABELS[roi]}: Bland-Altman, n = {stats['n']}")
    axes.set_xlabel("mean of estimate and reference (g/cm²)")
    axes.set_ylabel("estimate - reference (g/cm²)")
    axes.legend(fontsize=7, loc="best")
    return _png(figure)


def roc_plot(curves: dict[str, dict[str, Any]], target: str) -> bytes:
    """ROC curve per ROI, with the category point (square) and Youden's point (circle)."""
    figure, axes = _figure()
    axes.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
    for index, (roi, diagnosis) in enumerate(curves.items()):
        colour = COLOURS[index % len(COLOURS)]
        auc = diagnosis["auc"]
        label = f"{ROI_LABELS[roi]}: AUC {auc['value']:.3f} ({auc['ci_low']:.3f}-{auc['ci_high']:.3f})"
        axes.plot(diagnosis["roc_fpr"], diagnosis["roc_tpr"], color=colour, linewidth=1.5, label=label)
        for point, marker in ((diagnosis["at_category"], "s"), (diagnosis["at_youden"], "o")):
            if point["sensitivity"] is not None and point["specificity"] is not None:
                axes.plot(1 - point["specificity"], point["sensitivity"], marker=marker, color=colour)
    rule = next(iter(curves.values()))["rule"]
    axes.set_title(f"{target.replace('_', ' ')} (reference {rule}); square: category, circle: Youden")
    axes.title.set_fontsize(9)
    axes.set_xlabel("1 - specificity")
    axes.set_ylabel("sensitivity")
    axes.set_xlim(-0.02, 1.02)
    axes.set_ylim(-0.02, 1.02)
    axes.legend(fontsize=7, loc="lower right")
    return _png(figure)


def site_bars(sites: dict[str, dict[str, Any]], rois: list[str]) -> bytes:
    """MAE (g/cm²) and Pearson r per site, one bar per ROI."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(max(6.0, 1.1 * len(sites) + 2.0), 4.4), dpi=DPI, layout="constrained")
    panels = figure.subplots(1, 2)
    names = list(sites)
    width = 0.8 / max(len(rois), 1)
    for index, roi in enumerate(rois):
        stats = [sites[name][roi]["agreement"] for name in names]
        offsets = np.arange(len(names)) + (index - (len(rois) - 1) / 2) * width
        mae = [np.nan if s is None else s["mae_g_cm2"] for s in stats]
        r = [np.nan if s is None or s["pearson"]["value"] is None else s["pearson"]["value"] for s in stats]
        colour = COLOURS[index % len(COLOURS)]
        panels[0].bar(offsets, mae, width, color=colour, label=ROI_LABELS[roi])
        panels[1].bar(offsets, r, width, color=colour, label=ROI_LABELS[roi])
    counts = [max(sites[name][roi]["n_pairs"] for roi in rois) for name in names]
    labels = [f"{name} (n={count})" for name, count in zip(names, counts, strict=True)]
    for axes, title in zip(panels, ("MAE (g/cm²)", "Pearson r"), strict=True):
        axes.set_xticks(np.arange(len(names)), labels, rotation=30, ha="right", fontsize=8)
        axes.set_title(f"{title} per site")
        axes.grid(True, axis="y", alpha=0.3)
    panels[1].set_ylim(min(0.0, panels[1].get_ylim()[0]), 1.0)
    panels[0].legend(fontsize=7)
    return _png(figure)


def _has_curve(roi_record: dict[str, Any], target: str) -> bool:
    diagnosis = roi_record["diagnosis"]
    return diagnosis is not None and diagnosis[target]["auc"] is not None


def _xy(points: list[dict[str, Any]]) -> tuple[Any, Any]:
    x = np.array([p["reference_g_cm2"] for p in points], dtype=float)
    y = np.array([p["estimate_g_cm2"] for p in points], dtype=float)
    return x, y


def _figure() -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=SIZE_IN, dpi=DPI, layout="constrained")
    axes = figure.subplots()
    axes.grid(True, alpha=0.3)
    axes.title.set_fontsize(9)
    return figure, axes


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
