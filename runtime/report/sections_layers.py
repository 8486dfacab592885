"""The report's layer-by-layer section: for each representation metric compared layer by layer, a
layer x layer heatmap per pair of learners, the correspondence curve, the permutation-null
calibration of the best layer pair, and the link between representation similarity and prediction
disagreement (ReSi's tests 1 and 2). Formatting only: evaluation (`evaluation/layers.py`) computed
every number shown."""

from __future__ import annotations

import pandas as pd

from ..results import Pairwise, Results
from . import figures
from .figures import slug
from .sections import Items, section

INTRO = (
    "Every layer of one learner against every layer of another, on a fixed subsample of the test "
    "examples (each cell the mean over pairs of runs at the same sweep point; a learner with itself: "
    "its pairs of seeds). The correspondence curve follows, for each layer of a, the depth of b's most "
    "similar layer. Calibrated scores compare the best layer pair with the best pair under a permutation "
    "null (run b's examples shuffled): 0 is chance, 1 the maximum."
)


def _depth(index: int, count: int) -> float:
    return index / (count - 1) if count > 1 else 0.0


@section("layers", "Layer by layer", template="layers", intro=INTRO)
def layers(results: Results) -> Items:
    """One item per metric compared layer by layer and population: a layer x layer heatmap per pair
    of learners and the correspondence curve (its `figures`), the calibration of the best layer
    pair against its permutation null, and the link with prediction disagreement."""
    items: Items = []
    for label, metric in sorted(results.metrics.items()):
        if not isinstance(metric, Pairwise):
            continue
        for entry in metric.per_condition:
            found = entry.layers
            if found is None:
                continue
            where = f"{entry.dataset}, {entry.condition}" + (f", fold {entry.fold}" if entry.fold else "")
            higher = metric.metric != "procrustes"
            shown, curve, nulls = [], [], []
            values = [v for block in found.blocks for row in block.matrix for v in row if v is not None]
            domain = (0.0, 1.0) if higher else (min([0.0, *values]), max([1e-9, *values]))
            for block in found.blocks:
                pair = f"{block.a} × {block.b}" if block.a != block.b else f"{block.a} × itself (seeds)"
                rows = [
                    {"a": a, "b": b, "value": block.matrix[i][j]}
                    for i, a in enumerate(block.layers_a)
                    for j, b in enumerate(block.layers_b)
                ]
                shown.append(
                    figures.heatmap(
                        pd.DataFrame(rows),
                        name=slug(
                            "layers", label, entry.dataset, entry.condition, entry.fold, block.a, block.b
                        ),
                        title=f"{pair}: mean over {block.pairs} pair(s) of runs",
                        x="b",
                        y="a",
                        value="value",
                        domain=domain,
                        order=list(dict.fromkeys([*block.layers_a, *block.layers_b])),
                        value_title=label,
                        tooltip=["a:N", "b:N"],
                        x_title=f"layer of {block.b}",
                        y_title=f"layer of {block.a}",
                    )
                )
                curve += [
                    {
                        "depth_a": _depth(i, len(block.layers_a)),
                        "depth_b": _depth(j, len(block.layers_b)),
                        "pair": pair,
                    }
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
            if curve:
                shown.append(
                    figures.lines(
                        pd.DataFrame(curve),
                        name=slug("correspondence", label, entry.dataset, entry.condition, entry.fold),
                        title=f"{label}: layer correspondence ({where})",
                        x="depth_a",
                        y="depth_b",
                        x_title="relative depth in learner a",
                        y_title="relative depth of b's most similar layer",
                        color="pair",
                        color_title="pair of learners",
                        detail="pair",
                        integer_x=False,
                    )
                )
            items.append(
                {
                    "title": f"{label}, {where}",
                    "examples": found.examples,
                    "storage": found.storage,
                    "figures": shown,
                    "nulls": nulls,
                    "link": found.prediction_link or {},
                }
            )
    return items
