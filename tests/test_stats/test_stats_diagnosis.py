"""Diagnostic targets, ROC per target, confusion matrices, subgroups and the reference %YAM."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from hipbmd.bmd.reference import YAMEntry, YAMTable
from hipbmd.bmd.results_table import ResultRow
from hipbmd.stats.confusion import JOS_CATEGORIES, WHO_CATEGORIES, WITHHELD, confusion
from hipbmd.stats.diagnosis import TARGETS, diagnose
from hipbmd.stats.inputs import ReferenceCase
from hipbmd.stats.matching import Pair
from hipbmd.stats.strata import age_band, split
from hipbmd.stats.yam import yam_basis


def test_targets_follow_the_who_boundaries_after_rounding() -> None:
    osteoporosis, low = TARGETS["osteoporosis"].positive, TARGETS["low_bone_mass"].positive
    assert osteoporosis(-2.5) and osteoporosis(-2.45) and not osteoporosis(-2.44)
    assert low(-1.05) and not low(-1.0) and not low(-0.96)


def test_diagnosis_numbers_by_hand() -> None:
    reference_t = [-3.0, -2.6, -2.5, -2.0, -1.5, -0.5, 0.5]  # three positives for osteoporosis
    estimated_t = [-2.8, -2.2, -2.6, -2.7, -1.0, -0.4, 0.0]
    result = diagnose(reference_t, estimated_t, TARGETS["osteoporosis"])
    truth = [1, 1, 1, 0, 0, 0, 0]
    assert (result.n, result.n_positive) == (7, 3)
    assert result.auc is not None
    assert result.auc.value == pytest.approx(roc_auc_score(truth, -np.array(estimated_t)))
    # Category: estimated T ≤ −2.5 calls hips 1, 3, 4: TP 2, FP 1, FN 1, TN 3.
    point = result.at_category
    assert (point.true_positive, point.false_positive, point.false_negative, point.true_negative) == (
        2,
        1,
        1,
        3,
    )
    # Youden: calling T ≤ −2.2 catches all three positives with one false positive (J = 3/4).
    assert result.youden_t_score == pytest.approx(-2.2)
    assert result.at_youden is not None
    assert (result.at_youden.sensitivity, result.at_youden.specificity) == pytest.approx((1.0, 0.75))
    assert result.roc_fpr[0] == 0.0 and result.roc_tpr[-1] == 1.0


def test_one_class_gives_no_auc() -> None:
    result = diagnose([0.1, 0.2, -0.3], [0.0, 0.1, -0.5], TARGETS["osteoporosis"])
    assert result.auc is None and result.note == "no reference positives"
    assert result.at_category.specificity == 1.0


def test_confusion_counts_withheld_in_their_own_column() -> None:
    reference = ["normal", "osteopenia", "osteoporosis", "osteopenia", "normal"]
    estimated = ["normal", "osteoporosis", "osteoporosis", None, "osteopenia"]
    matrix = confusion(reference, estimated, WHO_CATEGORIES)
    assert matrix.columns == (*WHO_CATEGORIES, WITHHELD)
    assert matrix.counts == ((1, 1, 0, 0), (0, 0, 1, 1), (0, 0, 1, 0))
    assert (matrix.n, matrix.n_categorised, matrix.agreement) == (5, 4, 0.5)
    with pytest.raises(ValueError, match="unknown category"):
        confusion(["normal"], ["osteopenia"], JOS_CATEGORIES)


@pytest.mark.parametrize(
    ("age", "band"),
    [(49.9, "<50"), (50, "50-59"), (69.99, "60-69"), (79, "70-79"), (80, ">=80"), (None, None)],
)
def test_age_bands(age: float | None, band: str | None) -> None:
    assert age_band(age) == band


def _case(line: int, site: str | None = None, yam: dict[str, float] | None = None) -> ReferenceCase:
    return ReferenceCase(
        line, f"x{line}.dcm", "left", MappingProxyType({"neck": 0.6}), MappingProxyType(yam or {}), site=site
    )


def _pair(case: ReferenceCase, abmd: float | None, percent: float | None) -> Pair:
    estimate = ResultRow(case.file, "left", "neck", abmd, yam_percent=percent, line=1)
    return Pair(case, "neck", 0.6, estimate, None if abmd is not None else "withheld")


def test_split_orders_groups_and_puts_unknown_last() -> None:
    cases = [_case(1, "b"), _case(2, None), _case(3, "a"), _case(4, "b")]
    groups = split(cases, lambda case: case, "site")
    assert list(groups) == ["a", "b", "unknown"]
    assert [case.line for case in groups["b"]] == [1, 4]


def test_reference_yam_sources_in_order() -> None:
    implied = [_pair(_case(1), 0.56, 70.0), _pair(_case(2), 0.64, 80.0)]  # both imply YAM 0.8
    basis, reason = yam_basis("neck", implied, None)
    assert basis is not None and basis.yam_g_cm2 == pytest.approx(0.8)
    assert basis.percent(implied[0]) == pytest.approx(75.0) and "implied" in reason
    table = YAMTable(MappingProxyType({"neck": YAMEntry("neck", 0.75)}), "yam.csv")
    basis, _ = yam_basis("neck", implied, table)
    assert basis is not None and basis.percent(implied[0]) == pytest.approx(80.0)
    cells = [_pair(_case(1, yam={"neck": 66.0}), 0.56, 70.0)]
    basis, _ = yam_basis("neck", cells, table)
    assert basis is not None and basis.percent(cells[0]) == 66.0


def test_no_reference_yam_without_estimated_yam_or_with_mixed_tables() -> None:
    assert yam_basis("neck", [_pair(_case(1), 0.56, None)], None)[0] is None
    mixed = [_pair(_case(1), 0.56, 70.0), _pair(_case(2), 0.64, 70.0)]
    basis, reason = yam_basis("neck", mixed, None)
    assert basis is None and "different YAMs" in reason


def test_inputs_module_guards(tmp_path: Path) -> None:
    from hipbmd.errors import InputError
    from hipbmd.stats.inputs import read_reference, read_results

    results = tmp_path / "results.csv"
    results.write_text("file,side,roi,abmd_g_cm2,who_category\nx.dcm,left,neck,0.7,osteopaenia\n")
    with pytest.raises(InputError, match="line 2: who_category 'osteopaenia'"):
        read_results(results)
    reference = tmp_path / "dxa.csv"
    reference.write_text("file,side,dxa_neck_g_cm2\nx.dcm,left,0.7\nx.dcm,LEFT,0.8\n")
    with pytest.raises(InputError, match="repeats line 2"):
        read_reference(reference)
    reference.write_text("file,side,dxa_neck_g_cm2\nx.dcm,middle,0.7\n")
    with pytest.raises(InputError, match="side must be right or left"):
        read_reference(reference)
