"""Outcome homogenization over a population of runs (Bommasani et al., NeurIPS 2022).

`failures` is a boolean matrix `(k, N)`: run (model) i fails on example x. Every run is scored on
the same N examples.

The definitions follow the authors' reference code, `src/homogenization.py` in
github.com/rishibommasani/HomogenizationNeurIPS2022 (commit f270206): `compute_statistics`,
`compute_global_error_rate`, `compute_average_case_homogenization`,
`compute_uniform_case_homogenization` and `compute_worst_case_homogenization`.
"""

from __future__ import annotations

import math
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


def _check(failures: np.ndarray) -> np.ndarray:
    failures = np.asarray(failures, dtype=bool)
    if failures.ndim != 2 or failures.shape[0] < 2:
        raise ValueError("homogenization compares at least two runs")
    if failures.shape[1] == 0:
        raise ValueError("homogenization needs at least one example")
    return failures


def _never_fail(errors: np.ndarray) -> str:
    perfect = [i for i, e in enumerate(errors) if e == 0]
    return f"undefined: run(s) {perfect} never fail, so independent failures predict 0"


def homogenization(failures: np.ndarray) -> Homogenization:
    """Individual-level outcome homogenization (Bommasani et al. 2022).

        H = P(systemic failure) / prod_i P(failure of run i)
          = [(1/N) sum_x prod_i F_xi] / prod_i err_i,   err_i = (1/N) sum_x F_xi:

    the observed rate at which every run fails on the same example over the rate expected if
    the runs failed independently. H = 1: as if independent; H > 1: failures concentrate on the
    same examples. This is the authors' H_avg (and H_unif) of `group_homogenization` with every
    example its own group. When some run never fails the expected rate is 0 and H is None with
    the reason (the authors' code asserts the denominator is nonzero). H = 0 (no systemic
    failure, runs that do fail) is defined.

    Also the failure histogram: examples on which exactly j runs fail, and its independent
    baseline N · PoissonBinomial(err_1..err_k) (Toups et al. 2023).
    """
    failures = _check(failures)
    k, n = failures.shape
    systemic = float(failures.all(axis=0).mean())
    errors = failures.mean(axis=1)
    expected = float(np.prod(errors))
    if expected == 0:
        ratio, reason = None, _never_fail(errors)
    else:
        ratio, reason = systemic / expected, None
    counts = np.bincount(failures.sum(axis=0), minlength=k + 1)
    baseline = poisson_binomial(errors) * n
    return Homogenization(systemic, errors.tolist(), ratio, reason, counts.tolist(), baseline.tolist())


