"""Benchmark: all-pairs representation similarity at the scale of the representation literature.

    python -m tests.bench.cka_bench                 # every part
    python -m tests.bench.cka_bench one|layers|memory

Each homogc figure is printed beside references written here and measured in the same run:

1. `one`: 78 models x 1,024 examples x 768 features, every pair at one layer.
   - mutual k-NN (k = 10): homogc (`layerwise.mutual_knn_matrix`) against (a) per-pair
     recomputation as platonic-rep does (both runs' neighbours found again for every pair with a
     top-k; timed on a sample of pairs and scaled to all 3,003, since all of them take minutes) and
     (b) plain matrix-product code (neighbours once per model, dense neighbour indicators, one
     product of them);
   - debiased linear CKA: homogc (`layerwise.cka_matrix`) against (a) per-pair unbiased HSIC from
     two freshly built Gram matrices (sampled and scaled likewise) and (b) plain matrix-product
     code (every model's U-centred Gram in float32, one product of them all).
   Goals: each <= 5 s and <= 1.5x (b).
2. `layers`: 20 models x 24 layers (1,024 examples x 768 features, stored in float16), every layer
   pair of every model pair (480 representations, 114,960 pairs): CKA and mutual k-NN. Goal <= 10 min.
3. `memory`: 50 runs x 5,000 examples x 2,048 features (float16 storage), all-pairs debiased CKA,
   in a subprocess whose peak resident memory is read from the OS. Goal < 2 GB (one (sum p)^2
   float64 matrix, as a concatenated product needs, is 78.1 GiB).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

import numpy as np

from homog.runtime.metrics import layerwise

SAMPLE_PAIRS = 6


def _runs(m: int, n: int, p: int, dtype=np.float32, seed: int = 0) -> list[np.ndarray]:
    """Models that share a latent (so their similarities are not all at chance)."""
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((n, 32), dtype=np.float32)
    out = []
    for _ in range(m):
        x = latent @ rng.standard_normal((32, p), dtype=np.float32)
        x += 4 * rng.standard_normal((n, p), dtype=np.float32)
        out.append(x.astype(dtype))
    return out


def _timed(function):
    start = time.perf_counter()
    value = function()
    return value, time.perf_counter() - start


# --------------------------------------------------------------------------- references


def knn_per_pair(x: np.ndarray, y: np.ndarray, k: int) -> float:
    """As platonic-rep's mutual_knn: both runs' neighbours found again (top-k), then the overlap."""
    import torch

    def knn(feats: torch.Tensor) -> torch.Tensor:
        feats = torch.nn.functional.normalize(feats, dim=-1)
        similarity = feats @ feats.T
        similarity.fill_diagonal_(-1e8)
        return similarity.topk(k, dim=1).indices

    a, b = knn(torch.from_numpy(x)), knn(torch.from_numpy(y))
    n = len(a)
    rows = torch.arange(n).unsqueeze(1)
    mask_a = torch.zeros(n, n)
    mask_b = torch.zeros(n, n)
    mask_a[rows, a] = 1.0
    mask_b[rows, b] = 1.0
    return float(((mask_a * mask_b).sum(dim=1) / k).mean())


def knn_matmul(runs: list[np.ndarray], k: int) -> np.ndarray:
    """Plain matrix-product code: neighbours once per run, dense indicators, one product."""
    n = len(runs[0])
    indicators = np.zeros((len(runs), n * n), dtype=np.float32)
    for i, x in enumerate(runs):
        unit = x / np.linalg.norm(x, axis=1, keepdims=True)
        similarity = unit @ unit.T
        np.fill_diagonal(similarity, -np.inf)
        found = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        indicators[i, (np.arange(n)[:, None] * n + found).ravel()] = 1.0
    return (indicators @ indicators.T) / (n * k)


def _u_centred(x: np.ndarray) -> np.ndarray:
    x = x - x.mean(axis=0)
    gram = x @ x.T
    n = len(gram)
    np.fill_diagonal(gram, 0)
    means = gram.sum(axis=0) / (n - 2)
    means -= means.sum() / (2 * (n - 1))
    gram -= means[:, None]
    gram -= means[None, :]
    np.fill_diagonal(gram, 0)
    return gram


def cka_per_pair(x: np.ndarray, y: np.ndarray) -> float:
    """Per-pair debiased CKA from two Gram matrices built for this pair."""
    k, l_ = _u_centred(x), _u_centred(y)
    return float(np.sum(k * l_) / np.sqrt(np.sum(k * k) * np.sum(l_ * l_)))


def cka_matmul(runs: list[np.ndarray]) -> np.ndarray:
    """Plain matrix-product code: every run's U-centred Gram (float32), one product of them all."""
    grams = np.stack([_u_centred(x).ravel() for x in runs])
    hsic = grams @ grams.T
    d = np.sqrt(np.diag(hsic))
    return hsic / np.outer(d, d)


# --------------------------------------------------------------------------- parts


