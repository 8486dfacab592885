"""Layer by layer: a representation metric over every layer pair of every pair of runs.

For a pairwise representation metric with `layers = ...`, each population gets:

- for each pair of learners (a learner with itself: its seed-to-seed pairs), the layer x layer
  matrix averaged over its pairs of runs (learner a's run and learner b's run at the same sweep
  point; for a learner with itself, its distinct runs that differ only in the seed), and the
  layer correspondence (for each layer of a, the most similar layer of b);
- with `permutations = P`, the permutation null of the first such pair of runs: every layer pair's
  calibrated score and p-value, and those of the best layer pair against the null of the maximum;
- the link between representation similarity and prediction similarity on these runs (ReSi,
  Klabunde et al. 2025, tests 1 and 2): Spearman's rank correlation, across pairs of runs, between
  the metric at its `layer` and the pair's disagreement (1 - agreement) and absolute accuracy
  difference, with a Mantel permutation p-value (runs relabelled, so that pairs sharing a run are
  not taken as independent).

All representations of a population (every run, every layer) go through the engine at once
(`metrics.layerwise`): one computation, in bounded memory.
"""

from __future__ import annotations

import fnmatch
import warnings
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..metric_memory import machine_memory
from ..metrics import layerwise
from .runs import Run, point_key

Found = Mapping[str, np.ndarray]


def chosen_layers(found: Found, select: str | list[str]) -> list[str]:
    """The captured layers a metric's selectors choose, in the captured (forward) order."""
    names = [str(name) for name in found["layers.names"]]
    selectors = [select] if isinstance(select, str) else list(select)
    if "all" in selectors:
        return names
    out = []
    for name in names:
        if any(name == s or fnmatch.fnmatchcase(name, s) for s in selectors):
            out.append(name)
    return out


def _similarity(reps: list[np.ndarray], params: dict[str, Any], measure: str) -> np.ndarray:
    if measure == "mutual_knn":
        k = min(params["k"], len(reps[0]) - 1)
        return layerwise.mutual_knn_matrix(reps, k)
    if measure == "procrustes":
        return layerwise.procrustes_matrix(reps)
    kernel = params.get("kernel", "linear")
    return layerwise.cka_matrix(reps, kernel, params.get("threshold", 0.5), params.get("minibatch"))


def layer_similarity(
    params: dict[str, Any],
    measure: str,
    runs: list[Run],
    found: Sequence[Found],
    everyone: list[Run],
    headline: np.ndarray,
    seed: int,
) -> dict[str, Any]:
    size = params.get("examples")
    names = [chosen_layers(f, params["layers"]) for f in found]
    reps, start = [], []
    for f, chosen in zip(found, names, strict=True):
        start.append(len(reps))
        for name in chosen:
            values = f[f"layers.{name}"]
            reps.append(values[:size] if size else values)
    examples = len(reps[0]) if reps else 0
    grid = _similarity(reps, params, measure) if reps else np.zeros((0, 0))
    higher = measure != "procrustes"

    def block(r: int, c: int) -> np.ndarray:
        return grid[start[r] : start[r] + len(names[r]), start[c] : start[c] + len(names[c])]

    blocks = []
    for a, b, cells in _learner_pairs(runs, everyone):
        same = [(r, c) for r, c in cells if names[r] == names[cells[0][0]] and names[c] == names[cells[0][1]]]
        if not same:
            continue
        first = same[0]
        with warnings.catch_warnings():  # a block of undefined cells (a constant layer) stays NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(np.stack([block(r, c) for r, c in same]), axis=0)
        with np.errstate(invalid="ignore"):
            best, values = layerwise.correspondence(mean, higher)
        entry: dict[str, Any] = {
            "a": a,
            "b": b,
            "layers_a": names[first[0]],
            "layers_b": names[first[1]],
            "pairs": len(same),
            "matrix": mean.tolist(),
            "correspondence": [int(i) if i >= 0 else None for i in best],
            "correspondence_values": values.tolist(),
        }
        if params.get("permutations"):
            entry["null"] = _null(params, measure, found, names, first, runs, size, seed)
        blocks.append(entry)
    return {
        "examples": examples,
        "storage": params.get("storage", "float32"),
        "blocks": blocks,
        "prediction_link": prediction_link(headline, found, higher, seed),
    }


