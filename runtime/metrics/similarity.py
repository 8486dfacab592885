"""Representational similarity of runs: CKA (linear, RBF, debiased), Procrustes, mutual k-NN.

Each function takes representations `X (n, p1)` and `Y (n, p2)` of the same n
examples in the same order; `*_matrix` functions take a list of m such
arrays and return all m x m values, preparing each run once. Each measure registers its
`Pairwise` implementation (matrix over the runs' outputs, and the verdict's words) at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..registry import implements
from .agreement import Outputs, Pairwise, PairwiseResult


def _centre(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x - x.mean(axis=0, keepdims=True)


CONSTANT_RTOL = 1e-6  # relative to the representation's own magnitude; float32 keeps ~7 digits


def is_constant(x: np.ndarray, rtol: float = CONSTANT_RTOL) -> bool:
    """Whether a representation is constant over the examples up to a relative tolerance.

    Constant when ||X - 1 mean(X)||_F <= rtol · (||X||_F + tiny), tiny the smallest positive
    float64 (so an all-zero X is constant): what varies between examples is below rtol of the
    values themselves, i.e. rounding noise (a dead layer, a collapsed run). CKA, Procrustes and
    mutual k-NN of such a representation compare noise (or divide 0 by 0) and are undefined.
    """
    x = np.asarray(x, dtype=np.float64)
    scale = float(np.linalg.norm(x)) + np.finfo(np.float64).tiny
    return float(np.linalg.norm(x - x.mean(axis=0, keepdims=True))) <= rtol * scale


def constant_runs(representations: list[np.ndarray], rtol: float = CONSTANT_RTOL) -> list[int]:
    """The positions of the representations that are constant (`is_constant`)."""
    return [i for i, x in enumerate(representations) if is_constant(x, rtol)]


def _check_not_constant(x: np.ndarray, what: str) -> None:
    """Per-pair functions raise (with the reason); the `*_matrix` functions give NaN instead."""
    if is_constant(x):
        raise ValueError(
            f"{what}: a constant representation (its centred norm is at most {CONSTANT_RTOL:g} of its "
            "norm) has no variance to compare"
        )


def _constant_undefined(what: str, representations: list[np.ndarray]) -> list[str]:
    """The reason a matrix has NaN rows and columns for constant representations, if it has."""
    constant = constant_runs(representations)
    if not constant:
        return []
    return [
        f"{what} is undefined (NaN) for every pair with run(s) {constant}: a constant representation "
        f"(centred Frobenius norm <= {CONSTANT_RTOL:g} x its norm) has no variance to compare"
    ]


def _defined_only(
    representations: list[np.ndarray], compute: Callable[[list[np.ndarray]], np.ndarray]
) -> np.ndarray:
    """compute(...) on the non-constant representations, embedded in an m x m matrix of NaN."""
    m = len(representations)
    constant = set(constant_runs(representations))
    kept = [i for i in range(m) if i not in constant]
    out = np.full((m, m), np.nan)
    if kept:
        out[np.ix_(kept, kept)] = compute([representations[i] for i in kept])
    return out


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Kornblith et al. (2019), feature-space form: ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F), O(n p^2)."""
    _check_not_constant(x, "linear CKA")
    _check_not_constant(y, "linear CKA")
    x, y = _centre(x), _centre(y)
    cross = np.linalg.norm(y.T @ x) ** 2
    return float(cross / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)))


def _cross_norms(centred: list[np.ndarray]) -> np.ndarray:
    """||X_i^T X_j||_F^2 for all pairs, from one product: block (i, j) of Z^T Z is X_i^T X_j."""
    bounds = np.cumsum([0] + [x.shape[1] for x in centred])
    z = np.concatenate(centred, axis=1)
    gram = z.T @ z
    m = len(centred)
    squared = np.empty((m, m))
    for i in range(m):
        for j in range(i, m):
            block = gram[bounds[i] : bounds[i + 1], bounds[j] : bounds[j + 1]]
            squared[i, j] = squared[j, i] = np.sum(block * block)
    return squared


def linear_cka_matrix(representations: list[np.ndarray]) -> np.ndarray:
    """All-pairs linear CKA: centre every run once, then one matrix product over all their features.

    A constant representation (`is_constant`) has NaN in its row and column, diagonal included.
    """
    return _defined_only(representations, _linear_cka_matrix)


def _linear_cka_matrix(representations: list[np.ndarray]) -> np.ndarray:
    centred = [_centre(x) for x in representations]
    squared = _cross_norms(centred)
    norms = np.sqrt(np.diag(squared))
    return squared / np.outer(norms, norms)