def one_layer(m: int = 78, n: int = 1024, p: int = 768, k: int = 10) -> None:
    runs = _runs(m, n, p)
    pairs = m * (m - 1) // 2
    print(f"1. one layer: {m} models x {n} examples x {p} features ({pairs} pairs)")

    ours, t_ours = _timed(lambda: layerwise.mutual_knn_matrix(runs, k))
    plain, t_plain = _timed(lambda: knn_matmul(runs, k))
    sample = [(i, i + 1) for i in range(SAMPLE_PAIRS)]
    values, t_sample = _timed(lambda: [knn_per_pair(runs[i], runs[j], k) for i, j in sample])
    t_pair = t_sample / SAMPLE_PAIRS * pairs
    agree = max(abs(v - ours[i, j]) for v, (i, j) in zip(values, sample, strict=True))
    agree = max(agree, float(np.abs(plain - ours).max()))
    _rows(
        f"mutual k-NN (k = {k})",
        t_ours,
        [
            ("(a) per-pair recomputation, platonic-rep style (scaled)", t_pair),
            ("(b) matrix-product code", t_plain),
        ],
        agree,
    )

    ours, t_ours = _timed(lambda: layerwise.cka_matrix(runs, "debiased"))
    plain, t_plain = _timed(lambda: cka_matmul(runs))
    values, t_sample = _timed(lambda: [cka_per_pair(runs[i], runs[j]) for i, j in sample])
    t_pair = t_sample / SAMPLE_PAIRS * pairs
    agree = max(abs(v - ours[i, j]) for v, (i, j) in zip(values, sample, strict=True))
    agree = max(agree, float(np.abs(plain - ours).max()))
    form = layerwise.plan([x.shape for x in runs]).form
    _rows(
        f"debiased linear CKA ({form} form)",
        t_ours,
        [("(a) per-pair Gram matrices (scaled)", t_pair), ("(b) matrix-product code", t_plain)],
        agree,
    )


def _rows(what: str, ours: float, references: list[tuple[str, float]], agree: float) -> None:
    print(f"  {what}: homogc {ours:.2f} s   (largest difference from the references {agree:.1e})")
    for name, seconds in references:
        print(f"    {name:<58} {seconds:9.2f} s   homogc / it = {ours / seconds:6.3f}")


def every_layer(models: int = 20, layers: int = 24, n: int = 1024, p: int = 768, k: int = 10) -> None:
    count = models * layers
    representations = _runs(count, n, p, dtype=np.float16, seed=1)
    pairs = count * (count - 1) // 2
    print(f"2. every layer: {models} models x {layers} layers x {n} examples x {p} features, float16")
    cka, t_cka = _timed(lambda: layerwise.cka_matrix(representations, "debiased"))
    knn, t_knn = _timed(lambda: layerwise.mutual_knn_matrix(representations, k))
    blocks = cka.reshape(models, layers, models, layers)
    assert np.isfinite(blocks).all() and np.isfinite(knn).all()
    print(f"  {pairs} layer pairs: debiased CKA {t_cka:.1f} s, mutual k-NN {t_knn:.1f} s; ")
    print(f"  total {t_cka + t_knn:.1f} s against the 600 s goal: {(t_cka + t_knn) / 600:.3f} of it")
    # The matrix-product references hold every Gram (or indicator) at once: 1.9 GB each at 480
    # representations, so they run on a sample and are scaled by their operation counts.
    sample = [x.astype(np.float32) for x in representations[: count // 10]]
    m = len(sample)
    _, t_plain_cka = _timed(lambda: cka_matmul(sample))
    _, t_plain_knn = _timed(lambda: knn_matmul(sample, k))
    grams, products = n * n * p, n * n  # per representation, per pair
    scale = (count * grams + count**2 * products) / (m * grams + m**2 * products)
    print(
        f"  (b) matrix-product code on {m} representations, scaled x{scale:.1f} by operations: "
        f"CKA {t_plain_cka * scale:.1f} s (homogc / it = {t_cka / (t_plain_cka * scale):.3f}), "
        f"k-NN {t_plain_knn * scale:.1f} s (homogc / it = {t_knn / (t_plain_knn * scale):.3f})"
    )


def _memory_child(m: int, n: int, p: int) -> None:
    """In a subprocess: float16 runs, all-pairs debiased CKA, peak resident memory."""
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    runs = _runs(m, n, p, dtype=np.float16, seed=2)
    held = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    matrix = layerwise.cka_matrix(runs, "debiased")
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    plan = layerwise.plan([x.shape for x in runs])
    print(
        json.dumps(
            {
                "base": base * 1024,
                "held": held * 1024,
                "peak": peak * 1024,
                "seconds": seconds,
                "finite": bool(np.isfinite(matrix).all()),
                "form": plan.form,
                "planned": plan.memory,
            }
        )
    )


def memory(m: int = 50, n: int = 5000, p: int = 2048) -> None:
    print(f"3. memory: {m} runs x {n} examples x {p} features, float16, all-pairs debiased CKA")
    code = f"from tests.bench.cka_bench import _memory_child; _memory_child({m}, {n}, {p})"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    found = json.loads(out.stdout.strip().splitlines()[-1])
    gib = 2**30
    concatenated = (m * p) ** 2 * 8
    peak, held, planned = found["peak"] / gib, found["held"] / gib, found["planned"] / gib
    print(
        f"  peak resident memory {peak:.2f} GiB (the runs themselves {held:.2f} GiB; planned working "
        f"space {planned:.2f} GiB), {found['seconds']:.0f} s, {found['form']} form"
    )
    print(
        f"  against the 2 GB goal: {found['peak'] / 2e9:.2f} of it; a (sum p)^2 float64 matrix would be "
        f"{concatenated / gib:.1f} GiB ({concatenated / found['peak']:.0f}x this peak); "
        f"finite: {found['finite']}"
    )


def main() -> None:
    parts = sys.argv[1:] or ["one", "layers", "memory"]
    print("machine: shared with other work; timings are noisy\n")
    for part in parts:
        {"one": one_layer, "layers": every_layer, "memory": memory}[part]()
        print()


if __name__ == "__main__":
    main()
