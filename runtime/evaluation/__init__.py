"""homog.runtime.evaluation: what a `metric` node computes, one module per scope.

`evaluate` finds the metric's implementation in the registry (`implements("metric", name)`):
a `Score` (`metrics/task.py`) is evaluated on every run (`scores`), a `Pairwise`
(`metrics/agreement.py`, `metrics/similarity.py`) over the runs of each condition
(`pairwise`); the other scopes register their evaluation here (`spread`, `population`,
`significance`, `cluster`). A metric that names another metric (`cluster(by = ...)`,
`spread(...)`, `ttest(metric = ...)`) receives that metric's finished result in `named`,
keyed by the parameter that names it, and never recomputes it.

The result is JSON-ready (lists, no NaN: an undefined number is None) and validates as
`homog.runtime.results.MetricResult`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..metrics import Pairwise, Score
from ..registry import implementation
from ..results import METRIC_RESULT, finite
from . import cluster, population, significance, spread  # noqa: F401  (they register themselves)
from .pairwise import evaluate_pairwise
from .runs import Task, canonical
from .scores import evaluate_scores

__all__ = ["Task", "evaluate"]


def evaluate(
    metric: dict[str, Any],
    runs: list[dict[str, Any]],
    outputs: Mapping[str, Mapping[str, np.ndarray]],
    named: Mapping[str, dict[str, Any]],
    seed: int,
    groups: Callable[[str, int], np.ndarray] | None = None,
) -> dict[str, Any]:
    """One metric over its runs' outputs (by predict node id), using the results it names.

    `metric` is a `MetricIR` dump plus `uses` (parameter -> label of the metric it names);
    `groups(reference, fold)` gives a dataset field's values on the test examples of a fold.
    """
    task = Task(metric, canonical(runs, outputs), outputs, named, seed, groups)
    found = implementation("metric", metric["name"])
    if isinstance(found, Score):
        result = evaluate_scores(task, found)
    elif isinstance(found, Pairwise):
        result = evaluate_pairwise(task, found)
    else:
        result = found(task)
    result.update({"metric": metric["name"], "label": metric["label"], "scope": metric["scope"]})
    checked = METRIC_RESULT.validate_python(finite(result))
    return METRIC_RESULT.dump_python(checked, mode="json", exclude_unset=True)
