"""Outcome homogenization over a population of runs (Bommasani et al., NeurIPS 2022).

`failures` is a boolean matrix `(k, N)`: run i fails on example x.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Homogenization:
    systemic_failure_rate: float  # (1/N) sum_x prod_i F_xi: every run fails on x
    error_rates: list[float]
    homogenization: float | None  # systemic rate / prod_i err_i; None when undefined
    reason: str | None  # why it is undefined
    failure_counts: list[int]  # examples on which exactly j runs fail, j = 0..k
    independent_baseline: list[float]  # the same, expected if runs failed independently


def poisson_binomial(probabilities: np.ndarray) -> np.ndarray:
    """P(exactly j of k independent events happen), j = 0..k (the Toups et al. 2023 baseline)."""
    distribution = np.array([1.0])
    for p in probabilities:
        distribution = np.convolve(distribution, [1.0 - p, p])
    return distribution


def homogenization(failures: np.ndarray) -> Homogenization:
    failures = np.asarray(failures, dtype=bool)
    if failures.ndim != 2 or failures.shape[0] < 2:
        raise ValueError("homogenization compares at least two runs")
    k, n = failures.shape
    systemic = float(failures.all(axis=0).mean())
    errors = failures.mean(axis=1)
    expected = float(np.prod(errors))
    if expected == 0:
        perfect = [i for i, e in enumerate(errors) if e == 0]
        ratio, reason = None, f"undefined: run(s) {perfect} never fail, so independent failures predict 0"
    else:
        ratio, reason = systemic / expected, None
    counts = np.bincount(failures.sum(axis=0), minlength=k + 1)
    baseline = poisson_binomial(errors) * n
    return Homogenization(systemic, errors.tolist(), ratio, reason, counts.tolist(), baseline.tolist())


def group_homogenization(failures: np.ndarray, groups: np.ndarray) -> dict[str, object]:
    """Average, uniform and worst-case group versions: H per group, then combined over groups.

    average weights each group's H by its frequency, uniform weights groups equally,
    worst case takes the largest. Groups whose H is undefined are left out and named.
    """
    groups = np.asarray(groups)
    values, weights, left_out = {}, {}, []
    for group in np.unique(groups):
        mask = groups == group
        result = homogenization(failures[:, mask])
        if result.homogenization is None:
            left_out.append(str(group))
            continue
        values[str(group)] = result.homogenization
        weights[str(group)] = mask.mean()
    if not values:
        return {"per_group": {}, "average": None, "uniform": None, "worst_case": None, "left_out": left_out}
    total = sum(weights.values())
    return {
        "per_group": values,
        "average": sum(values[g] * weights[g] for g in values) / total,
        "uniform": float(np.mean(list(values.values()))),
        "worst_case": max(values.values()),
        "left_out": left_out,
    }
