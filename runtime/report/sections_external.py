"""The report's section on external sources: per source, what was joined and dropped, the item level,
and per pairwise metric a heatmap ordered by hierarchical clustering (similar models side by side,
readable at hundreds of models), the most similar pairs and the attribute effects."""

from __future__ import annotations

from typing import Any

import numpy as np
from markupsafe import Markup

from ..results import Pairwise, Results
from . import svg


def _order(matrix: np.ndarray) -> list[int]:
    """Rows in the leaf order of an average-linkage clustering on 1 - similarity (NaN as far)."""
    n = len(matrix)
    if n < 3:
        return list(range(n))
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform

    distance = 1.0 - np.nan_to_num(matrix, nan=np.nanmin(matrix) if np.isfinite(matrix).any() else 0.0)
    distance = (distance + distance.T) / 2
    distance -= distance.min()
    np.fill_diagonal(distance, 0.0)
    return [int(i) for i in leaves_list(linkage(squareform(distance, checks=False), "average"))]


def externals(results: Results) -> list[dict[str, Any]]:
    out = []
    for name, source in sorted(results.externals.items()):
        charts = []
        for label, metric in results.metrics.items():
            if not isinstance(metric, Pairwise):
                continue
            for entry in metric.per_condition:
                if entry.dataset != name:
                    continue
                matrix = np.array([[np.nan if v is None else v for v in row] for row in entry.matrix])
                similar = -matrix if metric.metric == "jensen_shannon" else matrix
                order = _order(similar)
                names = [entry.runs[i].run for i in order]
                ordered = matrix[np.ix_(order, order)]
                shown = [[None if not np.isfinite(v) else float(v) for v in row] for row in ordered]
                title = f"{label}, {name} (ordered by clustering)"
                charts.append(
                    {
                        "title": title,
                        "svg": Markup(svg.heatmap(shown, names, title)),
                        "top": entry.top_pairs or [],
                        "effects": entry.attribute_effects or [],
                        "chance": entry.chance,
                    }
                )
        out.append({"name": name, "source": source, "charts": charts})
    return out
