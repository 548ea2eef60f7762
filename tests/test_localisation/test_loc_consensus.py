"""The consensus of several looks at one point: agreeing looks averaged, a stray one outvoted."""

from __future__ import annotations

import numpy as np
import pytest

from hipbmd.localisation.consensus import consensus_point

SPACING_MM = (0.2, 0.25)


def test_three_looks_leave_out_the_stray_one_and_average_the_others() -> None:
    looks = [(100.0, 100.0), (104.0, 100.0), (100.0, 220.0)]  # the third 30 mm away
    assert consensus_point(looks, SPACING_MM, 10.0) == pytest.approx([102.0, 100.0])
    # whichever look strays, the two that agree decide
    assert consensus_point(looks[::-1], SPACING_MM, 10.0) == pytest.approx([102.0, 100.0])


def test_two_looks_that_disagree_keep_the_first() -> None:
    looks = [(100.0, 100.0), (100.0, 220.0)]
    assert consensus_point(looks, SPACING_MM, 10.0) == pytest.approx([100.0, 100.0])
    assert consensus_point(looks[::-1], SPACING_MM, 10.0) == pytest.approx([100.0, 220.0])


def test_three_looks_all_apart_keep_the_first() -> None:
    looks = [(0.0, 0.0), (0.0, 60.0), (0.0, 120.0)]  # 15 mm steps: the middle one is the medoid
    assert consensus_point(looks, SPACING_MM, 10.0) == pytest.approx([0.0, 0.0])


def test_agreement_is_judged_in_millimetres() -> None:
    # 45 px apart: 9 mm along rows (0.2 mm), 11.25 mm along columns (0.25 mm)
    along_rows = consensus_point([(0.0, 0.0), (45.0, 0.0)], SPACING_MM, 10.0)
    along_cols = consensus_point([(0.0, 0.0), (0.0, 45.0)], SPACING_MM, 10.0)
    assert along_rows == pytest.approx([22.5, 0.0])
    assert along_cols == pytest.approx([0.0, 0.0])


def test_one_look_is_its_own_consensus_and_none_is_an_error() -> None:
    assert consensus_point([(3.5, 7.25)], SPACING_MM, 10.0) == pytest.approx([3.5, 7.25])
    with pytest.raises(ValueError, match="no points"):
        consensus_point(np.zeros((0, 2)), SPACING_MM, 10.0)
