"""Scores across runs: mean, standard deviation, a seeded bootstrap interval, and the spread."""

from __future__ import annotations

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


def bootstrap_interval(scores: np.ndarray, level: float = 0.95, resamples: int = 2000, seed: int = 0):
    """Percentile bootstrap interval of the mean; None for fewer than two runs."""
    scores = np.asarray(scores, dtype=float)
    if len(scores) < 2:
        return None
    rng = np.random.default_rng(seed)
    means = scores[rng.integers(0, len(scores), (resamples, len(scores)))].mean(axis=1)
    tail = (1 - level) / 2
    return [float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))]


def describe(scores: np.ndarray, seed: int = 0) -> dict[str, object]:
    scores = np.asarray(scores, dtype=float)
    sigma, reason = spread(scores)
    return {
        "n": len(scores),
        "mean": float(scores.mean()),
        "std": float(scores.std(ddof=1)) if len(scores) > 1 else 0.0,
        "min": float(scores.min()),
        "max": float(scores.max()),
        "ci95": bootstrap_interval(scores, seed=seed),
        "spread": sigma,
        "spread_note": reason,
    }
