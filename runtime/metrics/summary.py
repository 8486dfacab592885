"""Scores across runs: mean, standard deviation, a Student-t interval of the mean, and the spread.

The interval of a mean over a handful of runs (seeds) is the Student t interval,
mean ± t_{n-1, (1+level)/2} · s / √n: a percentile bootstrap over 3 runs is exactly
[min, max] and, at 5 runs, about 38% narrower than the t interval (it ignores that s is
estimated from the same few values; Efron & Tibshirani 1993, ch. 13). `bootstrap_interval` stays
for resampling many units (examples), where it is appropriate.
"""

from __future__ import annotations

import math

import numpy as np


def spread(scores: np.ndarray) -> tuple[float | None, str | None]:
    """sigma = (max - min) / min across runs; undefined (None, with the reason) when min is 0."""
    scores = np.asarray(scores, dtype=float)
    if len(scores) < 2:
        return None, "undefined: the spread compares at least two runs"
    low = scores.min()
    if low == 0:
        return None, "undefined: the smallest score is 0, and sigma divides by it"
    return float((scores.max() - low) / low), None


def bootstrap_interval(
    scores: np.ndarray, level: float = 0.95, resamples: int = 2000, seed: int = 0
) -> list[float] | None:
    """Percentile bootstrap interval of the mean (Efron & Tibshirani 1993); None for fewer than two values.

    Resamples the values with replacement `resamples` times (seeded) and returns the
    (1 - level)/2 and (1 + level)/2 quantiles of the resampled means. Meant for many
    independent units (examples); for a few runs use `t_interval`.
    """
    scores = np.asarray(scores, dtype=float)
    if len(scores) < 2:
        return None
    rng = np.random.default_rng(seed)
    means = scores[rng.integers(0, len(scores), (resamples, len(scores)))].mean(axis=1)
    tail = (1 - level) / 2
    return [float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))]


def t_interval(values: np.ndarray, level: float = 0.95) -> dict[str, object]:
    """Student t interval of the mean of independent values (e.g. one score per seed).

    mean ± t_{n-1, (1+level)/2} · s / √n, s the sample standard deviation (ddof = 1)
    (Student 1908; scipy.stats.t.ppf). Returns {n, mean, low, high, level, method: "t", reason};
    with fewer than two values `low`/`high` are None and `reason` says why (`mean` is None for
    none). A non-finite value makes the interval undefined (with the reason): drop undefined values
    first, and report how many.
    """
    values = np.asarray(values, dtype=float).ravel()
    n = int(values.size)
    out: dict[str, object] = {
        "n": n,
        "mean": float(values.mean()) if n else None,
        "low": None,
        "high": None,
        "level": level,
        "method": "t",
        "reason": None,
    }
    if n < 2:
        out["reason"] = f"undefined: a t interval needs at least two values, not {n}"
        return out
    if not np.all(np.isfinite(values)):
        out["reason"] = f"undefined: {int((~np.isfinite(values)).sum())} of the {n} values are not finite"
        return out
    from scipy import stats  # imported when used: scipy.stats is slow to import

    half = float(stats.t.ppf((1 + level) / 2, n - 1)) * float(values.std(ddof=1)) / math.sqrt(n)
    out["low"], out["high"] = float(values.mean() - half), float(values.mean() + half)
    return out


def describe(scores: np.ndarray, seed: int = 0) -> dict[str, object]:
    """n, mean, std (ddof = 1), min, max, ci95 (the t interval of the mean, [low, high] or None for
    one run; `ci_method` "t"), spread and its note. `seed` is kept for callers; the t interval
    needs no randomness."""
    scores = np.asarray(scores, dtype=float)
    sigma, reason = spread(scores)
    interval = t_interval(scores)
    return {
        "n": len(scores),
        "mean": float(scores.mean()),
        "std": float(scores.std(ddof=1)) if len(scores) > 1 else 0.0,
        "min": float(scores.min()),
        "max": float(scores.max()),
        "ci95": None if interval["low"] is None else [interval["low"], interval["high"]],
        "ci_method": "t",
        "spread": sigma,
        "spread_note": reason,
    }
