"""Calibrated 95 % intervals: an error model per region, fitted on hips held out of training.

A calibration cohort's hips are measured the way ``hipbmd estimate`` measures them (the same localiser,
regions and Monte-Carlo samples) and compared with their DXA. They are split at random in two halves:

* **Half A** fits, per region, the DXA line (DXA ≈ slope × measured + intercept, on the inference path
  rather than on the training crops), the out-of-distribution reference (mean and shrunk covariance of
  :meth:`~hipbmd.bmd.hip_evidence.HipEvidence.features`, Ledoit–Wolf) and a scale model of the error:
  log s(x) = c₀ + c₁·log(slope × Monte-Carlo spread) + c₂·log(1 + OOD distance), least squares on
  log |residual|
  (a coefficient that comes out negative is dropped and the rest refitted: a larger spread or a stranger
  hip is never taken as a smaller error).
* **Half B** gives the split-conformal quantile q of |residual| / s(x): the ⌈(n + 1)·0.95⌉-th smallest
  of its n scores, so that DXA ∈ estimate ± q·s(x) holds for 95 % of hips exchangeable with the
  calibration cohort's (Lei et al., J Am Stat Assoc 2018;113:1094–1111, "locally weighted" split
  conformal). Half B also sets the out-of-distribution threshold (its 99th percentile of distances) and
  the ``high_uncertainty`` threshold (its 90th percentile of interval half-widths).

The calibrated error SD used for the categories' probabilities (:mod:`hipbmd.bmd.category_confidence`) is
the half-width over 1.96: the error is taken as normal with the calibrated 95 % quantile.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from hipbmd.bmd.dxa_calibration import LinearDXAMap, fit_dxa_map
from hipbmd.bmd.hip_evidence import FEATURES, SPREAD_FLOOR_G_CM2, HipEvidence

COVERAGE = 0.95
Z_95 = 1.959964  # the standard normal's 97.5th percentile
OOD_PERCENTILE = 99.0  # of the calibration hips' distances: beyond it a hip is out of distribution
WIDE_PERCENTILE = 90.0  # of the calibration hips' half-widths: beyond it, high_uncertainty
MIN_HIPS = 40
RESIDUAL_FLOOR_G_CM2 = 1e-3  # |residual| below this counts as this in the log of the scale fit
SCALE_TERMS = ("intercept", "log_spread", "log1p_ood_distance")


@dataclass(frozen=True)
class CalibrationHip:
    """One measured index hip of the calibration cohort.

    Attributes:
        raw_g_cm2: region → mean areal density on the predicted DRR (before the DXA line), g/cm².
        dxa_g_cm2: region → the hip's DXA aBMD, g/cm².
        evidence: what was known of it at inference.
        group: the hip's site or style group, for reports.
    """

    raw_g_cm2: dict[str, float]
    dxa_g_cm2: dict[str, float]
    evidence: HipEvidence
    group: str = ""


@dataclass(frozen=True)
class OODReference:
    """The calibration hips' evidence: its mean, the inverse of its shrunk covariance, and the distance
    beyond which a hip is out of distribution."""

    mean: tuple[float, ...]
    precision: tuple[tuple[float, ...], ...]
    threshold: float

    def distance(self, evidence: HipEvidence) -> float:
        """Mahalanobis distance of the hip's features from the reference (a missing feature counts as
        the reference's mean)."""
        centred = evidence.features() - np.asarray(self.mean)
        centred[~np.isfinite(centred)] = 0.0
        return float(np.sqrt(max(centred @ np.asarray(self.precision) @ centred, 0.0)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "features": list(FEATURES),
            "mean": list(self.mean),
            "precision": [list(row) for row in self.precision],
            "threshold": self.threshold,
        }

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> OODReference:
        """Inverse of :meth:`to_dict`; ValueError when its features are not this version's."""
        if list(record.get("features", [])) != list(FEATURES):
            raise ValueError(
                f"the OOD reference's features {record.get('features')} are not {list(FEATURES)}"
            )
        precision = tuple(tuple(float(v) for v in row) for row in record["precision"])
        return cls(tuple(float(v) for v in record["mean"]), precision, float(record["threshold"]))


@dataclass(frozen=True)
class RegionErrorModel:
    """One region's DXA line and the calibrated half-width of its 95 % interval.

    Attributes:
        line: measured → DXA (fitted on half A).
        scale: coefficients of log s(x) over :data:`SCALE_TERMS` (0 for a dropped term).
        quantile: the conformal quantile q of |residual| / s(x) (half B).
        wide_half_width_g_cm2: half-widths above this are flagged ``high_uncertainty``.
        n_fit, n_conformal: hips of halves A and B.
    """

    line: LinearDXAMap
    scale: tuple[float, float, float]
    quantile: float
    wide_half_width_g_cm2: float
    n_fit: int
    n_conformal: int

    def half_width_g_cm2(self, spread_g_cm2: float, ood_distance: float) -> float:
        """The 95 % interval's half-width (g/cm²) for a hip with this raw Monte-Carlo spread and distance."""
        return self.quantile * _scale(self.scale, self.line.slope * spread_g_cm2, ood_distance)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "line": self.line.to_dict(),
            "scale": dict(zip(SCALE_TERMS, self.scale, strict=True)),
            "quantile": self.quantile,
            "wide_half_width_g_cm2": self.wide_half_width_g_cm2,
            "n_fit": self.n_fit,
            "n_conformal": self.n_conformal,
        }

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> RegionErrorModel:
        """Inverse of :meth:`to_dict`."""
        c0, c1, c2 = (float(record["scale"][term]) for term in SCALE_TERMS)
        return cls(
            LinearDXAMap.from_dict(record["line"]),
            (c0, c1, c2),
            float(record["quantile"]),
            float(record["wide_half_width_g_cm2"]),
            int(record["n_fit"]),
            int(record["n_conformal"]),
        )


