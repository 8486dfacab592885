"""Clustering runs by a pairwise similarity matrix."""

from __future__ import annotations

import numpy as np


def hierarchical(similarity: np.ndarray, labels: list[str], method: str = "average") -> dict[str, object]:
    """Agglomerative clustering on 1 - similarity; returns the linkage and what a dendrogram needs."""
    from scipy.cluster.hierarchy import dendrogram, linkage
    from scipy.spatial.distance import squareform

    distance = 1.0 - np.asarray(similarity, dtype=float)
    if np.isnan(distance).any():
        raise ValueError("cannot cluster by a matrix with undefined entries")
    distance = np.clip((distance + distance.T) / 2, 0.0, None)
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(distance, checks=False), method=method)
    drawing = dendrogram(tree, labels=labels, no_plot=True)
    return {
        "method": method,
        "linkage": tree.tolist(),
        "leaves": drawing["ivl"],
        "icoord": drawing["icoord"],
        "dcoord": drawing["dcoord"],
    }


def kmeans(vectors: np.ndarray, k: int | str = "auto", seed: int = 0) -> dict[str, object]:
    """k-means of score vectors; with k = "auto", the k in 2..8 of best silhouette."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    vectors = np.asarray(vectors, dtype=float)
    m = len(vectors)
    if k == "auto":
        candidates = range(2, min(8, m - 1) + 1)
        if not candidates:
            raise ValueError(f"choosing k by silhouette needs at least 3 runs, not {m}")
        scored = []
        for candidate in candidates:
            assignment = KMeans(candidate, n_init=10, random_state=seed).fit_predict(vectors)
            if len(set(assignment)) > 1:
                scored.append((silhouette_score(vectors, assignment), candidate, assignment))
        best, k, assignment = max(scored, key=lambda item: (item[0], -item[1]))
        return {"k": k, "assignment": assignment.tolist(), "silhouette": float(best)}
    assignment = KMeans(int(k), n_init=10, random_state=seed).fit_predict(vectors)
    return {"k": int(k), "assignment": assignment.tolist(), "silhouette": None}
