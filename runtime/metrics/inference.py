"""Tests and intervals whose unit of inference is stated, so the numbers can be cited.

A study has a few runs (seeds) of each learner, each scored on the same n test examples. The
runs of one learner are not independent replicates of the test set: they share the examples,
and an example that is hard for one seed is hard for the others. Counting every (seed, example)
pair as an independent observation (e.g. McNemar on discordant counts summed over seed pairs)
is pseudo-replication (Hurlbert 1984): the p-value shrinks with the number of seeds although no
new examples were seen. Here the examples are the unit, and the seeds are averaged within each
example first:

- `paired_examples_test`: two learners' per-example correctness, seed-averaged, compared by a
  paired sign-flip permutation test over examples (with one seed each: the exact McNemar test);
- `fold_level_test`: a paired t-test over cross-validation folds, each fold's score averaged over
  seeds first;
- `error_consistency_interval`: a percentile bootstrap over examples of the mean error
  consistency over pairs of runs (within a learner or between two).
"""

from __future__ import annotations

import math

import numpy as np

EXACT_LIMIT = 20  # at most this many nonzero differences: all 2^m sign flips are enumerated


def _runs(correct: np.ndarray, what: str) -> np.ndarray:
    array = np.asarray(correct, dtype=bool)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"{what}: expected a boolean matrix (runs, examples), not shape {array.shape}")
    return array


def _sign_flip_sums(magnitudes: np.ndarray) -> np.ndarray:
    """All 2^m sums of ±v_j (exact enumeration), as int64."""
    sums = np.zeros(1, dtype=np.int64)
    for value in magnitudes:
        sums = np.concatenate([sums + value, sums - value])
    return sums


