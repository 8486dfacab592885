"""The similarity engine: every pair of many representations, in bounded memory.

A representation is an `(n, p)` array of n examples (the same examples, in the same order, for
every representation). Many representations (every layer of every run) are compared at once:

- CKA (Kornblith et al. 2019) needs, for every pair, the HSIC between their Gram matrices. With the
  unbiased estimator (Song et al. 2012), in the U-centred form of Szekely & Rizzo (2014) that
  Nguyen, Raghu & Kornblith (2021) use, HSIC(K, L) = <U(K), U(L)> / (n (n - 3)), so every pair's
  value is one entry of G G^T, G stacking the U-centred Grams. `hsic_matrix` computes G G^T by
  blocks of rows of the Grams (the *sample-space* form, n^2 per representation) or from the
  cross-covariances X_i^T X_j (the *feature-space* form, p_i p_j per pair), whichever costs fewer
  operations at these shapes; neither materialises a (sum of p)^2 matrix. Biased linear CKA uses
  the centred Gram HKH, RBF CKA the centred RBF kernel, minibatch CKA the U-centred Grams of
  fixed minibatches only (Nguyen et al.'s estimator for large n).
- Mutual k-NN (Huh et al. 2024): every representation's k nearest neighbours (cosine, the example
  itself excluded) are found once (`neighbours`), then every pair's overlap is one sparse
  product of neighbour indicators.
- Permutation nulls (`permutation_null`): the examples of one run are shuffled against the other's,
  the same shuffle for every layer of that run, so that the null of an aggregate (the best layer
  pair) is the aggregate of the shuffled matrix. For k-NN the neighbours are remapped through the
  permutation instead of being found again; for CKA the stored Grams are permuted.

A representation that is numerically constant (`is_constant`) has no variance to compare: its rows
and columns are NaN and the caller says why, never 1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

MEMORY = 512 * 2**20  # bytes of working space an all-pairs computation may use beyond its inputs
CONSTANT_RTOL = 1e-6  # relative to the representation's own magnitude; float32 keeps ~7 digits
Kernel = str  # "linear" | "debiased" | "rbf"


def constant_tolerance(x: np.ndarray) -> float:
    """CONSTANT_RTOL, or the precision of the stored type where that is coarser (float16)."""
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(np.float64)
    return max(CONSTANT_RTOL, float(np.finfo(dtype).eps))


def is_constant(x: np.ndarray, rtol: float | None = None) -> bool:
    """Whether a representation is constant over the examples up to a relative tolerance:
    ||X - 1 mean(X)||_F <= rtol (||X||_F + tiny), so an all-zero X is constant."""
    x = flat(x)
    tolerance = constant_tolerance(x) if rtol is None else rtol
    wide = np.float64 if x.dtype == np.float64 else np.float32  # float32 keeps the stored precision
    values = np.asarray(x, dtype=wide)
    mean = values.mean(axis=0, dtype=np.float64)
    centred = values - mean.astype(wide)
    spread = float(np.sqrt(np.einsum("ij,ij->", centred, centred, dtype=np.float64)))
    scale = float(np.sqrt(np.einsum("ij,ij->", values, values, dtype=np.float64))) + np.finfo(np.float64).tiny
    return spread <= tolerance * scale


def flat(x: np.ndarray) -> np.ndarray:
    """(n, ...) -> (n, features): a layer's activations with examples as rows."""
    x = np.asarray(x)
    return x.reshape(len(x), -1)


# --------------------------------------------------------------------------- Gram rows


@dataclass
class _Prepared:
    """What a representation's Gram rows need, computed once: its mean and, per kernel, the row
    sums or means the centring subtracts (float64)."""

    mean: np.ndarray  # (p,)
    rows: np.ndarray  # squared norms of the centred examples, (n,)
    offsets: np.ndarray | None = None  # per example, subtracted from row and column (centring)
    grand: float = 0.0  # added back (double centring)
    scale: float = 1.0  # RBF: 2 sigma^2
    sums: np.ndarray | None = None  # debiased: K~ 1, the row sums of the Gram without its diagonal


def _centred(x: np.ndarray, mean: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float32) - mean.astype(np.float32)


