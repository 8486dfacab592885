"""Simulation: do homogc's intervals and tests hold their level when two learners are independent?

    python -m tests.bench.independence_bench [studies [examples]]     (default 1000 300)

Each simulated study has two learners, A and B, with 5 seeds each, scored on n test examples.
Every example has a per-learner difficulty: learner L gets example i right with probability
q_Li ~ Beta(1.6, 0.4) (mean accuracy 0.8), the same for all of L's seeds, so the seeds of one
learner are correlated (intra-class correlation 1 / (1.6 + 0.4 + 1) = 1/3), as real seeds are.
A's and B's difficulties are drawn independently from the same distribution: their errors are
independent and their expected accuracies equal, so every null below is true.

(a) Coverage of 95% intervals of the between-learner error consistency (Geirhos et al. 2020;
    mean over the 25 seed pairs), whose true value is 0:
    - `error_consistency_interval`: percentile bootstrap over examples. Examples are the
      independent unit; resampling whole columns keeps the seeds' dependence on shared examples.
    - for contrast, t intervals over seed pairs: over all 25 pairs, and over the 5 matched pairs
      (seed s of A with seed s of B, no run shared). Pairs share the same test examples, so
      their values are not independent replicates: the t interval sees only seed noise.
(b) Rejection rate at alpha = 0.05 of tests of "A and B are equally accurate":
    - `paired_examples_test` (seed-averaged correctness, sign-flip test over examples);
    - the old pooled McNemar: discordant counts summed over the 5 matched seed pairs, then
      `mcnemar_counts` (every (seed, example) pair counted as independent);
    - McNemar on one seed pair only (valid, but uses 1/5 of the runs);
    - the paired t-test across seeds on accuracy (`ttest`), whose replicates are seeds only.

(c) The same two questions through homogc's own evaluation (`homog.runtime.evaluation.evaluate`,
    as a run computes them, on the first 250 studies): the between-learner error consistency's
    interval in `error_consistency` (a bootstrap over examples of the mean over matched seed
    pairs), and McNemar's combined test in `mcnemar(a, b)`.

Prints a table.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from homog.runtime.evaluation import evaluate
from homog.runtime.metrics import (
    error_consistency_interval,
    mcnemar_counts,
    paired_examples_test,
    t_interval,
    ttest,
)

SEEDS = 5
BETA = (1.6, 0.4)
ALPHA = 0.05


def _kappa_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Error consistency of every run of A with every run of B, (seeds_a, seeds_b)."""
    pa, pb = a.mean(axis=1), b.mean(axis=1)
    observed = (a[:, None, :] == b[None, :, :]).mean(axis=2)
    expected = np.outer(pa, pb) + np.outer(1 - pa, 1 - pb)
    return (observed - expected) / (1 - expected)


def _covers(low: object, high: object) -> bool:
    return low is not None and high is not None and low <= 0.0 <= high


POINT = {"width": 1.0, "data_fraction": 1.0, "fold": 0, "lr": None, "epochs": None, "depth": None}
EVALUATED = 250


def _through_homogc(a: np.ndarray, b: np.ndarray, seed: int) -> dict[str, float]:
    """The between-learner interval and the combined test, as a run computes them."""
    truth = np.zeros(a.shape[1], dtype=int)
    runs, outputs = [], {}
    for learner, correct in (("a", a), ("b", b)):
        for s, right in enumerate(correct):
            node = f"{learner}{s}"
            labels = np.where(right, 0, 1)
            outputs[node] = {"labels": labels, "truth": truth, "probabilities": np.eye(2)[labels]}
            identity = {"learner": learner, "kind": "model", "dataset": "d", "condition": "clean"}
            runs.append({"node": node, **identity, "seed": s, "fold": 0, "point": {"seed": s, **POINT}})

    def metric(name: str, scope: str, params: dict) -> dict:
        found = {"label": name, "name": name, "scope": scope, "params": params, "learners": ["a", "b"]}
        return evaluate({**found, "uses": {}}, runs, outputs, {}, seed)

    (between,) = metric("error_consistency", "pairwise", {})["per_condition"][0]["between_learners"]
    (combined,) = metric("mcnemar", "test", {"a": "a", "b": "b", "exact": True})["combined"]
    return {
        "cover_homogc": _covers(between["low"], between["high"]),
        "width_homogc": between["high"] - between["low"],
        "reject_homogc": combined["p"] < ALPHA,
    }