def debiased_linear_cka_matrix(representations: list[np.ndarray]) -> np.ndarray:
    """All-pairs debiased linear CKA, from the same single product as the linear form (NaN for a
    constant representation's row and column)."""
    n = len(representations[0])
    if n < 4:
        raise ValueError(f"debiased CKA needs at least 4 examples, not {n}")
    return _defined_only(representations, _debiased_linear_cka_matrix)


def _debiased_linear_cka_matrix(representations: list[np.ndarray]) -> np.ndarray:
    n = len(representations[0])
    centred = [_centre(x) for x in representations]
    squared = _cross_norms(centred)
    rows = np.stack([np.einsum("ij,ij->i", x, x) for x in centred])  # (m, n)
    norms = rows.sum(axis=1)
    hsic = squared - n / (n - 2.0) * (rows @ rows.T) + np.outer(norms, norms) / ((n - 1) * (n - 2))
    diagonal = np.sqrt(np.diag(hsic))
    return hsic / np.outer(diagonal, diagonal)


def _debiased(
    xty: float, rows_x: np.ndarray, rows_y: np.ndarray, norm_x: float, norm_y: float, n: int
) -> float:
    # The unbiased HSIC estimator of Song et al. (2012), as in Kornblith's notebook.
    return xty - n / (n - 2.0) * rows_x.dot(rows_y) + norm_x * norm_y / ((n - 1) * (n - 2))


