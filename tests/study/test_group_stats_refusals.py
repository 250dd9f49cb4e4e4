"""The tests of means (one-way ANOVA, Tukey HSD) refuse samples they cannot support with a reason, never a p;
what they can support matches scipy called directly."""

from __future__ import annotations

import math

import pytest
from scipy import stats as scipy_stats

from app.study.stats import one_way_anova, tukey_hsd


@pytest.mark.parametrize(("samples", "reason"), [
    ([[1.0, 2.0]], "needs at least two samples of at least 2 values each"),
    ([[1.0, 2.0], [3.0]], "needs at least two samples of at least 2 values each"),
    ([[1.0, 1.0], [3.0, 3.0]], "no spread within any sample"),
])
def test_samples_too_small_have_a_reason_and_no_p(samples: list[list[float]], reason: str) -> None:
    anova = one_way_anova(samples)
    assert (anova.statistic, anova.p, anova.reason) == (None, None, reason)
    assert anova.n == tuple(len(s) for s in samples)
    assert all(t.p is None and t.reason == reason for t in tukey_hsd(samples).values())


def test_a_subset_of_pairs_keeps_the_p_adjusted_over_every_pair() -> None:
    samples = [[1.0, 2.0, 3.5], [2.0, 4.0, 4.5, 5.0], [7.0, 8.0, 6.5], [3.0, 3.5, 2.5]]
    full = scipy_stats.tukey_hsd(*samples)
    shown = tukey_hsd(samples, [(0, 1), (2, 3)])
    assert list(shown) == [(0, 1), (2, 3)]
    for (i, j), test in shown.items():
        assert test.n == (len(samples[i]), len(samples[j]))
        assert math.isclose(test.p, full.pvalue[i, j]) and math.isclose(test.statistic, full.statistic[i, j])
    assert math.isclose(one_way_anova(samples).p, scipy_stats.f_oneway(*samples).pvalue)
