"""Benchmark: every pair of a leaderboard-sized population, homogc's all-pairs engine against
straightforward NumPy matrix-product code written here, in the same run.

    python -m tests.bench.allpairs_bench [models items options]     (default 1000 12032 4)

Each variant runs in its own subprocess on the same seeded data (labels, truth, probabilities),
timed with perf_counter around the computation only; its peak memory is the tracemalloc peak of the
computation (NumPy reports its buffers to tracemalloc) and the subprocess's peak resident set
(getrusage), data included.

- baseline, straightforward: each metric from its textbook formula as products of one-hot
  matrices: agreement sum_k L_k L_k^T, kappa from the label frequencies, error consistency
  C C^T and W W^T (C correct, W wrong), agreement when both wrong sum_k (L_k W)(L_k W)^T over
  W W^T: 2K + 2 products;
- baseline, lean: the same with the algebra shared (same-and-wrong = agree - C C^T, W W^T from
  C C^T and the accuracies): K + 1 products;
- homogc: `allpairs.counts` (K products, the true class's block giving C C^T for free) and the
  four metrics, then CAPA (K more products, on the probabilities).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
import tracemalloc

import numpy as np


def data(m: int, n: int, k: int):
    rng = np.random.default_rng(0)
    truth = rng.integers(0, k, n)
    skill = rng.uniform(0.5, 2.5, m).astype(np.float32)
    probabilities = np.empty((m, n, k), dtype=np.float32)
    for start in range(0, m, 100):  # in blocks, to keep the generator's own memory small
        rows = slice(start, min(m, start + 100))
        logits = rng.standard_normal((rows.stop - rows.start, n, k)).astype(np.float32)
        logits[:, np.arange(n), truth] += skill[rows, None]
        logits = np.exp(logits - logits.max(axis=2, keepdims=True))
        probabilities[rows] = logits / logits.sum(axis=2, keepdims=True)
    labels = probabilities.argmax(axis=2)
    return labels, truth, probabilities


def straightforward(labels: np.ndarray, truth: np.ndarray, k: int) -> dict:
    n = labels.shape[1]
    onehots = [(labels == c).astype(np.float32) for c in range(k)]
    agree = sum(o @ o.T for o in onehots) / n
    frequencies = np.stack([o.mean(axis=1) for o in onehots], axis=1)
    pe = frequencies @ frequencies.T
    kappa = (agree - pe) / (1 - pe)
    correct = (labels == truth).astype(np.float32)
    wrong = 1 - correct
    accuracy = correct.mean(axis=1)
    both_wrong = wrong @ wrong.T
    observed = (correct @ correct.T + both_wrong) / n
    expected = np.outer(accuracy, accuracy) + np.outer(1 - accuracy, 1 - accuracy)
    ec = (observed - expected) / (1 - expected)
    same_wrong = sum((o * wrong) @ (o * wrong).T for o in onehots)
    with np.errstate(divide="ignore", invalid="ignore"):
        awbw = same_wrong / both_wrong
    return {"agreement": agree, "kappa": kappa, "ec": ec, "awbw": awbw}


def lean(labels: np.ndarray, truth: np.ndarray, k: int) -> dict:
    m, n = labels.shape
    agree = np.zeros((m, m), dtype=np.float32)
    frequencies = np.empty((m, k))
    for c in range(k):
        onehot = (labels == c).astype(np.float32)
        agree += onehot @ onehot.T
        frequencies[:, c] = onehot.mean(axis=1)
    correct = (labels == truth).astype(np.float32)
    both_correct = correct @ correct.T
    accuracy = correct.mean(axis=1)
    both_wrong = n - n * accuracy[:, None] - n * accuracy[None, :] + both_correct
    pe = frequencies @ frequencies.T
    kappa = (agree / n - pe) / (1 - pe)
    expected = np.outer(accuracy, accuracy) + np.outer(1 - accuracy, 1 - accuracy)
    ec = ((both_correct + both_wrong) / n - expected) / (1 - expected)
    with np.errstate(divide="ignore", invalid="ignore"):
        awbw = (agree - both_correct) / both_wrong
    return {"agreement": agree / n, "kappa": kappa, "ec": ec, "awbw": awbw}


def homogc(labels: np.ndarray, truth: np.ndarray, k: int, probabilities: np.ndarray) -> dict:
    from homog.runtime.metrics import allpairs

    counts = allpairs.counts(labels, truth, k)
    options = np.full(labels.shape[1], k)
    return {
        "agreement": allpairs.agreement(counts).matrix,
        "kappa": allpairs.cohen_kappa(counts).matrix,
        "ec": allpairs.error_consistency(counts).matrix,
        "awbw": allpairs.agreement_when_wrong(counts).matrix,
        "capa": allpairs.capa(probabilities, truth, options).matrix,
    }


def child(variant: str, m: int, n: int, k: int) -> None:
    from homog.runtime.metrics import allpairs  # noqa: F401  (imported before the clock starts)

    labels, truth, probabilities = data(m, n, k)
    tracemalloc.start()
    start = time.perf_counter()
    if variant == "homogc":
        out = homogc(labels, truth, k, probabilities)
    else:
        out = (straightforward if variant == "straightforward" else lean)(labels, truth, k)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    check = {name: float(np.nanmean(matrix)) for name, matrix in out.items()}
    print(json.dumps({"seconds": seconds, "peak": peak, "rss": rss, "check": check}))


def run(variant: str, m: int, n: int, k: int) -> dict:
    found = subprocess.run(
        [sys.executable, "-m", "tests.bench.allpairs_bench", "--child", variant, str(m), str(n), str(k)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(found.stdout.strip().splitlines()[-1])


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], *(int(v) for v in sys.argv[3:6]))
        return
    m, n, k = (int(v) for v in sys.argv[1:4]) if len(sys.argv) > 3 else (1000, 12032, 4)
    print(f"all pairs of {m} models x {n} items x {k} options ({m * (m - 1) // 2} pairs)")
    results = {variant: run(variant, m, n, k) for variant in ("straightforward", "lean", "homogc")}
    for variant, found in results.items():
        print(
            f"  {variant:16s} {found['seconds']:7.2f} s   computation peak {found['peak'] / 2**30:5.2f} GiB"
            f"   process peak {found['rss'] / 2**30:5.2f} GiB"
        )
    for name in ("agreement", "kappa", "ec", "awbw"):
        a, b = results["straightforward"]["check"][name], results["homogc"]["check"][name]
        assert abs(a - b) < 1e-4, f"{name}: homogc {b} != baseline {a}"
    mine = results["homogc"]["seconds"]
    for baseline in ("straightforward", "lean"):
        ratio = mine / results[baseline]["seconds"]
        print(f"ratio homogc (4 metrics + CAPA) / {baseline} (4 metrics): {ratio:.2f}")
    print(f"homogc computation peak: {results['homogc']['peak'] / 2**30:.2f} GiB (goal < 2 GB)")


if __name__ == "__main__":
    main()