def _prepare(x: np.ndarray, kernel: Kernel, threshold: float) -> _Prepared:
    x = flat(x)
    n = len(x)
    mean = x.mean(axis=0, dtype=np.float64)
    xc = _centred(x, mean)
    rows = np.einsum("ij,ij->i", xc, xc, dtype=np.float64)
    prepared = _Prepared(mean, rows)
    if kernel == "debiased":
        # U-centring (Szekely & Rizzo 2014): K~ = K with a zero diagonal; c = K~ 1.
        sums = xc.astype(np.float64) @ xc.sum(axis=0, dtype=np.float64) - rows
        prepared.sums = sums
        prepared.offsets = sums / (n - 2) - sums.sum() / (2 * (n - 1) * (n - 2))
    elif kernel == "rbf":
        squared = _squared_distances(xc, rows, slice(0, n))
        median = float(np.median(squared))  # over the full matrix, as in Kornblith's notebook
        prepared.scale = 2 * threshold**2 * median if median > 0 else np.inf
        gram = np.exp(-squared / prepared.scale)
        prepared.offsets = gram.mean(axis=0, dtype=np.float64)
        prepared.grand = float(prepared.offsets.mean())
    return prepared


def _squared_distances(xc: np.ndarray, rows: np.ndarray, block: slice) -> np.ndarray:
    dot = xc[block] @ xc.T
    return np.maximum(rows[block, None].astype(np.float32) + rows[None, :].astype(np.float32) - 2 * dot, 0)


def _gram_rows(
    xc: np.ndarray, prepared: _Prepared, kernel: Kernel, block: slice, out: np.ndarray | None = None
) -> np.ndarray:
    """Rows `block` of the representation's centred Gram matrix (float32)."""
    if kernel == "rbf":
        gram = np.exp(-_squared_distances(xc, prepared.rows, block) / np.float32(prepared.scale))
        if out is not None:
            out[...] = gram
            gram = out
    else:
        gram = np.matmul(xc[block], xc.T, out=out)
    if prepared.offsets is not None:
        offsets = prepared.offsets.astype(np.float32)
        gram -= offsets[block, None]
        gram -= offsets[None, :]
        if prepared.grand:
            gram += np.float32(prepared.grand)
    if kernel == "debiased":
        index = np.arange(block.start, block.stop)
        gram[index - block.start, index] = 0.0
    return gram


# --------------------------------------------------------------------------- all-pairs HSIC


@dataclass
class Plan:
    """How `hsic_matrix` will compute: its form, the rows per block and the bytes it needs."""

    form: str  # "sample" | "feature" | "minibatch"
    block: int
    memory: int  # bytes beyond the inputs
    operations: float


