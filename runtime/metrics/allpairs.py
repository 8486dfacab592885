"""The all-pairs engine: every pairwise prediction metric over a population of m runs at once, from a
few matrix products over the examples, in blocks so that memory stays bounded (about m x block
floats at a time, plus the m x m results).

Two products give agreement, Cohen's kappa, error consistency and agreement when both are wrong:
`agree[a, b]` (examples where a and b predict the same class) and `both_correct[a, b]`. Examples are
grouped by their true class t; for each predicted class k the one-hot block L_k restricted to the
examples of class t gives G = L_k L_k^T, whose sum over k and t is `agree` and whose k = t terms sum
to `both_correct` (both predict the true class): as many products as the classes, not twice that.
CAPA adds one product per option on the predicted probabilities. Jensen-Shannon divergence is not a
product of two matrices; it is computed one run against all, over blocks of examples.

Where a value is undefined for a pair (a chance agreement of 1, no example both get wrong) it is NaN
and `undefined` says which pairs and why; it is never 0 or 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .agreement import PairwiseResult

BLOCK = 4096  # examples per block of a product


@dataclass
class Counts:
    """Sufficient statistics of a population's labels for every pair (counts over n examples)."""

    n: int
    agree: np.ndarray  # (m, m) examples where both predict the same class
    both_correct: np.ndarray  # (m, m) examples both get right
    accuracy: np.ndarray  # (m,)
    frequencies: np.ndarray  # (m, K) share of examples predicted as each class

    @property
    def both_wrong(self) -> np.ndarray:
        n, right = self.n, self.accuracy * self.n
        return n - right[:, None] - right[None, :] + self.both_correct


def _blocks(columns: np.ndarray, block: int):
    for start in range(0, len(columns), block):
        yield columns[start : start + block]


def _gram(x: np.ndarray) -> np.ndarray:
    """x x^T for a C-contiguous float32 block (BLAS's symmetric rank-k update where NumPy finds it)."""
    return x @ x.T


def counts(labels: np.ndarray, truth: np.ndarray, classes: int | None = None, block: int = BLOCK) -> Counts:
    labels = np.asarray(labels)
    truth = np.asarray(truth)
    m, n = labels.shape
    classes = int(max(labels.max(initial=0), truth.max(initial=0)) + 1 if classes is None else classes)
    agree = np.zeros((m, m))
    both_correct = np.zeros((m, m))
    for t in range(classes):
        for columns in _blocks(np.flatnonzero(truth == t), block):
            part = labels[:, columns]
            for k in range(classes):
                onehot = (part == k).astype(np.float32)
                gram = _gram(onehot)
                agree += gram
                if k == t:
                    both_correct += gram
    frequencies = np.stack([np.bincount(row, minlength=classes)[:classes] for row in labels]) / n
    accuracy = np.diag(both_correct) / n
    return Counts(n, agree, both_correct, accuracy, frequencies)


def _pairs(mask: np.ndarray) -> list[tuple[int, int]]:
    return [(int(i), int(j)) for i, j in zip(*np.nonzero(np.triu(mask)), strict=True)]


