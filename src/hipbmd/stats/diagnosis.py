"""How well the estimated T-score finds osteoporosis and low bone mass defined by the reference DXA.

Truth comes from the reference T-score, the score from the estimated one, both T = (aBMD − young mean)
/ young SD against NHANES III (:func:`hipbmd.bmd.classify.t_score`), the estimated T unrounded (the
same order as the estimated aBMD, so fewer ties than the printed one). Lower T means more likely
positive, so the ROC ranks by −T. Targets (:data:`TARGETS`) use the WHO rules of
:func:`hipbmd.bmd.classify.who_category`, boundaries on the T-score rounded to one decimal:

* ``osteoporosis``: T ≤ −2.5;
* ``low_bone_mass``: T < −1 (osteopenia or osteoporosis).

Reported per target: the AUC with DeLong's interval (:mod:`hipbmd.stats.roc`), and sensitivity,
specificity, PPV and NPV when the estimate is called positive by the same rule (the category the
tool prints) and at Youden's optimal T threshold (positive when estimated T ≤ threshold).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from hipbmd.bmd.classify import who_category
from hipbmd.stats.roc import AUC, OperatingPoint, delong_auc, operating_point, roc_curve, youden_threshold


@dataclass(frozen=True)
class Target:
    """A diagnosis defined on the T-score."""

    name: str
    rule: str
    positive: Callable[[float], bool]


def _osteoporosis(t: float) -> bool:
    return who_category(t) == "osteoporosis"


def _low_bone_mass(t: float) -> bool:
    return who_category(t) != "normal"


TARGETS: Mapping[str, Target] = MappingProxyType(
    {
        "osteoporosis": Target("osteoporosis", "T <= -2.5", _osteoporosis),
        "low_bone_mass": Target("low_bone_mass", "T < -1", _low_bone_mass),
    }
)


@dataclass(frozen=True)
class Diagnosis:
    """ROC analysis of one target on n hips (AUC and Youden's point None when one class is absent)."""

    target: str
    rule: str
    n: int
    n_positive: int
    auc: AUC | None
    at_category: OperatingPoint
    youden_t_score: float | None
    at_youden: OperatingPoint | None
    roc_fpr: tuple[float, ...]  # corners of the ROC curve
    roc_tpr: tuple[float, ...]
    note: str | None

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary for a report (written, not read back)."""
        return asdict(self)


def diagnose(
    reference_t: npt.ArrayLike, estimated_t: npt.ArrayLike, target: Target, confidence: float = 0.95
) -> Diagnosis:
    """The ROC analysis of the module docstring for paired reference and estimated T-scores."""
    truth_t = np.asarray(reference_t, dtype=float).ravel()
    score_t = np.asarray(estimated_t, dtype=float).ravel()
    if truth_t.shape != score_t.shape or len(truth_t) == 0:
        raise ValueError("reference and estimated T-scores must be non-empty and of equal length")
    truth = np.array([target.positive(float(t)) for t in truth_t], dtype=bool)
    called = np.array([target.positive(float(t)) for t in score_t], dtype=bool)
    at_category = operating_point(truth, called)
    n_positive = int(truth.sum())
    if n_positive in (0, len(truth)):
        note = "no reference positives" if n_positive == 0 else "no reference negatives"
        return Diagnosis(
            target.name, target.rule, len(truth), n_positive, None, at_category, None, None, (), (), note
        )
    auc = delong_auc(-score_t[truth], -score_t[~truth], confidence)
    threshold_t = -youden_threshold(truth, -score_t)
    fpr, tpr, _ = roc_curve(truth, -score_t, corners_only=True)
    return Diagnosis(
        target.name,
        target.rule,
        len(truth),
        n_positive,
        auc,
        at_category,
        threshold_t,
        operating_point(truth, score_t <= threshold_t),
        tuple(float(v) for v in fpr),
        tuple(float(v) for v in tpr),
        None,
    )