@dataclass(frozen=True)
class IntervalCalibration:
    """The error models of the regions, the OOD reference, and where they were fitted.

    Attributes:
        regions: region → its error model.
        ood: the out-of-distribution reference.
        coverage: the intervals' nominal coverage.
        cohorts: the calibration cohorts as the model records them (name and simulation settings).
        samples: the Monte-Carlo samples the hips were measured with.
    """

    regions: dict[str, RegionErrorModel]
    ood: OODReference
    coverage: float = COVERAGE
    cohorts: list[dict[str, Any]] = field(default_factory=list)
    samples: int = 8

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "method": "split-conformal, locally weighted (scale: Monte-Carlo spread and OOD distance)",
            "coverage": self.coverage,
            "samples": self.samples,
            "cohorts": self.cohorts,
            "regions": {roi: model.to_dict() for roi, model in self.regions.items()},
            "ood": self.ood.to_dict(),
        }

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> IntervalCalibration:
        """Inverse of :meth:`to_dict`."""
        regions = {str(roi): RegionErrorModel.from_dict(model) for roi, model in record["regions"].items()}
        return cls(
            regions,
            OODReference.from_dict(record["ood"]),
            float(record.get("coverage", COVERAGE)),
            list(record.get("cohorts") or []),
            int(record.get("samples", 8)),
        )


