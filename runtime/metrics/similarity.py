"""Representational similarity of runs: CKA (linear, RBF, debiased), Procrustes, mutual k-NN.

Each function takes representations `X (n, p1)` and `Y (n, p2)` of the same n
examples in the same order; `*_matrix` functions take a list of m such
arrays and return all m x m values, preparing each run once. Each measure registers its
`Pairwise` implementation (matrix over the runs' outputs, and the verdict's words) at the end.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import implements
from . import layerwise
from .agreement import Outputs, Pairwise, PairwiseResult
from .layerwise import CONSTANT_RTOL, is_constant


def _centre(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x - x.mean(axis=0, keepdims=True)


def constant_runs(representations: list[np.ndarray], rtol: float | None = None) -> list[int]:
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


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Kornblith et al. (2019), feature-space form: ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F), O(n p^2)."""
    _check_not_constant(x, "linear CKA")
    _check_not_constant(y, "linear CKA")
    x, y = _centre(x), _centre(y)
    cross = np.linalg.norm(y.T @ x) ** 2
    return float(cross / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)))


def linear_cka_matrix(representations: list[np.ndarray]) -> np.ndarray:
    """All-pairs linear CKA (`layerwise.cka_matrix`): NaN in a constant representation's row and
    column, diagonal included."""
    return layerwise.cka_matrix(representations, "linear")


def debiased_linear_cka_matrix(representations: list[np.ndarray]) -> np.ndarray:
    """All-pairs debiased linear CKA (unbiased HSIC; NaN for a constant representation)."""
    n = len(representations[0])
    if n < 4:
        raise ValueError(f"debiased CKA needs at least 4 examples, not {n}")
    return layerwise.cka_matrix(representations, "debiased")


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
    return layerwise.cka_matrix(representations, "rbf", threshold)


def procrustes_matrix(representations: list[np.ndarray]) -> np.ndarray:
    """All-pairs Procrustes angles (NaN for a constant representation's row and column)."""
    return layerwise.procrustes_matrix(representations)


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
    return float(layerwise.knn_overlap_matrix([layerwise.neighbours(x, k), layerwise.neighbours(y, k)])[0, 1])


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
    return layerwise.mutual_knn_matrix(representations, k)


def _layers(outputs: Outputs, params: dict[str, Any]) -> list[np.ndarray]:
    return [found[f"layer.{params['layer']}"] for found in outputs]


def _cka(outputs: Outputs, params: dict[str, Any]) -> PairwiseResult:
    layers = _layers(outputs, params)
    if params.get("minibatch"):  # Nguyen et al.'s estimator: unbiased HSIC over fixed minibatches
        matrix = layerwise.cka_matrix(layers, "debiased", minibatch=params["minibatch"])
    elif params["kernel"] == "linear":
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