def _chance_adjusted(observed: np.ndarray, expected: np.ndarray, what: str) -> PairwiseResult:
    degenerate = np.isclose(expected, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(degenerate, np.nan, (observed - expected) / (1.0 - expected))
    undefined = []
    if degenerate.any():
        pairs = _pairs(degenerate)
        undefined.append(
            f"{what} is undefined for {len(pairs)} pair(s) whose chance agreement is 1 (both runs "
            f"constant, or always right), e.g. runs {pairs[0]}"
        )
    return PairwiseResult(value, undefined)


def agreement(c: Counts) -> PairwiseResult:
    return PairwiseResult(c.agree / c.n)


def cohen_kappa(c: Counts) -> PairwiseResult:
    """(p_o - p_e) / (1 - p_e), p_e = sum_k f_a(k) f_b(k) from each run's label frequencies."""
    return _chance_adjusted(c.agree / c.n, c.frequencies @ c.frequencies.T, "Cohen's kappa")


def error_consistency(c: Counts) -> PairwiseResult:
    """Geirhos et al. (2020): kappa on correctness, c_exp = p_a p_b + (1 - p_a)(1 - p_b)."""
    a = c.accuracy
    observed = (c.both_correct + c.both_wrong) / c.n
    expected = np.outer(a, a) + np.outer(1 - a, 1 - a)
    return _chance_adjusted(observed, expected, "error consistency")


def agreement_when_wrong(c: Counts) -> PairwiseResult:
    """Kim et al. (2025): #(same label, both wrong) / #(both wrong); both wrong with the same label is
    the same label and not the true one: agree - both_correct."""
    wrong = c.both_wrong
    none = wrong < 0.5
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(none, np.nan, (c.agree - c.both_correct) / np.where(none, 1, wrong))
    undefined = []
    if none.any():
        pairs = _pairs(none)
        undefined.append(
            f"undefined for {len(pairs)} pair(s) with no example both get wrong, e.g. runs {pairs[0]}"
        )
    return PairwiseResult(value, undefined)


def wrong_chance(options: np.ndarray) -> tuple[float | None, str | None]:
    """The chance level of agreement when both are wrong: two runs wrong on x pick one of the |O(x)| - 1
    wrong options uniformly and independently, so they match with probability 1 / (|O(x)| - 1); over
    the examples, sum_k phi_k / (k - 1), phi_k the share of examples with k options."""
    options = np.asarray(options)
    if (options < 2).any():
        return None, f"undefined: {int((options < 2).sum())} example(s) offer fewer than two options"
    return float(np.mean(1.0 / (options - 1))), None


def capa(
    probabilities: np.ndarray, truth: np.ndarray, options: np.ndarray, block: int = BLOCK
) -> PairwiseResult:
    """Goel et al. (2025), chance-adjusted probabilistic agreement kappa_p:

    c_obs = mean_x sum_o p_a(o|x) p_b(o|x);  c_exp = pbar_a pbar_b + f (1 - pbar_a)(1 - pbar_b),
    pbar the mean probability on the gold option, f = mean_x 1 / (|O(x)| - 1);
    kappa_p = (c_obs - c_exp) / (1 - c_exp). `probabilities` is (m, n, K), zero on options an
    example does not offer. As the authors' reference code computes it (the lm-sim package,
    `Goels_k(prob=True)`: `compute_cobsp`, `compute_phat`, `compute_frac` with |O(x)| the length of
    the example's option vector, `compute_cexpp`), for all pairs at once."""
    probabilities = np.asarray(probabilities, dtype=np.float32)
    m, n, k = probabilities.shape
    truth, options = np.asarray(truth), np.asarray(options)
    observed = np.zeros((m, m))
    for columns in _blocks(np.arange(n), block):
        part = probabilities[:, columns, :]
        for o in range(k):
            observed += _gram(np.ascontiguousarray(part[:, :, o]))
    observed /= n
    gold = probabilities[:, np.arange(n), truth].astype(np.float64).mean(axis=1)
    chance, reason = wrong_chance(options)
    if chance is None:
        return PairwiseResult(np.full((m, m), np.nan), [f"CAPA is {reason}"])
    expected = np.outer(gold, gold) + chance * np.outer(1 - gold, 1 - gold)
    return _chance_adjusted(observed, expected, "CAPA")


def jensen_shannon(probabilities: np.ndarray, block: int = BLOCK) -> PairwiseResult:
    """Mean over examples of the Jensen-Shannon divergence (bits, in [0, 1]) between two runs'
    predicted distributions: H((p + q) / 2) - (H(p) + H(q)) / 2. One run against all, in blocks."""
    p = np.asarray(probabilities, dtype=np.float64)
    m, n, _ = p.shape
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log2(p), 0.0).sum(axis=2)  # -H per run and example
    out = np.zeros((m, m))
    for columns in _blocks(np.arange(n), max(1, block // 4)):
        part = p[:, columns, :]
        for a in range(m):
            mix = (part[a][None] + part[a:]) / 2
            with np.errstate(divide="ignore", invalid="ignore"):
                entropy = -np.where(mix > 0, mix * np.log2(mix), 0.0).sum(axis=2)
            value = entropy + (plogp[a, columns][None] + plogp[a:, columns]) / 2
            out[a, a:] += value.sum(axis=1)
    out /= n
    out = np.triu(out) + np.triu(out, 1).T
    return PairwiseResult(np.clip(out, 0.0, 1.0))


# --------------------------------------------------------------------------- item level


def item_level(labels: np.ndarray, truth: np.ndarray, ids: np.ndarray | None = None) -> dict:
    """The examples every run fails, and error consistency with chance from each item's difficulty:
    c_exp(a, b) = mean_x [q_x^2 + (1 - q_x)^2], q_x the share of the population right on x (so two
    runs that are right on the easy items and wrong on the hard ones are not called similar for
    that alone)."""
    correct = np.asarray(labels) == np.asarray(truth)[None, :]
    m, n = correct.shape
    q = correct.mean(axis=0)
    expected = float(np.mean(q**2 + (1 - q) ** 2))
    c = correct.astype(np.float32)
    both = (_gram(c) + _gram(1 - c)) / n
    adjusted = _chance_adjusted(both, np.full((m, m), expected), "difficulty-adjusted error consistency")
    failed = np.flatnonzero(~correct.any(axis=0))
    names = ids if ids is not None else np.arange(n)
    return {
        "failed_by_all": {
            "count": len(failed),
            "of": n,
            "examples": [str(names[i]) for i in failed[:20]],
        },
        "difficulty_chance": expected,
        "adjusted": adjusted,
    }


# --------------------------------------------------------------------------- attributes


def attribute_effect(
    similarity: np.ndarray, values: list, kind: str, resamples: int = 2000, seed: int = 0
) -> dict:
    """Does similarity go with a shared attribute? `kind` "same": the mean similarity of pairs that
    share the value minus that of pairs that do not; "distance": the Pearson correlation of
    similarity with -|log a - log b| (closer sizes). Inference: a Mantel permutation test (the
    models' attribute values are permuted, pairs stay dependent as they are), two-sided p-value
    (1 + #|perm| >= |obs|) / (1 + resamples). Models without a value are left out and counted."""
    present = [i for i, v in enumerate(values) if v is not None]
    if len(present) < 3:
        return {
            "effect": None,
            "p": None,
            "models": len(present),
            "reason": "fewer than 3 models with a value",
        }
    s = np.asarray(similarity, dtype=float)[np.ix_(present, present)]
    chosen = [values[i] for i in present]
    upper = np.triu_indices(len(present), 1)
    finite = np.isfinite(s[upper])
    pairs = s[upper][finite]
    if kind == "same":
        _, codes = np.unique(np.array([str(v) for v in chosen]), return_inverse=True)
    else:
        logs = np.log(np.asarray(chosen, dtype=float))

    def statistic(order: np.ndarray) -> float | None:
        if kind == "same":
            c = codes[order]
            share = (c[:, None] == c[None, :])[upper][finite]
            if share.all() or not share.any():
                return None
            return float(pairs[share].mean() - pairs[~share].mean())
        v = logs[order]
        closeness = -np.abs(v[:, None] - v[None, :])[upper][finite]
        if closeness.std() == 0:
            return None
        return float(np.corrcoef(closeness, pairs)[0, 1])

    observed = statistic(np.arange(len(present)))
    if observed is None:
        reason = "every pair shares the value, or none does" if kind == "same" else "every model has one size"
        return {"effect": None, "p": None, "models": len(present), "reason": f"undefined: {reason}"}
    rng = np.random.default_rng(seed)
    null = [statistic(rng.permutation(len(present))) for _ in range(resamples)]
    null = np.array([v for v in null if v is not None])
    extreme = int((np.abs(null) >= abs(observed) - 1e-12).sum())
    return {
        "effect": observed,
        "p": (1 + extreme) / (1 + len(null)),
        "models": len(present),
        "pairs": int(finite.sum()),
        "method": f"Mantel permutation test over models ({len(null)} permutations)",
        "reason": None,
    }