def plan(
    shapes: Sequence[tuple[int, int]],
    kernel: Kernel = "debiased",
    minibatch: int | None = None,
    memory: int = MEMORY,
    form: str = "auto",
) -> Plan:
    """The cheaper form for these shapes ((n, p) per representation) and its working memory."""
    n = shapes[0][0]
    count = len(shapes)
    widths = np.array([p for _, p in shapes], dtype=np.float64)
    cache = 4 * n * float(widths.sum())  # every centred representation in float32
    if minibatch is not None:
        block = min(minibatch, n)
        need = 4 * count * block * block + 4 * n * float(widths.max())
        return Plan("minibatch", block, int(need), float(n * block * widths.sum() + count**2 * n * block))
    sample = n * n * float(widths.sum()) + count**2 * n * n / 2
    feature = n * float(widths.sum()) ** 2 / 2 + n * float((widths**2).sum()) / 2
    if form == "feature" or (form == "auto" and kernel != "rbf" and feature < sample and cache <= memory):
        need = cache + 4 * float(widths.max()) * float(widths.sum())
        return Plan("feature", n, int(need), feature)
    per_row = 4 * count * n
    fixed = (cache if cache <= memory else 4 * n * float(widths.max())) + 4 * n * n  # RBF's median
    block = int(max(1, min(n, (memory - min(fixed, memory / 2)) // per_row)))
    return Plan("sample", block, int(fixed + per_row * block), sample)


def hsic_matrix(
    representations: Sequence[np.ndarray],
    kernel: Kernel = "debiased",
    threshold: float = 0.5,
    minibatch: int | None = None,
    memory: int = MEMORY,
    form: str = "auto",
) -> np.ndarray:
    """<C(K_i), C(K_j)> for every pair, C the kernel's centring (U-centring for "debiased"; for
    "minibatch", the sum over fixed minibatches of their U-centred Grams' products, each divided
    by b (b - 3)). Float32 products, float64 sums."""
    reps = [flat(x) for x in representations]
    n = len(reps[0])
    if any(len(x) != n for x in reps):
        raise ValueError("every representation must have the same examples")
    if kernel == "debiased" and n < 4:
        raise ValueError(f"debiased CKA needs at least 4 examples, not {n}")
    chosen = plan([x.shape for x in reps], kernel, minibatch, memory, form)
    if chosen.form == "minibatch":
        return _minibatch(reps, chosen.block)
    prepared = [_prepare(x, kernel, threshold) for x in reps]
    keep = 4 * n * sum(x.shape[1] for x in reps) <= memory
    cached = [_centred(x, p.mean) for x, p in zip(reps, prepared, strict=True)] if keep else None

    def centred(i: int) -> np.ndarray:
        return cached[i] if cached is not None else _centred(reps[i], prepared[i].mean)

    if chosen.form == "feature":
        return _feature_form(cached, prepared, kernel, n)
    total = np.zeros((len(reps), len(reps)))
    for start in range(0, n, chosen.block):
        block = slice(start, min(n, start + chosen.block))
        rows = np.empty((len(reps), block.stop - block.start, n), dtype=np.float32)
        for i in range(len(reps)):
            _gram_rows(centred(i), prepared[i], kernel, block, out=rows[i])
        stacked = rows.reshape(len(reps), -1)
        total += stacked @ stacked.T
    return total


def _feature_form(centred: list[np.ndarray], prepared: list[_Prepared], kernel: Kernel, n: int) -> np.ndarray:
    """||X_i^T X_j||_F^2 for every pair (centred X), one representation against all later ones at a
    time; the unbiased form subtracts the Gram diagonal's part and adds the U-centring's terms."""
    count = len(centred)
    total = np.empty((count, count))
    widths = np.cumsum([0] + [x.shape[1] for x in centred])
    for i in range(count):
        later = np.concatenate(centred[i:], axis=1) if i < count - 1 else centred[i]
        cross = (centred[i].T @ later).astype(np.float64)
        squares = np.add.reduceat((cross * cross).sum(axis=0), widths[i:-1] - widths[i])
        total[i, i:] = total[i:, i] = squares
    if kernel != "debiased":
        return total
    # <U(K), U(L)> = tr(K~ L~) + (1'K~1)(1'L~1) / ((n-1)(n-2)) - 2/(n-2) (K~1).(L~1), with
    # tr(K~ L~) = ||X^T Y||^2 - sum_a K_aa L_aa.
    rows = np.stack([p.rows for p in prepared])
    sums = np.stack([p.sums for p in prepared])
    totals = sums.sum(axis=1)
    off = total - rows @ rows.T
    return off + np.outer(totals, totals) / ((n - 1) * (n - 2)) - 2 / (n - 2) * (sums @ sums.T)


def _minibatch(reps: list[np.ndarray], size: int) -> np.ndarray:
    """Nguyen, Raghu & Kornblith (2021): the unbiased HSIC of each minibatch of `size` consecutive
    examples (the remainder, if under 4 examples, is left out), summed."""
    n = len(reps[0])
    total = np.zeros((len(reps), len(reps)))
    for start in range(0, n, size):
        stop = min(n, start + size)
        if stop - start < 4:
            break
        grams = []
        for x in reps:
            part = x[start:stop]
            prepared = _prepare(part, "debiased", 0.0)
            grams.append(
                _gram_rows(_centred(part, prepared.mean), prepared, "debiased", slice(0, stop - start))
            )
        stacked = np.stack(grams).reshape(len(reps), -1)
        b = stop - start
        total += (stacked @ stacked.T).astype(np.float64) / (b * (b - 3))
    return total


def cka_from_hsic(hsic: np.ndarray) -> np.ndarray:
    """HSIC(i, j) / sqrt(HSIC(i, i) HSIC(j, j)); NaN where a self-HSIC is not positive."""
    diagonal = np.diag(hsic).copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        norms = np.where(diagonal > 0, np.sqrt(np.abs(diagonal)), np.nan)
        return hsic / np.outer(norms, norms)


def cka_matrix(
    representations: Sequence[np.ndarray],
    kernel: Kernel = "debiased",
    threshold: float = 0.5,
    minibatch: int | None = None,
    memory: int = MEMORY,
    form: str = "auto",
) -> np.ndarray:
    """CKA between every pair of representations (NaN rows and columns for constant ones)."""
    return defined_only(
        representations,
        lambda kept: cka_from_hsic(hsic_matrix(kept, kernel, threshold, minibatch, memory, form)),
    )


def defined_only(
    representations: Sequence[np.ndarray], compute: Callable[[list[np.ndarray]], np.ndarray]
) -> np.ndarray:
    """compute(...) on the non-constant representations, embedded in an m x m matrix of NaN."""
    m = len(representations)
    kept = [i for i, x in enumerate(representations) if not is_constant(x)]
    out = np.full((m, m), np.nan)
    if kept:
        out[np.ix_(kept, kept)] = compute([representations[i] for i in kept])
    return out


# --------------------------------------------------------------------------- mutual k-NN


def neighbours(x: np.ndarray, k: int, memory: int = MEMORY) -> np.ndarray:
    """(n, k) indices of each example's k nearest neighbours by cosine similarity, itself excluded
    (the order within a row is arbitrary; ties at the k-th place are broken arbitrarily)."""
    x = flat(x).astype(np.float32)
    n = len(x)
    if not 1 <= k < n:
        raise ValueError(f"mutual k-NN needs 1 <= k < n; k = {k}, n = {n}")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    unit = x / np.where(norms > 0, norms, 1.0)
    out = np.empty((n, k), dtype=np.int32 if n < 2**31 else np.int64)
    step = max(1, min(n, memory // (8 * n)))
    for start in range(0, n, step):
        stop = min(n, start + step)
        similarity = unit[start:stop] @ unit.T
        similarity[np.arange(stop - start), np.arange(start, stop)] = -np.inf
        out[start:stop] = np.argpartition(similarity, n - k, axis=1)[:, n - k :]
    return out


def knn_overlap_matrix(all_neighbours: Sequence[np.ndarray]) -> np.ndarray:
    """Mean over examples of |N_i(a) & N_j(a)| / k for every pair of neighbour sets (n, k)."""
    from scipy import sparse

    n, k = all_neighbours[0].shape
    count = len(all_neighbours)
    columns = np.concatenate([(np.arange(n)[:, None] * n + nb).ravel() for nb in all_neighbours])
    rows = np.repeat(np.arange(count), n * k)
    indicator = sparse.csr_matrix(
        (np.ones(len(columns), dtype=np.float32), (rows, columns)), shape=(count, n * n)
    )
    shared = (indicator @ indicator.T).toarray().astype(np.float64)
    return shared / (n * k)


def mutual_knn_matrix(representations: Sequence[np.ndarray], k: int = 10) -> np.ndarray:
    """All-pairs mutual k-NN, each representation's neighbours found once (NaN for constant ones)."""
    return defined_only(representations, lambda kept: knn_overlap_matrix([neighbours(x, k) for x in kept]))


def remapped(found: np.ndarray, permutation: np.ndarray) -> np.ndarray:
    """The neighbours of Y[permutation] from those of Y: row a is inverse[found[permutation[a]]]."""
    inverse = np.empty_like(permutation)
    inverse[permutation] = np.arange(len(permutation))
    return inverse[found[permutation]]


# --------------------------------------------------------------------------- Procrustes


def procrustes_matrix(representations: Sequence[np.ndarray]) -> np.ndarray:
    """Procrustes angles arccos(||X^T Y||_* / (||X|| ||Y||)) of centred X, Y, for every pair."""

    def compute(kept: list[np.ndarray]) -> np.ndarray:
        units = []
        for x in kept:
            x = flat(x).astype(np.float64)
            x = x - x.mean(axis=0)
            units.append(x / np.linalg.norm(x))
        m = len(units)
        out = np.zeros((m, m))
        for i in range(m):
            for j in range(i + 1, m):
                nuclear = np.linalg.svd(units[i].T @ units[j], compute_uv=False).sum()
                out[i, j] = out[j, i] = np.arccos(np.clip(nuclear, -1.0, 1.0))
        return out

    return defined_only(representations, compute)


# --------------------------------------------------------------------------- layer by layer


def correspondence(matrix: np.ndarray, higher: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """For each layer of run A (rows), its most similar layer of run B (columns) and that value;
    -1 and NaN for a row with no defined value."""
    values = np.where(np.isfinite(matrix), matrix if higher else -matrix, -np.inf)
    best = values.argmax(axis=1)
    found = matrix[np.arange(len(matrix)), best]
    defined = np.isfinite(values).any(axis=1)
    return np.where(defined, best, -1), np.where(defined, found, np.nan)


@dataclass
class Calibrated:
    """A layer x layer similarity against its permutation null (the examples of run B shuffled)."""

    observed: np.ndarray  # (layers of A, layers of B)
    null_mean: np.ndarray
    null_sd: np.ndarray
    calibrated: np.ndarray  # (s - E0 s) / (1 - E0 s): 0 at chance, 1 at the maximum
    p: np.ndarray  # (1 + #{null >= s}) / (1 + permutations), one-sided
    best: tuple[int, int]  # the best layer pair (observed)
    best_value: float
    best_null_mean: float  # E0 of the maximum over layer pairs
    best_calibrated: float
    best_p: float  # against the null of the maximum over layer pairs
    permutations: int
    undefined: list[str] = field(default_factory=list)


def calibrate(observed: np.ndarray, null: np.ndarray, higher: bool = True) -> Calibrated:
    """Calibrated scores and p-values from null samples (permutations, A, B); for a distance
    (`higher` False) the calibrated score is (E0 d - d) / E0 d and p counts null <= d."""
    count = len(null)
    sign = 1.0 if higher else -1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean, sd = (
            null.mean(axis=0),
            null.std(axis=0, ddof=1) if count > 1 else np.full(observed.shape, np.nan),
        )
        exceed = (sign * null >= sign * observed[None] - 1e-12).sum(axis=0)
        p = (1 + exceed) / (1 + count)
        ceiling = 1.0 if higher else 0.0
        calibrated = (observed - mean) / (ceiling - mean)
        scores = np.where(np.isfinite(observed), sign * observed, -np.inf)
        best = np.unravel_index(int(np.argmax(scores)), observed.shape)
        null_best = np.array(
            [np.nanmax(sign * sample) if np.isfinite(sample).any() else np.nan for sample in null]
        )
        best_value = float(observed[best])
        if np.isfinite(best_value) and np.isfinite(null_best).any():
            best_mean = float(sign * np.nanmean(null_best))
            best_p = float((1 + (null_best >= sign * best_value - 1e-12).sum()) / (1 + count))
            best_calibrated = float((best_value - best_mean) / (ceiling - best_mean))
        else:  # no layer pair is defined: nothing to calibrate
            best_mean = best_p = best_calibrated = float("nan")
    p = np.where(np.isfinite(observed), p, np.nan)
    return Calibrated(
        observed, mean, sd, calibrated, p, (int(best[0]), int(best[1])), best_value, best_mean,
        best_calibrated, best_p, count,
    )  # fmt: skip


def permutation_null(
    layers_a: Sequence[np.ndarray],
    layers_b: Sequence[np.ndarray],
    measure: str = "cka",
    kernel: Kernel = "debiased",
    k: int = 10,
    threshold: float = 0.5,
    permutations: int = 200,
    seed: int = 0,
    memory: int = MEMORY,
) -> Calibrated:
    """Layer x layer similarity of run A and run B with its permutation null: B's examples are
    shuffled (one shuffle for all of B's layers) `permutations` times. `measure` is "cka" (its
    centred Grams kept and permuted), "mutual_knn" (neighbours found once, remapped) or
    "procrustes" (a distance: lower is more similar)."""
    rng = np.random.default_rng(seed)
    n = len(layers_a[0])
    orders = [rng.permutation(n) for _ in range(permutations)]
    la, lb = len(layers_a), len(layers_b)
    bad_a = [i for i, x in enumerate(layers_a) if is_constant(x)]
    bad_b = [j for j, x in enumerate(layers_b) if is_constant(x)]
    undefined = []
    if bad_a or bad_b:
        undefined.append(
            f"undefined (NaN) for layers {bad_a} of A and {bad_b} of B: a constant representation has no "
            "variance to compare"
        )
    good_a = [i for i in range(la) if i not in bad_a]
    good_b = [j for j in range(lb) if j not in bad_b]
    observed = np.full((la, lb), np.nan)
    null = np.full((permutations, la, lb), np.nan)
    if good_a and good_b:
        a = [layers_a[i] for i in good_a]
        b = [layers_b[j] for j in good_b]
        seen, shuffled = _null(a, b, measure, kernel, k, threshold, orders, memory)
        observed[np.ix_(good_a, good_b)] = seen
        for t in range(permutations):
            null[t][np.ix_(good_a, good_b)] = shuffled[t]
    result = calibrate(observed, null, higher=measure != "procrustes")
    result.undefined = undefined
    return result


def _null(a, b, measure, kernel, k, threshold, orders, memory) -> tuple[np.ndarray, np.ndarray]:
    la = len(a)
    if measure == "mutual_knn":
        found_a = [neighbours(x, k) for x in a]
        found_b = [neighbours(x, k) for x in b]
        n = len(found_a[0])
        shared = knn_overlap_matrix(found_a + found_b)[:la, la:]
        indicator = np.zeros((la, n * n), dtype=bool)
        for i, nb in enumerate(found_a):
            indicator[i, (np.arange(n)[:, None] * n + nb).ravel()] = True
        offsets = np.arange(n)[:, None] * n
        null = np.empty((len(orders), la, len(b)))
        for t, order in enumerate(orders):
            for j, nb in enumerate(found_b):
                columns = (offsets + remapped(nb, order)).ravel()
                null[t, :, j] = indicator[:, columns].sum(axis=1) / (n * k)
        return shared, null
    if measure == "procrustes":
        units = []
        for x in [*a, *b]:
            x = flat(x).astype(np.float64)
            x = x - x.mean(axis=0)
            units.append(x / np.linalg.norm(x))
        ua, ub = units[:la], units[la:]

        def angles(order: np.ndarray | None) -> np.ndarray:
            out = np.empty((la, len(ub)))
            for i, x in enumerate(ua):
                for j, y in enumerate(ub):
                    y = y if order is None else y[order]
                    out[i, j] = np.arccos(np.clip(np.linalg.svd(x.T @ y, compute_uv=False).sum(), -1, 1))
            return out

        return angles(None), np.stack([angles(order) for order in orders])
    reps = [flat(x) for x in [*a, *b]]
    n = len(reps[0])
    if 4 * len(reps) * n * n > memory:
        raise MemoryError(
            f"a CKA permutation null keeps {len(reps)} Gram matrices of {n} x {n} "
            f"({4 * len(reps) * n * n / 2**30:.1f} GiB); use a subsample of examples"
        )
    grams = []
    for x in reps:
        prepared = _prepare(x, kernel, threshold)
        grams.append(_gram_rows(_centred(x, prepared.mean), prepared, kernel, slice(0, n)))
    ga = np.stack(grams[:la]).reshape(la, -1)
    gb = np.stack(grams[la:])
    norms_a = np.sqrt(np.einsum("ij,ij->i", ga, ga, dtype=np.float64))
    norms_b = np.sqrt(np.einsum("ijk,ijk->i", gb, gb, dtype=np.float64))
    scale = np.outer(norms_a, norms_b)
    seen = (ga @ gb.reshape(len(gb), -1).T) / scale
    null = np.empty((len(orders), la, len(gb)))
    for t, order in enumerate(orders):
        permuted = gb[:, order][:, :, order].reshape(len(gb), -1)
        null[t] = (ga @ permuted.T) / scale
    return seen, null
