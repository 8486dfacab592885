"""The report's section on external sources: per source, what was joined and dropped, the item level,
and per pairwise metric a heatmap ordered by hierarchical clustering (similar models side by side,
readable at hundreds of models), the most similar pairs and the attribute effects."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from ..results import Pairwise, Results
from . import figures
from .figures import slug
from .sections import EXTERNAL_DRAWN, Items, _domain, _implementation, cluster_order, section


def _png(matrix: np.ndarray, low: float, high: float, scale: int) -> bytes:
    """The matrix as a PNG: white (low) to dark blue (high), grey where undefined; written with zlib."""
    import struct
    import zlib

    t = np.clip((matrix - low) / (high - low if high > low else 1.0), 0, 1)
    start, stop = np.array([255, 255, 255]), np.array([8, 48, 107])
    rgb = (start + (stop - start) * np.nan_to_num(t)[..., None]).astype(np.uint8)
    rgb[~np.isfinite(matrix)] = (200, 200, 200)
    rgb = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)
    raw = b"".join(b"\x00" + row.tobytes() for row in rgb)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", rgb.shape[1], rgb.shape[0], 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _image(matrix: np.ndarray, title: str) -> Markup:
    import base64

    off = matrix[~np.eye(len(matrix), dtype=bool)]  # the colour range of the pairs, not of a run with itself
    finite = off[np.isfinite(off)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    scale = max(1, 600 // len(matrix))
    data = base64.b64encode(_png(matrix, low, high, scale)).decode()
    return Markup(
        f'<img class="chart heatmap" alt="{title}" src="data:image/png;base64,{data}">'
        f"<br><small>white {low:.3g} to dark blue {high:.3g}; grey: undefined</small>"
    )


@section("externals", "External models", "External", template="externals")
def externals(results: Results) -> Items:
    """One item per external source and pairwise metric: a heatmap in clustered order (a figure up
    to EXTERNAL_DRAWN models, an image beyond), the most similar pairs and the attribute effects;
    the first item of a source also says what the join kept and dropped."""
    items: Items = []
    for name, source in sorted(results.externals.items()):
        first = True
        for label, metric in sorted(results.metrics.items()):
            if not isinstance(metric, Pairwise):
                continue
            found = _implementation(metric.metric)
            low, high = getattr(found, "low", None), getattr(found, "high", 1.0)
            for entry in metric.per_condition:
                if entry.dataset != name:
                    continue
                matrix = np.array([[np.nan if v is None else v for v in row] for row in entry.matrix])
                order = cluster_order(entry.matrix, similarity=metric.metric != "jensen_shannon")
                names = [entry.runs[i].run for i in order]
                title = f"{label}, {name} (ordered by clustering)"
                item: dict[str, Any] = {
                    "title": title,
                    "source": source if first else None,
                    "name": name,
                    "order": names if len(names) > EXTERNAL_DRAWN else [],
                    "top": entry.top_pairs or [],
                    "effects": entry.attribute_effects or [],
                    "chance": entry.chance,
                }
                if len(names) > EXTERNAL_DRAWN:
                    item["image"] = _image(matrix[np.ix_(order, order)], title)
                else:
                    rows = [
                        {"a": names[i], "b": names[j], "value": _finite(matrix[order[i], order[j]])}
                        for i in range(len(names))
                        for j in range(len(names))
                    ]
                    item["figure"] = figures.heatmap(
                        pd.DataFrame(rows),
                        name=slug("external", name, label),
                        title=title,
                        x="b",
                        y="a",
                        value="value",
                        domain=_domain(metric, low, high),
                        order=names,
                        value_title=label,
                        tooltip=["a:N", "b:N"],
                    )
                items.append(item)
                first = False
    return items


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
