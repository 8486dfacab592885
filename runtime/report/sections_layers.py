"""The report's layer-by-layer section: for each representation metric compared layer by layer, a
layer x layer heatmap per pair of learners, the correspondence curve, the permutation-null
calibration of the best layer pair, and the link between representation similarity and prediction
disagreement (ReSi's tests 1 and 2). Formatting only: evaluation (`evaluation/layers.py`) computed
every number shown."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from markupsafe import Markup

from ..results import Pairwise, Results
from . import svg


def rectangle(
    matrix: Sequence[Sequence[float | None]],
    rows: Sequence[str],
    columns: Sequence[str],
    title: str,
    low: float | None = None,
    high: float | None = None,
) -> str:
    """A heatmap of a rows x columns matrix (layers of learner a down, of learner b across)."""
    values = [v for row in matrix for v in row if v is not None]
    low = min(values, default=0.0) if low is None else low
    high = max(values, default=1.0) if high is None else high
    cell = max(6, min(26, 420 // max(len(rows), len(columns), 1)))
    margin_left = min(200, 7 * max((len(r) for r in rows), default=4) + 12)
    margin_top = min(160, 5 * max((len(c) for c in columns), default=4) + 14)
    width = margin_left + len(columns) * cell + 70
    height = margin_top + len(rows) * cell + 10
    parts = [svg._open("heatmap", title, width, height)]
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            x, y = margin_left + j * cell, margin_top + i * cell
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{svg.colour(value, low, high)}">'
                f"<title>{escape(rows[i])} × {escape(columns[j])}: {svg._fmt(value)}</title></rect>"
            )
    if cell >= 8:
        for i, label in enumerate(rows):
            y = margin_top + i * cell + cell / 2 + 4
            parts.append(
                f'<text x="{margin_left - 4}" y="{y:.1f}" text-anchor="end" class="tick">'
                f"{escape(label)}</text>"
            )
        for j, label in enumerate(columns):
            x = margin_left + j * cell + cell / 2 + 4
            parts.append(
                f'<text x="{x:.1f}" y="{margin_top - 4}" transform="rotate(-60 {x:.1f} {margin_top - 4})" '
                f'class="tick">{escape(label)}</text>'
            )
    parts.append(
        svg._legend(margin_left + len(columns) * cell + 12, margin_top, max(60, len(rows) * cell), low, high)
    )
    parts.append("</svg>")
    return "".join(parts)


def _depth(index: int, count: int) -> float:
    return index / (count - 1) if count > 1 else 0.0


def layer_sections(results: Results) -> list[dict[str, Any]]:
    out = []
    for label, metric in sorted(results.metrics.items()):
        if not isinstance(metric, Pairwise):
            continue
        for entry in metric.per_condition:
            layers = entry.layers
            if layers is None:
                continue
            where = f"{entry.dataset}, {entry.condition}" + (f", fold {entry.fold}" if entry.fold else "")
            higher = metric.metric != "procrustes"
            heatmaps, curve, nulls = [], {}, []
            for block in layers.blocks:
                pair = f"{block.a} × {block.b}" if block.a != block.b else f"{block.a} × itself (seeds)"
                title = f"{label}: {pair} ({where})"
                heatmaps.append(
                    {
                        "title": f"{pair}: mean over {block.pairs} pair(s) of runs",
                        "svg": Markup(
                            rectangle(
                                block.matrix,
                                block.layers_a,
                                block.layers_b,
                                title,
                                0.0 if higher else None,
                                1.0 if higher else None,
                            )
                        ),
                    }
                )
                curve[pair] = [
                    (_depth(i, len(block.layers_a)), _depth(j, len(block.layers_b)))
                    for i, j in enumerate(block.correspondence)
                    if j is not None
                ]
                if block.null is not None:
                    null = block.null
                    best = null.best
                    nulls.append(
                        {
                            "pair": pair,
                            "layers": f"{block.layers_a[best[0]]} × {block.layers_b[best[1]]}",
                            "value": null.best_value,
                            "null_mean": null.best_null_mean,
                            "calibrated": null.best_calibrated,
                            "p": null.best_p,
                            "permutations": null.permutations,
                            "undefined": null.undefined,
                        }
                    )
            link = layers.prediction_link or {}
            out.append(
                {
                    "title": f"{label}, {where}",
                    "examples": layers.examples,
                    "storage": layers.storage,
                    "heatmaps": heatmaps,
                    "curve": Markup(
                        svg.lines(
                            curve,
                            "relative depth in learner a",
                            "relative depth of b's most similar layer",
                            f"{label}: layer correspondence",
                        )
                    ),
                    "nulls": nulls,
                    "link": link,
                }
            )
    return out