def debiased_linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Debiased linear CKA; may be negative; needs n >= 4."""
    n = len(x)
    if n < 4:
        raise ValueError(f"debiased CKA needs at least 4 examples, not {n}")
    _check_not_constant(x, "debiased CKA")
    _check_not_constant(y, "debiased CKA")
    x, y = _centre(x), _centre(y)
    rows_x, rows_y = np.einsum("ij,ij->i", x, x), np.einsum("ij,ij->i", y, y)
    norm_x, norm_y = rows_x.sum(), rows_y.sum()
    cross = _debiased(np.linalg.norm(x.T @ y) ** 2, rows_x, rows_y, norm_x, norm_y, n)
    self_x = _debiased(np.linalg.norm(x.T @ x) ** 2, rows_x, rows_x, norm_x, norm_x, n)
    self_y = _debiased(np.linalg.norm(y.T @ y) ** 2, rows_y, rows_y, norm_y, norm_y, n)
    return float(cross / np.sqrt(self_x * self_y))


def _centred_rbf_gram(x: np.ndarray, threshold: float) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    dot = x @ x.T
    norms = np.diag(dot)
    squared = np.maximum(norms[:, None] + norms[None, :] - 2 * dot, 0.0)
    median = np.median(squared)  # over the full matrix, as in Kornblith's notebook
    if median == 0:
        raise ValueError("RBF CKA: a constant representation has no distances to compare")
    gram = np.exp(-squared / (2 * threshold**2 * median))
    means = gram.mean(axis=0)
    return gram - means[None, :] - means[:, None] + means.mean()


def rbf_cka(x: np.ndarray, y: np.ndarray, threshold: float = 0.5) -> float:
    """CKA with RBF kernels of width threshold * sqrt(median squared distance)."""
    _check_not_constant(x, "RBF CKA")
    _check_not_constant(y, "RBF CKA")
    kx, ky = _centred_rbf_gram(x, threshold), _centred_rbf_gram(y, threshold)
    return float(np.sum(kx * ky) / (np.linalg.norm(kx) * np.linalg.norm(ky)))


def rbf_cka_matrix(representations: list[np.ndarray], threshold: float = 0.5) -> np.ndarray:
    """All-pairs RBF CKA (NaN for a constant representation's row and column)."""
    return _defined_only(representations, lambda kept: _rbf_cka_matrix(kept, threshold))


def _rbf_cka_matrix(representations: list[np.ndarray], threshold: float) -> np.ndarray:
    grams = np.stack([_centred_rbf_gram(x, threshold).ravel() for x in representations])
    products = grams @ grams.T
    norms = np.sqrt(np.diag(products))
    return products / np.outer(norms, norms)


def procrustes_matrix(representations: list[np.ndarray]) -> np.ndarray:
    """All-pairs Procrustes angles; each run centred and scaled to unit norm once (NaN for a
    constant representation's row and column)."""
    return _defined_only(representations, _procrustes_matrix)


def _procrustes_matrix(representations: list[np.ndarray]) -> np.ndarray:
    units = []
    for x in representations:
        x = _centre(x)
        units.append(x / np.linalg.norm(x))
    m = len(units)
    out = np.zeros((m, m))
    for i in range(m):
        for j in range(i + 1, m):
            nuclear = np.linalg.svd(units[i].T @ units[j], compute_uv=False).sum()
            out[i, j] = out[j, i] = np.arccos(np.clip(nuclear, -1.0, 1.0))
    return out


def procrustes_angle(x: np.ndarray, y: np.ndarray) -> float:
    """Williams et al. (2021): arccos(||X^T Y||_* / (||X||_F ||Y||_F)) on centred X, Y, in radians."""
    _check_not_constant(x, "Procrustes distance")
    _check_not_constant(y, "Procrustes distance")
    x, y = _centre(x), _centre(y)
    nuclear = np.linalg.svd(x.T @ y, compute_uv=False).sum()
    cosine = nuclear / (np.linalg.norm(x) * np.linalg.norm(y))
    return float(np.arccos(np.clip(cosine, -1.0, 1.0)))


def mutual_knn(x: np.ndarray, y: np.ndarray, k: int = 10) -> float:
    """Huh et al. (2024): mean over examples of |N_X(i) & N_Y(i)| / k, neighbours by cosine, self excluded."""
    n = len(x)
    if not 1 <= k < n:
        raise ValueError(f"mutual k-NN needs 1 <= k < n; k = {k}, n = {n}")
    _check_not_constant(x, "mutual k-NN")
    _check_not_constant(y, "mutual k-NN")
    return float(np.mean(_knn_overlap(_neighbours(x, k), _neighbours(y, k), k)))


def _neighbours(x: np.ndarray, k: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    unit = x / np.where(norms > 0, norms, 1.0)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    return np.argsort(-similarity, axis=1, kind="stable")[:, :k]


def _knn_overlap(a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    return np.array(
        [len(np.intersect1d(ra, rb, assume_unique=True)) / k for ra, rb in zip(a, b, strict=True)]
    )


def pairwise(representations: list[np.ndarray], function, **params) -> np.ndarray:
    """Any pairwise measure over all pairs of runs (the symmetric ones computed once per pair)."""
    m = len(representations)
    out = np.empty((m, m))
    for i in range(m):
        for j in range(i, m):
            out[i, j] = out[j, i] = function(representations[i], representations[j], **params)
    return out


def mutual_knn_matrix(representations: list[np.ndarray], k: int = 10) -> np.ndarray:
    """All-pairs mutual k-NN. A constant representation's neighbours are ties broken by index (or
    noise), so its row and column are NaN."""
    return _defined_only(representations, lambda kept: _mutual_knn_matrix(kept, k))


def _mutual_knn_matrix(representations: list[np.ndarray], k: int) -> np.ndarray:
    neighbours = [_neighbours(x, k) for x in representations]  # each run's neighbours found once
    m = len(neighbours)
    out = np.empty((m, m))
    for i in range(m):
        for j in range(i, m):
            out[i, j] = out[j, i] = np.mean(_knn_overlap(neighbours[i], neighbours[j], k))
    return out


def _layers(outputs: Outputs, params: dict[str, Any]) -> list[np.ndarray]:
    return [found[f"layer.{params['layer']}"] for found in outputs]


def _cka(outputs: Outputs, params: dict[str, Any]) -> PairwiseResult:
    layers = _layers(outputs, params)
    if params["kernel"] == "linear":
        matrix = linear_cka_matrix(layers)
    elif params["kernel"] == "rbf":
        matrix = rbf_cka_matrix(layers, params["threshold"])
    else:
        matrix = debiased_linear_cka_matrix(layers)
    return PairwiseResult(matrix, _constant_undefined("CKA", layers))


def _procrustes(outputs: Outputs, params: dict[str, Any]) -> PairwiseResult:
    layers = _layers(outputs, params)
    return PairwiseResult(procrustes_matrix(layers), _constant_undefined("the Procrustes angle", layers))


def _mutual_knn(outputs: Outputs, params: dict[str, Any]) -> PairwiseResult:
    k = min(params["k"], len(outputs[0]["truth"]) - 1)
    layers = _layers(outputs, params)
    return PairwiseResult(mutual_knn_matrix(layers, k), _constant_undefined("mutual k-NN", layers))


implements("metric", "cka")(Pairwise(_cka, "have CKA = {value:.2f} between their representations"))
implements("metric", "procrustes")(
    Pairwise(
        _procrustes,
        "are {value:.2f} rad apart (Procrustes angle)",
        low=0.0,
        high=None,
    )
)
implements("metric", "mutual_knn")(Pairwise(_mutual_knn, "share {value:.1%} of nearest neighbours"))
