"""Statistics across groups of runs, each with its n and p: what the study's tables print beside a ratio.

scipy computes the tests; this module only pairs and labels. A test that the data cannot support (too few
values, or every difference zero) is reported as None with the reason, never as a number.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

# scipy is imported where a test runs: importing scipy.stats costs ~0.6 s, too much for every CLI start.


@dataclasses.dataclass(frozen=True)
class TestResult:
    """One test's outcome: its name, n (pairs, or the two sample sizes), statistic and p, or why it has none."""

    test: str
    n: tuple[int, ...]
    statistic: float | None
    p: float | None
    reason: str = ""


def wilcoxon_paired(a: Sequence[float], b: Sequence[float]) -> TestResult:
    """Two-sided Wilcoxon signed-rank test of paired values (a[i] with b[i])."""
    n = (len(a),)
    diffs = np.asarray(a, float) - np.asarray(b, float)
    if len(diffs) < 2 or not np.any(diffs):
        return TestResult("Wilcoxon signed-rank (paired)", n, None, None,
                          "needs at least 2 pairs with a non-zero difference")
    from scipy import stats

    out = stats.wilcoxon(a, b)
    return TestResult("Wilcoxon signed-rank (paired)", n, float(out.statistic), float(out.pvalue))


def mann_whitney(a: Sequence[float], b: Sequence[float]) -> TestResult:
    """Two-sided Mann–Whitney U test of two independent samples."""
    n = (len(a), len(b))
    if not a or not b:
        return TestResult("Mann-Whitney U", n, None, None, "needs at least one value in each sample")
    from scipy import stats

    out = stats.mannwhitneyu(a, b, alternative="two-sided")
    return TestResult("Mann-Whitney U", n, float(out.statistic), float(out.pvalue))


def kruskal_wallis(samples: Sequence[Sequence[float]]) -> TestResult:
    """Kruskal–Wallis H test across several independent samples."""
    n = tuple(len(s) for s in samples)
    if len(samples) < 2 or any(len(s) == 0 for s in samples):
        return TestResult("Kruskal-Wallis H", n, None, None, "needs at least two non-empty samples")
    if len({v for s in samples for v in s}) < 2:
        return TestResult("Kruskal-Wallis H", n, None, None, "every value is the same")
    from scipy import stats

    out = stats.kruskal(*samples)
    return TestResult("Kruskal-Wallis H", n, float(out.statistic), float(out.pvalue))


def _too_small_for_means(samples: Sequence[Sequence[float]]) -> str:
    """Why a test of means cannot run on `samples` ("" when it can): two samples of two values or more, with
    some spread within them."""
    if len(samples) < 2 or any(len(s) < 2 for s in samples):
        return "needs at least two samples of at least 2 values each"
    if all(len(set(s)) == 1 for s in samples):
        return "no spread within any sample"
    return ""


def one_way_anova(samples: Sequence[Sequence[float]]) -> TestResult:
    """One-way ANOVA F test across several independent samples (scipy.stats.f_oneway)."""
    n = tuple(len(s) for s in samples)
    reason = _too_small_for_means(samples)
    if reason:
        return TestResult("one-way ANOVA F", n, None, None, reason)
    from scipy import stats

    out = stats.f_oneway(*samples)
    return TestResult("one-way ANOVA F", n, float(out.statistic), float(out.pvalue))


def tukey_hsd(samples: Sequence[Sequence[float]],
              pairs: Sequence[tuple[int, int]] | None = None) -> dict[tuple[int, int], TestResult]:
    """Tukey's HSD for each pair (i, j) of the samples (default: every i < j): the statistic is mean(i) −
    mean(j), p is adjusted for all the pairs of all the samples.

    scipy.stats.tukey_hsd's computation, restricted to the pairs asked for: its p-value (the studentized
    range distribution, a numerical integral of ~5 ms each) is evaluated over all k × k pairs."""
    k = len(samples)
    pairs = list(pairs) if pairs is not None else [(i, j) for i in range(k) for j in range(i + 1, k)]
    reason = _too_small_for_means(samples)
    if reason or not pairs:
        return {(i, j): TestResult("Tukey HSD", (len(samples[i]), len(samples[j])), None, None, reason)
                for i, j in pairs}
    from scipy import stats

    arrays = [np.asarray(s, float) for s in samples]
    n = np.array([len(a) for a in arrays])
    means = np.array([a.mean() for a in arrays])
    mse = sum(((a - m) ** 2).sum() for a, m in zip(arrays, means, strict=True)) / (n.sum() - k)
    i, j = np.array(pairs).T
    diff = means[i] - means[j]
    p = stats.studentized_range.sf(np.abs(diff) / np.sqrt(mse / 2 * (1 / n[i] + 1 / n[j])), k, n.sum() - k)
    return {(a, b): TestResult("Tukey HSD", (int(n[a]), int(n[b])), float(d), float(q))
            for (a, b), d, q in zip(pairs, diff, p, strict=True)}


def cliffs_delta(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Cliff's δ = P(a > b) − P(a < b) over every pair of values (−1 … 1); None for an empty sample."""
    if not a or not b:
        return None
    x, y = np.asarray(a, float)[:, None], np.asarray(b, float)[None, :]
    return float(((x > y).sum() - (x < y).sum()) / (x.size * y.size))


def cliffs_magnitude(delta: float) -> str:
    """Romano et al.'s thresholds: negligible < 0.147 ≤ small < 0.33 ≤ medium < 0.474 ≤ large."""
    d = abs(delta)
    return "negligible" if d < 0.147 else "small" if d < 0.33 else "medium" if d < 0.474 else "large"