def study(rng: np.random.Generator, n: int, seed: int) -> dict[str, float]:
    q_a, q_b = rng.beta(*BETA, n), rng.beta(*BETA, n)
    a = rng.random((SEEDS, n)) < q_a
    b = rng.random((SEEDS, n)) < q_b
    kappas = _kappa_pairs(a, b)
    bootstrap = error_consistency_interval(a, b, resamples=1000, seed=seed)
    all_pairs = t_interval(kappas.ravel())
    matched = t_interval(np.diag(kappas))
    pooled_b = int(sum((a[s] & ~b[s]).sum() for s in range(SEEDS)))
    pooled_c = int(sum((~a[s] & b[s]).sum() for s in range(SEEDS)))
    return {
        "kappa": float(kappas.mean()),
        "cover_bootstrap": _covers(bootstrap["low"], bootstrap["high"]),
        "width_bootstrap": bootstrap["high"] - bootstrap["low"],
        "cover_t_all": _covers(all_pairs["low"], all_pairs["high"]),
        "width_t_all": all_pairs["high"] - all_pairs["low"],
        "cover_t_matched": _covers(matched["low"], matched["high"]),
        "width_t_matched": matched["high"] - matched["low"],
        "reject_examples": paired_examples_test(a, b, seed=seed)["p"] < ALPHA,
        "reject_pooled": mcnemar_counts(pooled_b, pooled_c).exact_p < ALPHA,
        "reject_one_pair": mcnemar_counts(int((a[0] & ~b[0]).sum()), int((~a[0] & b[0]).sum())).exact_p
        < ALPHA,
        "reject_seed_t": ttest(a.mean(axis=1), b.mean(axis=1), paired=True)["p"] < ALPHA,
        **(_through_homogc(a, b, seed) if seed < EVALUATED else {}),
    }


def main() -> None:
    studies = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    rng = np.random.default_rng(20240613)
    start = time.perf_counter()
    rows = [study(rng, n, seed) for seed in range(studies)]
    elapsed = time.perf_counter() - start
    mean = {key: float(np.mean([row[key] for row in rows if key in row])) for key in rows[0]}
    evaluated = min(studies, EVALUATED)

    def se(p: float) -> str:
        return f"± {1.96 * np.sqrt(p * (1 - p) / studies):.3f}"

    print(
        f"{studies} studies: 2 independent learners x {SEEDS} seeds, n = {n} examples, "
        f"difficulty q ~ Beta{BETA} per learner and example; {elapsed:.1f} s"
    )
    print(f"mean between-learner error consistency: {mean['kappa']:+.4f} (true value 0)\n")
    print("(a) 95% interval of the between-learner error consistency covers 0")
    print(f"    {'method':<58} {'coverage':>16} {'mean width':>11}")
    for label, key in (
        ("bootstrap over examples (error_consistency_interval)", "bootstrap"),
        ("t over the 25 seed pairs (pairs as independent)", "t_all"),
        ("t over the 5 matched seed pairs (no shared run)", "t_matched"),
    ):
        cover = mean[f"cover_{key}"]
        print(f"    {label:<58} {cover:>7.3f} {se(cover):>8} {mean[f'width_{key}']:>11.4f}")
    print("\n(b) rejection rate at alpha = 0.05 (null true: should be <= 0.05, up to Monte Carlo error)")
    print(f"    {'test':<58} {'rejects':>16}")
    for label, key in (
        ("paired_examples_test (seed-averaged, examples as unit)", "reject_examples"),
        ("old pooled McNemar (5 matched seed pairs summed)", "reject_pooled"),
        ("McNemar on one seed pair only", "reject_one_pair"),
        ("paired t-test across seeds on accuracy", "reject_seed_t"),
    ):
        print(f"    {label:<58} {mean[key]:>7.3f} {se(mean[key]):>8}")
    print(f"\n(c) through homogc's evaluation, first {evaluated} studies")
    cover, reject = mean["cover_homogc"], mean["reject_homogc"]
    spread = lambda p: f"± {1.96 * np.sqrt(p * (1 - p) / evaluated):.3f}"  # noqa: E731
    print(
        f"    {'error_consistency: between-learner interval covers 0':<58} {cover:>7.3f} {spread(cover):>8}"
    )
    print(
        f"    {'mcnemar(a, b): combined test rejects at alpha = 0.05':<58} {reject:>7.3f} {spread(reject):>8}"
    )


if __name__ == "__main__":
    main()
