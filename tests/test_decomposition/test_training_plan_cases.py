"""Which manifest rows a training plan takes: a row range, or an explicit list of case ids; several
cohorts give the pairs of each."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from hipbmd.decomposition.data import PairSet
from hipbmd.decomposition.fit_model import plan_from_config, training_pairs

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


def test_several_cohorts_give_the_pairs_of_each_in_turn(sim_cohort: Path, tmp_path: Path) -> None:
    other = tmp_path / "second_cohort"
    shutil.copytree(sim_cohort, other)
    plan = plan_from_config(None, (0, 1))
    one = training_pairs([sim_cohort], plan, tmp_path / "one", None)
    calls: list[tuple[int, int]] = []
    both = training_pairs([sim_cohort, other], plan, tmp_path / "both", lambda d, t: calls.append((d, t)))
    assert len(both.records) == 2 * len(one.records)
    assert [r["cohort"] for r in both.records] == [sim_cohort.name] * len(one.records) + [other.name] * len(
        one.records
    )
    np.testing.assert_array_equal(both.inputs[len(one.records) :], one.inputs)
    assert calls[-1] == (2, 2)  # progress counts the cases of every cohort
    _, _, cases = PairSet.load(tmp_path / "both" / "pairs.npz")
    assert cases == [f"{sim_cohort.name}/case_00000", "second_cohort/case_00000"]
    with pytest.raises(ValueError, match="one cohort at a time"):
        training_pairs([sim_cohort, other], replace(plan, register=True), tmp_path / "r", None)


@pytest.mark.parametrize("config", sorted((Path(__file__).parents[2] / "configs").glob("bmd_gan_*.yaml")))
def test_every_shipped_training_config_makes_a_plan(config: Path) -> None:
    plan = plan_from_config(config)
    assert plan.gan.iterations[1] > 0
    assert 0.0 <= plan.gan.augmentation.edge_probability <= 1.0