def _null(params, measure, found, names, cell, runs, size, seed) -> dict[str, Any]:
    r, c = cell
    take = [
        [(f[f"layers.{name}"][:size] if size else f[f"layers.{name}"]) for name in names[i]]
        for i, f in ((r, found[r]), (c, found[c]))
    ]
    result = layerwise.permutation_null(
        take[0],
        take[1],
        measure,
        params.get("kernel", "linear"),
        min(params.get("k", 10), len(take[0][0]) - 1),
        params.get("threshold", 0.5),
        params["permutations"],
        seed,
        memory=machine_memory() // 2,  # `--plan` counted the null's Grams (metric_memory.py)
    )
    return {
        "runs": [runs[r]["node"], runs[c]["node"]],
        "permutations": result.permutations,
        "null_mean": result.null_mean.tolist(),
        "calibrated": result.calibrated.tolist(),
        "p": result.p.tolist(),
        "best": list(result.best),
        "best_value": result.best_value,
        "best_null_mean": result.best_null_mean,
        "best_calibrated": result.best_calibrated,
        "best_p": result.best_p,
        "undefined": result.undefined,
    }


def _learner_pairs(runs: list[Run], everyone: list[Run]) -> list[tuple[str, str, list[tuple[int, int]]]]:
    """(learner a, learner b, cells): the runs of a and b at the same sweep points; for a learner with
    itself, its distinct runs that differ only in the seed."""
    row_of = {run["node"]: i for i, run in enumerate(runs)}
    at: dict[str, dict[tuple, int]] = defaultdict(dict)
    configurations: dict[str, dict[tuple, list[int]]] = defaultdict(lambda: defaultdict(list))
    for run in everyone:
        row = row_of[run["node"]]
        at[run["learner"]][point_key(run)] = row
        rows = configurations[run["learner"]][
            tuple(sorted((k, v) for k, v in run["point"].items() if k != "seed"))
        ]
        if row not in rows:
            rows.append(row)
    learners = sorted(at)
    out = []
    for i, a in enumerate(learners):
        own = [
            (r, c) for rows in configurations[a].values() for k, r in enumerate(rows) for c in rows[k + 1 :]
        ]
        if own:
            out.append((a, a, own))
        for b in learners[i + 1 :]:
            shared = sorted(set(at[a]) & set(at[b]))
            cells = list(dict.fromkeys((at[a][p], at[b][p]) for p in shared))
            if cells:
                out.append((a, b, cells))
    return out


def prediction_link(
    headline: np.ndarray, found: Sequence[Found], higher: bool, seed: int
) -> dict[str, Any] | None:
    """ReSi's tests 1 and 2 on these runs: Spearman's rho, across pairs of distinct runs, between the
    representation metric and (1) the absolute accuracy difference, (2) the disagreement of their
    labels; Mantel p-values (999 relabellings of the runs)."""
    from scipy.stats import rankdata

    m = len(found)
    upper = np.triu_indices(m, 1)
    values = headline[upper]
    if m < 3:
        return None
    labels = np.stack([f["labels"] for f in found])
    truth = found[0]["truth"]
    accuracy = (labels == truth[None]).mean(axis=1)
    disagreement = (labels[:, None, :] != labels[None, :, :]).mean(axis=2)
    gap = np.abs(accuracy[:, None] - accuracy[None, :])
    rng = np.random.default_rng(seed)
    orders = [rng.permutation(m) for _ in range(999)]
    out: dict[str, Any] = {
        "pairs": int(np.isfinite(values).sum()),
        "expected_sign": "negative" if higher else "positive",
    }
    defined = np.isfinite(values)

    def rho(matrix: np.ndarray) -> float:
        x, y = rankdata(values[defined]), rankdata(matrix[upper][defined])
        return float(np.corrcoef(x, y)[0, 1])

    for name, other in (("accuracy_difference", gap), ("disagreement", disagreement)):
        if defined.sum() < 3 or np.ptp(values[defined]) == 0 or np.ptp(other[upper][defined]) == 0:
            out[name] = {"rho": None, "p": None}
            continue
        seen = rho(other)
        null = np.array([rho(other[np.ix_(order, order)]) for order in orders])
        p = (1 + np.sum(np.abs(null) >= abs(seen) - 1e-12)) / (1 + len(orders))
        out[name] = {"rho": seen, "p": float(p)}
    out["method"] = (
        "Spearman's rho across pairs of runs; Mantel permutation test (999 relabellings of the runs)"
    )
    return out