def fit_interval_calibration(
    hips: Sequence[CalibrationHip],
    rois: Sequence[str] = ("neck", "total_hip"),
    coverage: float = COVERAGE,
    seed: int = 0,
) -> IntervalCalibration:
    """The error models and OOD reference from the calibration hips (see the module docstring).

    Raises:
        ValueError: fewer than :data:`MIN_HIPS` hips with every region measured, or a coverage outside
            (0, 1) that the hips are too few to give.
    """
    usable = [hip for hip in hips if all(roi in hip.raw_g_cm2 and roi in hip.dxa_g_cm2 for roi in rois)]
    if len(usable) < MIN_HIPS:
        raise ValueError(
            f"an interval calibration needs at least {MIN_HIPS} measured hips, got {len(usable)}"
        )
    order = np.random.default_rng(seed).permutation(len(usable))
    half_a = [usable[i] for i in order[: len(usable) // 2]]
    half_b = [usable[i] for i in order[len(usable) // 2 :]]
    ood_fit = _ood_fit(half_a)
    distances_b = np.array([ood_fit.distance(hip.evidence) for hip in half_b])
    ood = OODReference(ood_fit.mean, ood_fit.precision, float(np.percentile(distances_b, OOD_PERCENTILE)))
    regions = {roi: _region_model(roi, half_a, half_b, ood, coverage) for roi in rois}
    return IntervalCalibration(regions, ood, coverage)


def conformal_quantile(scores: npt.ArrayLike, coverage: float) -> float:
    """The ⌈(n + 1)·coverage⌉-th smallest of n scores: a new exchangeable score lies at or below it with
    probability at least ``coverage``.

    Raises:
        ValueError: coverage outside (0, 1), or too few scores for it (fewer than coverage/(1 − coverage)).
    """
    values = np.sort(np.asarray(scores, dtype=np.float64))
    if not 0.0 < coverage < 1.0:
        raise ValueError(f"coverage must lie in (0, 1), got {coverage}")
    rank = math.ceil((len(values) + 1) * coverage)
    if rank > len(values):
        raise ValueError(f"{len(values)} scores are too few for a {coverage:.0%} conformal quantile")
    return float(values[rank - 1])


def _region_model(
    roi: str, half_a: list[CalibrationHip], half_b: list[CalibrationHip], ood: OODReference, coverage: float
) -> RegionErrorModel:
    line = fit_dxa_map([h.raw_g_cm2[roi] for h in half_a], [h.dxa_g_cm2[roi] for h in half_a])
    scale = _scale_fit(roi, half_a, line, ood)
    scales_b = np.array([_hip_scale(scale, roi, hip, line, ood) for hip in half_b])
    residuals_b = np.array([hip.dxa_g_cm2[roi] - line.apply(hip.raw_g_cm2[roi]) for hip in half_b])
    quantile = conformal_quantile(np.abs(residuals_b) / scales_b, coverage)
    wide = float(np.percentile(quantile * scales_b, WIDE_PERCENTILE))
    return RegionErrorModel(line, scale, quantile, wide, len(half_a), len(half_b))


def _scale_fit(
    roi: str, hips: list[CalibrationHip], line: LinearDXAMap, ood: OODReference
) -> tuple[float, float, float]:
    """log s = c₀ + c₁ log(slope·spread) + c₂ log(1 + distance) by least squares on log |residual|,
    dropping a term whose coefficient comes out negative."""
    residuals = np.array([hip.dxa_g_cm2[roi] - line.apply(hip.raw_g_cm2[roi]) for hip in hips])
    target = np.log(np.maximum(np.abs(residuals), RESIDUAL_FLOOR_G_CM2))
    terms = np.array(
        [_scale_terms(line.slope * hip.evidence.spread(roi), ood.distance(hip.evidence)) for hip in hips]
    )
    kept = [0, 1, 2]
    while True:
        coefficients, *_ = np.linalg.lstsq(terms[:, kept], target, rcond=None)
        negative = [term for term, value in zip(kept[1:], coefficients[1:], strict=True) if value < 0.0]
        if not negative:
            break
        kept.remove(negative[0])
    scale = [0.0, 0.0, 0.0]
    for term, value in zip(kept, coefficients, strict=True):
        scale[term] = float(value)
    return scale[0], scale[1], scale[2]


def _hip_scale(
    scale: tuple[float, float, float], roi: str, hip: CalibrationHip, line: LinearDXAMap, ood: OODReference
) -> float:
    return _scale(scale, line.slope * hip.evidence.spread(roi), ood.distance(hip.evidence))


def _scale(scale: tuple[float, float, float], spread_dxa_g_cm2: float, ood_distance: float) -> float:
    """s(x) = exp(c · terms), the terms of :func:`_scale_terms`."""
    terms = _scale_terms(spread_dxa_g_cm2, ood_distance)
    return math.exp(sum(c * t for c, t in zip(scale, terms, strict=True)))


def _scale_terms(spread_dxa_g_cm2: float, ood_distance: float) -> tuple[float, float, float]:
    """The scale model's terms (:data:`SCALE_TERMS`): 1, log(spread in DXA units), log(1 + distance); one
    function for the fit and for its use, so the two cannot differ."""
    spread = max(abs(spread_dxa_g_cm2), SPREAD_FLOOR_G_CM2)
    return 1.0, math.log(spread), math.log1p(max(ood_distance, 0.0))


def _ood_fit(hips: list[CalibrationHip]) -> OODReference:
    """Mean and Ledoit–Wolf shrunk precision of the hips' features (missing values at the mean)."""
    from sklearn.covariance import LedoitWolf

    features = np.array([hip.evidence.features() for hip in hips])
    finite = np.isfinite(features)
    counts = finite.sum(axis=0)
    sums = np.where(finite, features, 0.0).sum(axis=0)
    mean = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)  # a feature never seen: 0
    filled = np.where(finite, features, mean)
    spread = filled.std(axis=0)
    spread[spread <= 0] = 1.0
    standardised = (filled - mean) / spread  # shrinkage towards a scaled identity needs comparable units
    precision = LedoitWolf().fit(standardised).precision_ / np.outer(spread, spread)
    return OODReference(tuple(mean.tolist()), tuple(tuple(row) for row in precision.tolist()), math.inf)
