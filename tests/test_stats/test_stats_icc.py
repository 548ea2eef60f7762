"""ICC(A,1) and ICC(C,1) against published examples and a hand-worked table."""

from __future__ import annotations

import numpy as np
import pytest

from hipbmd.stats.icc import icc_agreement, icc_consistency, mean_squares

# Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges.
SHROUT_FLEISS = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
# McGraw & Wong (1996), Table 6: 10 subjects, 2 measurements.
MCGRAW_WONG = [[103, 119], [82, 65], [116, 106], [102, 102], [99, 105], [98, 100], [104, 107], [62, 85]]
MCGRAW_WONG += [[97, 101], [107, 110]]


def test_shrout_fleiss_mean_squares_are_those_of_their_table_2() -> None:
    ms = mean_squares(SHROUT_FLEISS)
    # Published (two decimals): BMS 11.24, JMS 32.49, EMS 1.02.
    assert (ms.rows, ms.columns, ms.error) == pytest.approx((11.24, 32.49, 1.02), abs=0.005)


def test_shrout_fleiss_coefficients_and_intervals() -> None:
    absolute, consistency = icc_agreement(SHROUT_FLEISS), icc_consistency(SHROUT_FLEISS)
    # Published ICC(2,1) = .29 and ICC(3,1) = .71 (.290 and .715 to three decimals).
    assert absolute.value == pytest.approx(0.290, abs=5e-4)
    assert consistency.value == pytest.approx(0.715, abs=5e-4)
    # The 95 % intervals R's psych::ICC prints for these data: [0.019, 0.76] and [0.342, 0.95].
    assert (absolute.ci_low, absolute.ci_high) == pytest.approx((0.019, 0.76), abs=5e-3)
    assert (consistency.ci_low, consistency.ci_high) == pytest.approx((0.342, 0.95), abs=5e-3)
    assert absolute.f_statistic == pytest.approx(11.24 / 1.02, rel=5e-3)


def test_mcgraw_wong_two_method_example() -> None:
    absolute, consistency = icc_agreement(MCGRAW_WONG), icc_consistency(MCGRAW_WONG)
    # R (psych::ICC) on these data: ICC2 0.720 [0.228, 0.922], ICC3 0.714 [0.197, 0.920], p 0.00677.
    assert (absolute.value, absolute.ci_low, absolute.ci_high) == pytest.approx(
        (0.720, 0.228, 0.922), abs=5e-4
    )
    assert (consistency.value, consistency.ci_low, consistency.ci_high) == pytest.approx(
        (0.714, 0.197, 0.920), abs=5e-4
    )
    assert consistency.p_value == pytest.approx(0.00677, abs=5e-5)


def test_hand_worked_table() -> None:
    # Subjects 1..3 measured twice, the second method +1 throughout except subject 3 (+2):
    # row means 1.5, 2.5, 4; column means 2, 3.333; grand 2.6667.
    ratings = np.array([[1.0, 2.0], [2.0, 3.0], [3.0, 5.0]])
    ms = mean_squares(ratings)
    msr = 2 * ((1.5 - 8 / 3) ** 2 + (2.5 - 8 / 3) ** 2 + (4 - 8 / 3) ** 2) / 2
    msc = 3 * ((2 - 8 / 3) ** 2 + (10 / 3 - 8 / 3) ** 2) / 1
    residual = ratings - ratings.mean(1, keepdims=True) - ratings.mean(0, keepdims=True) + 8 / 3
    mse = float((residual**2).sum()) / 2
    assert (ms.rows, ms.columns, ms.error) == pytest.approx((msr, msc, mse))
    assert icc_consistency(ratings).value == pytest.approx((msr - mse) / (msr + mse))
    assert icc_agreement(ratings).value == pytest.approx((msr - mse) / (msr + mse + 2 * (msc - mse) / 3))


def test_two_methods_match_the_moment_identities() -> None:
    # For k = 2 the mean squares reduce to moments (ddof 1): MSR − MSE = 2 s_xy, MSR + MSE = s_x² + s_y²,
    # 2 (MSC − MSE) / n = (x̄ − ȳ)² − s_d² / n; so an offset lowers ICC(A,1) but not ICC(C,1).
    rng = np.random.default_rng(3)
    x = rng.normal(0.8, 0.12, 40)
    y = x + 0.1 + rng.normal(0, 0.01, 40)
    covariance = np.cov(x, y, ddof=1)
    s_xy, spread = covariance[0, 1], covariance[0, 0] + covariance[1, 1]
    offset = (x.mean() - y.mean()) ** 2 - np.var(x - y, ddof=1) / len(x)
    table = np.column_stack([x, y])
    assert icc_consistency(table).value == pytest.approx(2 * s_xy / spread)
    assert icc_agreement(table).value == pytest.approx(2 * s_xy / (spread + offset))
    assert icc_agreement(table).value < 0.85 < 0.99 < icc_consistency(table).value


def test_identical_measurements_have_no_error_variance() -> None:
    result = icc_agreement([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    assert result.value is None and result.ci_low is None


def test_rejects_a_single_column() -> None:
    with pytest.raises(ValueError, match="n >= 2, k >= 2"):
        mean_squares([[1.0], [2.0]])
