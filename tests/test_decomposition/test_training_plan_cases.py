"""Which manifest rows a training plan takes: a row range, or an explicit list of case ids."""

from __future__ import annotations

import pytest

from hipbmd.decomposition.fit_model import plan_from_config

ROWS = [{"case_id": f"case_{k:05d}", "site": "s"} for k in range(5)]


def ids(rows: list[dict[str, str]]) -> list[str]:
    return [row["case_id"] for row in rows]


def test_a_row_range_takes_rows_first_to_stop() -> None:
    plan = plan_from_config(None, (1, 3))
    assert ids(plan.select_rows(ROWS)) == ["case_00001", "case_00002"]
    assert plan.to_dict()["cases"] == [1, 3] and plan.to_dict()["case_ids"] is None
    assert ids(plan_from_config(None).select_rows(ROWS)) == ids(ROWS)


def test_case_ids_take_exactly_those_cases_sorted_and_once() -> None:
    plan = plan_from_config(None, case_ids=["case_00004", "case_00000", "case_00004"])
    assert ids(plan.select_rows(ROWS)) == ["case_00000", "case_00004"]
    assert plan.to_dict()["case_ids"] == ["case_00000", "case_00004"]  # stored in one order


def test_case_ids_the_cohort_lacks_or_given_with_a_range_are_refused() -> None:
    with pytest.raises(ValueError, match="no case"):
        plan_from_config(None, case_ids=["case_00009"]).select_rows(ROWS)
    with pytest.raises(ValueError, match="not both"):
        plan_from_config(None, (0, 2), ["case_00000"])
