"""What every evaluation shares: the task of one metric node, run labels and groupings.

A run is one learner at one sweep point under one condition, as the compiler lists them:
`{"node", "learner", "kind", "dataset", "condition", "seed", "fold", "point"}`. Its display
label (`run`) is made here, once, and is never parsed back: rows carry the identity fields.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

Run = dict[str, Any]
Row = dict[str, Any]
Groups = Callable[[str, int], np.ndarray]

# The axes of a sweep point, in the order labels show them.
POINT_AXES = ("seed", "width", "data_fraction", "lr", "epochs", "depth", "fold")
IDENTITY = ("node", "learner", "kind", "dataset", "condition", "seed", "fold", "point")


@dataclass(frozen=True)
class Task:
    """One metric node's inputs: the metric (`MetricIR` dump plus `uses`), its runs, their outputs,
    the results of the metrics it names (by parameter), the experiment's seed, and a dataset
    field's values on a fold's test examples (`groups(reference, fold)`)."""

    metric: dict[str, Any]
    runs: list[Run]
    outputs: Mapping[str, Mapping[str, np.ndarray]]
    named: Mapping[str, dict[str, Any]]
    seed: int
    groups: Groups | None = None

    @property
    def params(self) -> dict[str, Any]:
        return self.metric["params"]

    def uses(self, param: str) -> dict[str, Any]:
        """The finished result of the metric this one names by `param`."""
        label = self.metric.get("uses", {}).get(param)
        if param not in self.named:
            raise KeyError(f"{self.metric['label']} needs the result of {label or param!r}, which is missing")
        return self.named[param]

    def output(self, run: Run) -> Mapping[str, np.ndarray]:
        return self.outputs[run["node"]]


def point_label(point: Mapping[str, Any], varying: list[str]) -> str:
    """`seed=1 width=2`: the axes that vary, as node and run names show them."""
    return " ".join(f"{'data' if axis == 'data_fraction' else axis}={point[axis]:g}" for axis in varying)


def varying(points: list[Mapping[str, Any]]) -> list[str]:
    """The axes whose value differs among these points."""
    return [a for a in POINT_AXES if len({point.get(a) for point in points}) > 1]


def varying_of(runs: list[Run]) -> list[str]:
    return varying([run["point"] for run in runs])


def run_label(run: Run, axes: list[str]) -> str:
    return f"{run['learner']} {point_label(run['point'], axes)}".strip()


def identity(run: Run, axes: list[str]) -> Row:
    """A row naming one run: its identity fields, and its label for display."""
    return {"run": run_label(run, axes), **{key: run[key] for key in IDENTITY}}


def by_condition(runs: list[Run]) -> dict[tuple[str, int], list[Run]]:
    """Runs compared with each other: same condition, and the same test examples (the same fold)."""
    grouped: dict[tuple[str, int], list[Run]] = defaultdict(list)
    for run in runs:
        grouped[(run["condition"], run["point"].get("fold", 0))].append(run)
    return dict(grouped)


def group(rows: list[Row], key: str) -> dict[Any, list[Row]]:
    grouped: dict[Any, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[row[key]].append(row)
    return dict(grouped)


def point_key(run: Run) -> tuple:
    return tuple(sorted(run["point"].items()))


class Index:
    """Rows of another metric's result found by run: by node, condition, learner and point, or
    (identical work) by node and condition."""

    def __init__(self, rows: list[Row]) -> None:
        self.full: dict[tuple, int] = {}
        self.work: dict[tuple, int] = {}
        for position, row in enumerate(rows):
            self.full.setdefault(self._full(row), position)
            self.work.setdefault((row["node"], row["condition"]), position)

    @staticmethod
    def _full(run: Run) -> tuple:
        return (run["node"], run["condition"], run["learner"], point_key(run))

    def position(self, run: Run, what: str) -> int:
        found = self.full.get(self._full(run))
        if found is None:
            found = self.work.get((run["node"], run["condition"]))
        if found is None:
            raise KeyError(
                f"{what} has no result for the run {run['learner']} {run['point']} {run['condition']}"
            )
        return found


def as_matrix(values: Any) -> np.ndarray:
    """A matrix from a result (numbers, or None where undefined) as floats with NaN."""
    return np.array([[np.nan if v is None else v for v in row] for row in values], dtype=float)
