"""What every evaluation shares: the task of one metric node, run labels and groupings.

A run is one learner at one sweep point under one condition, as the compiler lists them:
`{"node", "learner", "kind", "dataset", "condition", "seed", "fold", "point"}`. Its display
label (`run`) is made here, once, and is never parsed back: rows carry the identity fields.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from homog.compiler.ir import POINT_AXES, point_label

from .. import metrics

Run = dict[str, Any]
Row = dict[str, Any]
Groups = Callable[[str, int], np.ndarray]

IDENTITY = ("node", "learner", "kind", "dataset", "condition", "seed", "fold", "point")
OPTIONAL = ("seeded", "shifted")


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


def varying(points: list[Mapping[str, Any]]) -> list[str]:
    """The axes whose value differs among these points."""
    return [a for a in POINT_AXES if len({point.get(a) for point in points}) > 1]


def varying_of(runs: list[Run]) -> list[str]:
    return varying([run["point"] for run in runs])


def run_label(run: Run, axes: list[str]) -> str:
    """`mlp seed=1 width=2`; a run whose fit ignores the seed is named without it."""
    shown = axes if run.get("seeded", True) else [axis for axis in axes if axis != "seed"]
    return f"{run['learner']} {point_label(run['point'], shown)}".strip()


def identity(run: Run, axes: list[str]) -> Row:
    """A row naming one run: its identity fields, and its label for display."""
    row = {"run": run_label(run, axes), **{key: run[key] for key in IDENTITY}}
    row.update({key: run[key] for key in OPTIONAL if key in run})
    if run.get("copies", 1) > 1:
        row["copies"] = run["copies"]  # one fit stands for this many runs
    return row


@dataclass(frozen=True)
class Population:
    """Runs evaluated on the same test examples: one dataset, one fold, one condition."""

    dataset: str
    condition: str
    fold: int


def canonical(runs: list[Run], outputs: Mapping[str, Mapping[str, np.ndarray]]) -> list[Run]:
    """Runs of one learner whose predictions are identical (probabilities and labels) are one piece
    of work whatever made them: each takes the node of the first such run, so copies of a run never
    count as replicas, even where the graph could not tell that a fit ignores an axis."""
    first: dict[tuple[str, str, str], str] = {}
    out = []
    for run in runs:
        found = outputs.get(run["node"])
        if found is None:  # a metric that reads only the results of the metric it names
            out.append(run)
            continue
        data = (
            np.ascontiguousarray(found["probabilities"]).tobytes()
            + np.ascontiguousarray(found["labels"]).tobytes()
        )
        key = (run["learner"], run["condition"], hashlib.sha256(data).hexdigest())
        node = first.setdefault(key, run["node"])
        out.append(run if node == run["node"] else {**run, "node": node})
    return out


def populations(runs: list[Run]) -> dict[Population, list[Run]]:
    """The runs that may be compared with each other, by population; each distinct piece of work
    once (runs whose fit does not depend on an axis share a node: they are one run, not replicas)."""
    grouped: dict[Population, list[Run]] = defaultdict(list)
    for run in distinct(runs):
        grouped[Population(run["dataset"], run["condition"], run["fold"])].append(run)
    return dict(grouped)


def distinct(runs: list[Run]) -> list[Run]:
    """The first run of each (node, condition): identical work counted once, with its `copies`."""
    first: dict[tuple[str, str], Run] = {}
    copies: dict[tuple[str, str], int] = defaultdict(int)
    for run in runs:
        key = (run["node"], run["condition"])
        first.setdefault(key, run)
        copies[key] += 1
    return [{**run, "copies": copies[key]} for key, run in first.items()]


def deterministic(runs: list[Run]) -> list[str]:
    """Learners whose runs do not change with the seed: several seeds, one piece of work."""
    seeds: dict[str, set[int]] = defaultdict(set)
    nodes: dict[str, set[str]] = defaultdict(set)
    for run in runs:
        seeds[run["learner"]].add(run["seed"])
        nodes[run["learner"]].add(run["node"])
    return sorted(name for name in seeds if len(seeds[name]) > 1 and len(nodes[name]) < len(seeds[name]))


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


def over_folds(means: list[tuple[dict[str, Any], float | None]]) -> list[Row]:
    """Across folds (k-fold): each fold's mean is one unit, grouped by what names it (dataset,
    condition, ...); Student's t over the folds, where there are at least two."""
    folds: dict[tuple, list[float]] = defaultdict(list)
    for names, mean in means:
        if mean is not None:
            folds[tuple(names.items())].append(mean)
    return [
        {**dict(names), **metrics.t_interval(np.array(values))}
        for names, values in sorted(folds.items())
        if len(values) > 1
    ]