def paired_examples_test(
    correct_a: np.ndarray, correct_b: np.ndarray, resamples: int = 10000, seed: int = 0
) -> dict[str, object]:
    """Two learners compared on the same n test examples, examples as the unit of inference.

    `correct_a` is a boolean matrix (seeds_a, n), `correct_b` (seeds_b, n): per-example
    correctness of each run of learner A and of learner B, columns the same examples (a 1-D
    array is one run). Per example the seeds are averaged,

        d_i = mean_s correct_a[s, i] - mean_t correct_b[t, i],   i = 1..n,

    and the statistic is T = mean_i d_i, the difference in (seed-averaged) accuracy. Under the
    null hypothesis that A and B are exchangeable on each example, every d_i is symmetric about
    0, so the two-sided paired sign-flip permutation test (Fisher 1935; Good 2005, *Permutation,
    Parametric and Bootstrap Tests of Hypotheses*, §3) compares |T| with |sum_i ε_i d_i| / n over
    signs ε_i = ±1:

    - exact, over all 2^m sign vectors of the m nonzero d_i, when m <= 20:
      p = #{ε : |sum ε_i d_i| >= |sum d_i|} / 2^m;
    - otherwise Monte Carlo with `resamples` sign vectors from numpy's generator seeded with
      `seed`: p = (count + 1) / (resamples + 1) (Phipson & Smyth 2010), never 0.

    d is computed exactly in integers (seeds_a · seeds_b · d_i), so ties are counted exactly.
    With one run each, d_i ∈ {-1, 0, 1}, m is the number of discordant examples b + c, and the
    exact p is the exact McNemar test, min(1, 2 BinomCDF(min(b, c); b + c, 1/2)) (McNemar 1947;
    recommended for comparing two classifiers by Dietterich 1998, Neural Computation 10(7)).
    The seeds of a learner are averaged, never counted as extra observations: duplicating runs
    leaves d, and so p, unchanged.

    Returns {statistic, p, examples (n), discordant (m), seeds_a, seeds_b, accuracy_a,
    accuracy_b, p_method ("exact" or "monte carlo"), resamples (None when exact), method}.
    """
    a, b = _runs(correct_a, "correct_a"), _runs(correct_b, "correct_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"the learners were scored on different examples: {a.shape[1]} and {b.shape[1]}")
    seeds_a, seeds_b, n = a.shape[0], b.shape[0], a.shape[1]
    # seeds_a * seeds_b * d_i, an exact integer.
    scaled = seeds_b * a.sum(axis=0).astype(np.int64) - seeds_a * b.sum(axis=0).astype(np.int64)
    magnitudes = np.abs(scaled[scaled != 0])
    m = int(magnitudes.size)
    observed = abs(int(scaled.sum()))
    resamples_used: int | None = None
    if m == 0:
        p, p_method = 1.0, "exact"
    elif m <= EXACT_LIMIT:
        p, p_method = float(np.mean(np.abs(_sign_flip_sums(magnitudes)) >= observed)), "exact"
    else:
        rng = np.random.default_rng(seed)
        weights = magnitudes.astype(np.float64)  # exact: integers far below 2^53
        count, left = 0, resamples
        while left > 0:
            size = min(left, max(1, 2_000_000 // m))
            signs = rng.integers(0, 2, (size, m), dtype=np.int8).astype(np.float64) * 2 - 1
            count += int(np.count_nonzero(np.abs(signs @ weights) >= observed))
            left -= size
        p, p_method, resamples_used = (count + 1) / (resamples + 1), "monte carlo", resamples
    return {
        "statistic": float(scaled.sum() / (n * seeds_a * seeds_b)),
        "p": float(min(1.0, p)),
        "examples": n,
        "discordant": m,
        "seeds_a": seeds_a,
        "seeds_b": seeds_b,
        "accuracy_a": float(a.mean()),
        "accuracy_b": float(b.mean()),
        "p_method": p_method,
        "resamples": resamples_used,
        "method": "paired sign-flip permutation test over examples on seed-averaged correctness",
    }


def _folds(scores: np.ndarray) -> np.ndarray:
    array = np.asarray(scores, dtype=float)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"expected scores as (folds, seeds), not shape {array.shape}")
    return array.mean(axis=1)


def fold_level_test(
    scores_a: np.ndarray, scores_b: np.ndarray, test_train_ratio: float | None = None
) -> dict[str, object]:
    """Paired t-test over cross-validation folds, each fold's score averaged over seeds first.

    `scores_a` is (folds, seeds_a), `scores_b` (folds, seeds_b) (a 1-D array: one seed). With
    x_j = mean over seeds of A's score on fold j, y_j likewise, D_j = x_j - y_j (j = 1..J):

        t = mean(D) / sqrt(c · s_D^2),   c = 1/J (Student's paired t-test), df = J - 1,

    two-sided. The folds are the unit; seeds only reduce each fold's noise. k-fold folds share
    training data, so the plain test is somewhat liberal (Dietterich 1998); `test_train_ratio`
    = n_test / n_train applies the corrected resampled t of Nadeau & Bengio (2003),
    c = 1/J + n_test/n_train. Returns {statistic, p, folds, seeds_a, seeds_b, mean_difference,
    method, reason}: with fewer than two folds, or differences with no spread, p is None with the
    reason (identical scores on every fold: statistic 0, p 1).
    """
    x, y = _folds(scores_a), _folds(scores_b)
    if len(x) != len(y):
        raise ValueError(f"the learners were scored on different folds: {len(x)} and {len(y)}")
    differences = x - y
    folds = len(differences)
    corrected = test_train_ratio is not None
    out: dict[str, object] = {
        "statistic": None,
        "p": None,
        "folds": folds,
        "seeds_a": int(np.asarray(scores_a).shape[1]) if np.ndim(scores_a) == 2 else 1,
        "seeds_b": int(np.asarray(scores_b).shape[1]) if np.ndim(scores_b) == 2 else 1,
        "mean_difference": float(differences.mean()) if folds else None,
        "method": "paired t-test over folds on seed-averaged scores"
        + (" (Nadeau-Bengio corrected variance)" if corrected else ""),
        "reason": None,
    }
    if folds < 2:
        out["reason"] = f"undefined: a test over folds needs at least two folds, not {folds}"
        return out
    if not np.all(np.isfinite(differences)):
        out["reason"] = "undefined: a fold's score is not finite"
        return out
    spread_d = float(differences.std(ddof=1))
    if spread_d == 0 or np.allclose(differences, differences[0], rtol=0, atol=1e-15):
        if not np.any(differences):
            same = "identical scores on every fold: no evidence of a difference"
            out.update(statistic=0.0, p=1.0, reason=same)
        else:
            out.update(
                statistic=math.copysign(math.inf, float(differences[0])),
                reason="undefined: the fold differences are all equal, so t is infinite and has no p-value",
            )
        return out
    from scipy import stats

    factor = 1 / folds + (test_train_ratio if corrected else 0.0)
    t = float(differences.mean()) / math.sqrt(factor * spread_d**2)
    out.update(statistic=t, p=float(2 * stats.t.sf(abs(t), folds - 1)))
    return out


def _kappa(observed: np.ndarray, p_s: np.ndarray, p_t: np.ndarray) -> np.ndarray:
    expected = p_s * p_t + (1 - p_s) * (1 - p_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isclose(expected, 1.0), np.nan, (observed - expected) / (1 - expected))


def error_consistency_interval(
    correct_a: np.ndarray,
    correct_b: np.ndarray | None = None,
    resamples: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, object]:
    """Mean error consistency over pairs of runs, with a percentile bootstrap interval over examples.

    Error consistency (Geirhos et al. 2020) of runs s and t is Cohen's kappa on correctness,
    (c_obs - c_exp) / (1 - c_exp), c_obs the fraction of examples both get right or both wrong,
    c_exp = p_s p_t + (1 - p_s)(1 - p_t). With `correct_b` (seeds_b, n) the pairs are every run
    of A with every run of B (between learners); without it, the distinct pairs of A's runs
    (within a learner). The estimate is the mean over defined pairs.

    The interval resamples the n examples (columns, the same for every run) with replacement
    and recomputes the mean (Efron & Tibshirani 1993, percentile method): examples are the
    independent unit, and the runs' dependence on shared examples (seeds correlated through
    example difficulty) is kept inside each column. A t interval over the seed pairs would treat
    pairs that share the same test examples as independent and be far too narrow. Resamples in
    which no pair is defined are dropped and counted; if more than (1 - level)/2 of them are,
    the interval is None with the reason.

    Returns {mean, low, high, level, pairs, undefined_pairs, examples, resamples,
    dropped_resamples, method, reason}.
    """
    a = _runs(correct_a, "correct_a")
    runs = a if correct_b is None else np.concatenate([a, _runs(correct_b, "correct_b")])
    if runs.shape[1] != a.shape[1]:
        raise ValueError("the runs were scored on different examples")
    k, n = runs.shape
    if correct_b is None:
        pairs = [(s, t) for s in range(k) for t in range(s + 1, k)]
    else:
        pairs = [(s, t) for s in range(len(a)) for t in range(len(a), k)]
    out: dict[str, object] = {
        "mean": None,
        "low": None,
        "high": None,
        "level": level,
        "pairs": len(pairs),
        "undefined_pairs": 0,
        "examples": n,
        "resamples": resamples,
        "dropped_resamples": 0,
        "method": "percentile bootstrap over examples of the mean error consistency over pairs of runs",
        "reason": None,
    }
    if not pairs:
        out["reason"] = "undefined: no pair of runs to compare"
        return out
    left, right = np.array([s for s, _ in pairs]), np.array([t for _, t in pairs])
    # Columns: each run's correctness, then each pair's agreement on correctness.
    columns = np.concatenate([runs.T, (runs[left] == runs[right]).T], axis=1).astype(np.float64)
    full = columns.mean(axis=0)
    kappas = _kappa(full[k:], full[:k][left], full[:k][right])
    defined = np.isfinite(kappas)
    out["undefined_pairs"] = int((~defined).sum())
    if not defined.any():
        out["reason"] = "undefined: error consistency is undefined for every pair (a run is always right)"
        return out
    out["mean"] = float(kappas[defined].mean())
    rng = np.random.default_rng(seed)
    means = []
    left_over = resamples
    while left_over > 0:
        size = min(left_over, max(1, 4_000_000 // n))
        picks = rng.integers(0, n, (size, n)) + (np.arange(size) * n)[:, None]
        weights = np.bincount(picks.ravel(), minlength=size * n).reshape(size, n).astype(np.float64)
        rates = weights @ columns / n
        boot = _kappa(rates[:, k:], rates[:, :k][:, left], rates[:, :k][:, right])
        counted = np.isfinite(boot).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            means.append(np.where(counted > 0, np.nansum(boot, axis=1) / counted, np.nan))
        left_over -= size
    values = np.concatenate(means)
    finite = values[np.isfinite(values)]
    out["dropped_resamples"] = int(values.size - finite.size)
    tail = (1 - level) / 2
    if values.size - finite.size > tail * values.size:
        out["reason"] = (
            f"undefined: {values.size - finite.size} of {values.size} resamples have no defined pair"
        )
        return out
    out["low"], out["high"] = float(np.quantile(finite, tail)), float(np.quantile(finite, 1 - tail))
    return out
