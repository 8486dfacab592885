"""Benchmark: all-pairs linear CKA for m runs of n examples with p features.

    python -m tests.bench.cka_bench [m n p]     (default 50 5000 128)

Three timings, in one run:
- homogc's `linear_cka_matrix`: centre each run once, one product over all features;
- the naive per-pair Gram-matrix form (n x n kernels, HSIC) — timed on a few pairs
  and extrapolated to all m(m-1)/2 pairs, since running them all takes hours;
- the single matrix product Z^T Z of all runs' features, a lower bound on any
  method that needs every cross-covariance.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from homog.runtime.metrics import linear_cka_matrix

SAMPLE_PAIRS = 3


def naive_pair(x: np.ndarray, y: np.ndarray) -> float:
    n = len(x)
    h = np.eye(n) - 1.0 / n
    k = h @ (x @ x.T) @ h
    l_ = h @ (y @ y.T) @ h
    return float(np.sum(k * l_) / (np.linalg.norm(k) * np.linalg.norm(l_)))


def main() -> None:
    m, n, p = (int(v) for v in sys.argv[1:4]) if len(sys.argv) > 3 else (50, 5000, 128)
    rng = np.random.default_rng(0)
    runs = [rng.standard_normal((n, p)) for _ in range(m)]
    pairs = m * (m - 1) // 2

    start = time.perf_counter()
    matrix = linear_cka_matrix(runs)
    ours = time.perf_counter() - start

    start = time.perf_counter()
    z = np.concatenate(runs, axis=1)
    z.T @ z
    bound = time.perf_counter() - start

    start = time.perf_counter()
    for i in range(SAMPLE_PAIRS):
        value = naive_pair(runs[i], runs[i + 1])
        assert abs(value - matrix[i, i + 1]) < 1e-6
    naive = (time.perf_counter() - start) / SAMPLE_PAIRS * pairs

    print(f"all-pairs linear CKA: m = {m} runs, n = {n}, p = {p} ({pairs} pairs)")
    print(f"{'single product Z^T Z (lower bound)':<44} {bound:10.2f} s   {bound / ours:8.3f}")
    print(f"{'homogc linear_cka_matrix':<44} {ours:10.2f} s   {1.0:8.3f}")
    print(f"{'naive per-pair Gram form (extrapolated)':<44} {naive:10.2f} s   {naive / ours:8.1f}")


if __name__ == "__main__":
    main()