def homogenization_interval(
    failures: np.ndarray, resamples: int = 2000, seed: int = 0, level: float = 0.95
) -> dict[str, object]:
    """H with a percentile bootstrap interval over examples (Efron & Tibshirani 1993).

    The N examples (columns of `failures`, the same for every run) are resampled with
    replacement `resamples` times (numpy's generator seeded with `seed`; equivalently, counts of
    each distinct failure pattern drawn from a multinomial) and H recomputed on each resample;
    [low, high] are its (1 - level)/2 and (1 + level)/2 quantiles. The percentile interval is
    equivariant under monotone maps, so the interval of log10 H is [log10 low, log10 high]
    (None where a bound is 0). A resample in which some run never fails has H = 0/0 and is
    dropped and counted; if more than (1 - level)/2 of the resamples are dropped the interval is
    None with the reason. The unit of inference is the example; the runs are fixed.

    Returns {h, log10_h, low, high, log10_low, log10_high, level, n_examples, models,
    resamples, dropped_resamples, method, reason}; `reason` says why h, log10_h or the interval
    is None.
    """
    failures = _check(failures)
    k, n = failures.shape
    point = homogenization(failures)
    h = point.homogenization
    out: dict[str, object] = {
        "h": h,
        "log10_h": math.log10(h) if h else None,
        "low": None,
        "high": None,
        "log10_low": None,
        "log10_high": None,
        "level": level,
        "n_examples": n,
        "models": k,
        "resamples": resamples,
        "dropped_resamples": 0,
        "method": "percentile bootstrap over examples",
        "reason": point.reason,
    }
    if h is None:
        return out
    if h == 0:
        out["reason"] = "log10 H is undefined: no example fails every run (H = 0)"
    patterns, counts = np.unique(failures.T, axis=0, return_counts=True)  # (P, k), (P,)
    systemic = patterns.all(axis=1).astype(np.float64)
    patterns = patterns.astype(np.float64)
    rng = np.random.default_rng(seed)
    values = []
    left = resamples
    while left > 0:
        size = min(left, max(1, 2_000_000 // len(counts)))
        drawn = rng.multinomial(n, counts / n, size=size).astype(np.float64)  # (size, P)
        expected = np.prod(drawn @ patterns / n, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            values.append(np.where(expected > 0, (drawn @ systemic / n) / expected, np.nan))
        left -= size
    boot = np.concatenate(values)
    finite = boot[np.isfinite(boot)]
    dropped = int(boot.size - finite.size)
    out["dropped_resamples"] = dropped
    tail = (1 - level) / 2
    if dropped > tail * boot.size:
        missing = f"no interval: in {dropped} of {boot.size} resamples some run never fails (H undefined)"
        out["reason"] = missing if out["reason"] is None else f"{out['reason']}; {missing}"
        return out
    low, high = float(np.quantile(finite, tail)), float(np.quantile(finite, 1 - tail))
    out.update(low=low, high=high)
    out["log10_low"] = math.log10(low) if low > 0 else None
    out["log10_high"] = math.log10(high) if high > 0 else None
    return out


def group_homogenization(failures: np.ndarray, groups: np.ndarray) -> dict[str, object]:
    """Group-level homogenization H_avg, H_unif, H_worst, as the authors' code defines them.

    From `src/homogenization.py` (HomogenizationNeurIPS2022): for model i, err_i its overall
    error rate (`compute_statistics`), and for each group g its frequency freq(g, i) = N_g / N
    and its error rate fail_g(h^i) (errors in g / N_g). Here every model sees the same N
    examples, so freq(g, i) = freq_g for every i, and with E = prod_i err_i
    (`compute_global_error_rate`) and J_g = prod_i fail_g(h^i)
    (`compute_global_group_error_rates`):

        H_avg   = sum_g prod_i [freq_g fail_g(h^i)] / (E · sum_g prod_i freq_g)
                = sum_g freq_g^k J_g / (E · sum_g freq_g^k)   (compute_average_case_homogenization)
        H_unif  = mean_g J_g / E                               (compute_uniform_case_homogenization)
        H_worst = max_g J_g / E                                (compute_worst_case_homogenization)

    Note the average case weights group g by freq_g^k (the product over the k models of its
    frequency), not freq_g: that is the authors' code, kept exactly.

    Edge cases, as in that code: E = 0 (some model never fails on any example) makes all three
    undefined (their code asserts `denominator != 0`); here they are None and `reason` names the
    models. A group on which some model never fails has J_g = 0 and is *kept*: it adds 0 to the
    numerators, counts in the mean of H_unif and in the weights of H_avg; it is listed in
    `never_fail` ({group: [models]}), never dropped. (Their code gives a group with no examples
    error rate 1 and frequency 0; here groups are the values present in `groups`, so none is
    empty.)

    Returns {average, uniform, worst_case (H_avg, H_unif, H_worst or None), reason,
    worst_group, per_group: {group: J_g / E} (empty when E = 0), groups: [{group, count,
    frequency, error_rates, joint_error_rate (J_g), ratio (J_g / E or None)}], never_fail,
    error_rates (err_i), expected (E), left_out: [] (no group is left out; kept for
    compatibility)}.
    """
    failures = _check(failures)
    groups = np.asarray(groups)
    if groups.shape != (failures.shape[1],):
        raise ValueError(f"groups has shape {groups.shape}, the failures {failures.shape[1]} examples")
    k = failures.shape[0]
    errors = failures.mean(axis=1)
    expected = float(np.prod(errors))
    rows, never_fail = [], {}
    for group in np.unique(groups):
        mask = groups == group
        rates = failures[:, mask].mean(axis=1)
        joint = float(np.prod(rates))
        if np.any(rates == 0):
            never_fail[str(group)] = [int(i) for i in np.flatnonzero(rates == 0)]
        rows.append(
            {
                "group": str(group),
                "count": int(mask.sum()),
                "frequency": float(mask.mean()),
                "error_rates": rates.tolist(),
                "joint_error_rate": joint,
                "ratio": joint / expected if expected > 0 else None,
            }
        )
    out: dict[str, object] = {
        "average": None,
        "uniform": None,
        "worst_case": None,
        "reason": None,
        "worst_group": None,
        "per_group": {},
        "groups": rows,
        "never_fail": never_fail,
        "error_rates": errors.tolist(),
        "expected": expected,
        "left_out": [],
    }
    if expected == 0:
        out["reason"] = _never_fail(errors) + ": H_avg, H_unif and H_worst are undefined"
        return out
    joints = np.array([row["joint_error_rate"] for row in rows])
    weights = np.array([row["frequency"] for row in rows]) ** k
    worst = int(np.argmax(joints))
    out.update(
        average=float(np.sum(weights * joints) / (expected * np.sum(weights))),
        uniform=float(np.mean(joints) / expected),
        worst_case=float(joints[worst] / expected),
        worst_group=rows[worst]["group"],
        per_group={row["group"]: row["ratio"] for row in rows},
    )
    return out
