"""Statistical tests between learners, and the Holm correction for several at once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _scipy_stats():
    # Imported when a test is computed: scipy.stats takes most of a second to import, and a
    # re-run that computes no test (or a `homogc report`) should not pay it.
    from scipy import stats

    return stats


@dataclass
class McNemar:
    b: int  # A right, B wrong
    c: int  # A wrong, B right
    exact_p: float
    chi2: float | None  # with continuity correction; None when b + c = 0
    chi2_p: float


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> McNemar:
    a, b_ = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    return mcnemar_counts(int((a & ~b_).sum()), int((~a & b_).sum()))


def mcnemar_counts(b: int, c: int) -> McNemar:
    """Exact: min(1, 2 BinomCDF(min(b, c); b + c, 1/2)); chi2 = (|b - c| - 1)^2 / (b + c)."""
    total = b + c
    if total == 0:
        return McNemar(b, c, 1.0, None, 1.0)
    exact = min(1.0, 2 * _scipy_stats().binom.cdf(min(b, c), total, 0.5))
    chi2 = (abs(b - c) - 1) ** 2 / total
    return McNemar(b, c, float(exact), float(chi2), float(_scipy_stats().chi2.sf(chi2, 1)))


def ttest(a: np.ndarray, b: np.ndarray, paired: bool) -> dict[str, float]:
    """Paired t-test across seeds, or Welch's when the runs are not paired."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        raise ValueError("a t-test needs at least two runs of each learner")
    differences = a - b if paired and len(a) == len(b) else None
    if differences is not None and np.allclose(differences, differences[0]):
        # No spread in the differences: t is infinite (or undefined when they are all 0).
        return {"statistic": float("inf") if differences[0] else 0.0, "p": 0.0 if differences[0] else 1.0}
    stats = _scipy_stats()
    result = stats.ttest_rel(a, b) if differences is not None else stats.ttest_ind(a, b, equal_var=False)
    return {"statistic": float(result.statistic), "p": float(result.pvalue)}


def wilcoxon(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    differences = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if not np.any(differences):
        return {"statistic": 0.0, "p": 1.0}  # identical scores: no evidence of a difference
    result = _scipy_stats().wilcoxon(differences)
    return {"statistic": float(result.statistic), "p": float(result.pvalue)}


def chi_square(table: np.ndarray) -> dict[str, float]:
    """Chi-square test of independence on a contingency table."""
    result = _scipy_stats().chi2_contingency(np.asarray(table))
    return {"statistic": float(result.statistic), "p": float(result.pvalue), "dof": int(result.dof)}


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given."""
    m = len(p_values)
    order = np.argsort(p_values, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted.tolist()
