"""A `metric` node: one metric of the spec over the runs' cached predictions.

Runs are (learner, sweep point, condition). Scores of one run are computed per
run and summarised per learner and condition; comparisons across runs are made
among the runs of one condition; tests pair the runs of two learners that share
a sweep point, and report Holm-corrected p-values beside the raw ones.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from homog.compiler.lower import POINT_AXES, point_label

from . import metrics

Run = dict[str, Any]


def run_label(run: Run, varying: list[str]) -> str:
    return f"{run['learner']} {point_label(run['point'], varying)}".strip()


def _varying(runs: list[Run]) -> list[str]:
    return [a for a in POINT_AXES if len({run["point"].get(a) for run in runs}) > 1]


def _by_condition(runs: list[Run]) -> dict[tuple[str, int], list[Run]]:
    """Runs compared with each other: same condition, and the same test examples (the same fold)."""
    grouped: dict[tuple[str, int], list[Run]] = defaultdict(list)
    for run in runs:
        grouped[(run["condition"], run["point"].get("fold", 0))].append(run)
    return dict(grouped)


def evaluate_metric(
    metric: dict[str, Any], runs: list[Run], arrays: dict[str, dict], seed: int, groups=None
) -> dict[str, Any]:
    """`groups(reference, fold)` gives a dataset field's values on the test examples of a fold."""
    scope = metric["scope"]
    handler = {
        "run": _per_run,
        "across": _across,
        "pairwise": _pairwise,
        "population": _population,
        "test": _test,
        "cluster": _cluster,
    }[scope]
    result = (
        handler(metric, runs, arrays, seed, groups)
        if scope == "population"
        else handler(metric, runs, arrays, seed)
    )
    result.update({"metric": metric["name"], "label": metric["label"], "scope": scope})
    return result


def _score(name: str, params: dict, run: Run, arrays) -> Any:
    found = arrays[run["node"]]
    return metrics.score(name, params, found["truth"], found["probabilities"])


def _per_run(metric, runs, arrays, seed):
    varying = _varying(runs)
    per_run = [
        {
            "run": run_label(run, varying),
            "learner": run["learner"],
            "point": run["point"],
            "condition": run["condition"],
            "value": _score(metric["name"], metric["params"], run, arrays),
        }
        for run in runs
    ]
    result: dict[str, Any] = {"per_run": per_run}
    if metric["name"] in metrics.task.SCALAR:
        result["summary"] = _summaries(per_run, seed)
        result["by_axis"] = _by_axis(per_run, seed)
    return result


def _summaries(per_run: list[dict], seed: int) -> list[dict]:
    """Mean, spread and interval per learner and condition, over the runs' seeds and other axes."""
    groups: dict[tuple[str, str], list[float]] = defaultdict(list)
    for row in per_run:
        groups[(row["learner"], row["condition"])].append(row["value"])
    return [
        {"learner": learner, "condition": condition, **metrics.describe(np.array(values), seed=seed)}
        for (learner, condition), values in sorted(groups.items())
    ]


def _by_axis(per_run: list[dict], seed: int) -> list[dict]:
    """The same, at each value of each swept axis other than the seed: a score against scale."""
    axes = [a for a in _varying([{"point": row["point"]} for row in per_run]) if a != "seed"]
    out = []
    for axis in axes:
        groups: dict[tuple[str, str, float], list[float]] = defaultdict(list)
        for row in per_run:
            groups[(row["learner"], row["condition"], row["point"][axis])].append(row["value"])
        for (learner, condition, value), values in sorted(groups.items()):
            out.append(
                {
                    "axis": axis,
                    "value": value,
                    "learner": learner,
                    "condition": condition,
                    **metrics.describe(np.array(values), seed=seed),
                }
            )
    return out


def _across(metric, runs, arrays, seed):
    name = metric["params"].get("metric") or "accuracy"
    per_run = _per_run(
        {"name": name, "params": {"average": "macro"}, "scope": "run", "label": name}, runs, arrays, seed
    )["per_run"]
    overall = []
    for condition, rows in sorted(_group(per_run, "condition").items()):
        overall.append(
            {"condition": condition, **metrics.describe(np.array([r["value"] for r in rows]), seed=seed)}
        )
    return {"of": name, "per_learner": _summaries(per_run, seed), "all_runs": overall}


def _group(rows: list[dict], key: str) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        grouped[row[key]].append(row)
    return dict(grouped)


def _matrix(name: str, params: dict, runs: list[Run], arrays) -> metrics.PairwiseResult:
    found = [arrays[run["node"]] for run in runs]
    labels = np.stack([f["labels"] for f in found])
    truth = found[0]["truth"]
    if name == "agreement":
        return metrics.agreement(labels)
    if name == "cohen_kappa":
        return metrics.cohen_kappa(labels, found[0]["probabilities"].shape[1])
    if name == "error_consistency":
        return metrics.error_consistency(labels, truth)
    if name == "agreement_when_wrong":
        return metrics.agreement_when_wrong(labels, truth)
    layers = [f[f"layer.{params['layer']}"] for f in found]
    if name == "cka":
        if params["kernel"] == "linear":
            return metrics.PairwiseResult(metrics.linear_cka_matrix(layers))
        if params["kernel"] == "rbf":
            return metrics.PairwiseResult(metrics.rbf_cka_matrix(layers, params["threshold"]))
        return metrics.PairwiseResult(metrics.debiased_linear_cka_matrix(layers))
    if name == "procrustes":
        return metrics.PairwiseResult(metrics.procrustes_matrix(layers))
    if name == "mutual_knn":
        return metrics.PairwiseResult(metrics.mutual_knn_matrix(layers, min(params["k"], len(truth) - 1)))
    raise KeyError(name)


def _pairwise(metric, runs, arrays, seed):
    varying = _varying(runs)
    per_condition = []
    for (condition, fold), group in _by_condition(runs).items():
        result = _matrix(metric["name"], metric["params"], group, arrays)
        per_condition.append(
            {
                "condition": condition,
                "fold": fold,
                "runs": [run_label(run, varying) for run in group],
                "learners": [run["learner"] for run in group],
                "matrix": result.matrix,
                "undefined": result.undefined,
                "between_learners": _block_means(result.matrix, [run["learner"] for run in group]),
            }
        )
    return {"per_condition": per_condition}


def _block_means(matrix: np.ndarray, learners: list[str]) -> list[dict]:
    """Mean over pairs of distinct runs, for each pair of learners (a learner with itself: its seeds)."""
    names = sorted(set(learners))
    index = np.array(learners)
    out = []
    for i, a in enumerate(names):
        for b in names[i:]:
            rows, cols = index == a, index == b
            block = matrix[np.ix_(rows, cols)]
            if a == b:
                block = block[~np.eye(len(block), dtype=bool)]
            values = block[np.isfinite(block)] if block.size else block
            out.append(
                {
                    "a": a,
                    "b": b,
                    "mean": float(values.mean()) if values.size else None,
                    "pairs": int(values.size),
                }
            )
    return out


def _population(metric, runs, arrays, seed, groups):
    per_condition = []
    reference = metric["params"].get("groups")
    for (condition, fold), group in _by_condition(runs).items():
        failures = np.stack([arrays[r["node"]]["labels"] != arrays[r["node"]]["truth"] for r in group])
        result = metrics.homogenization(failures)
        entry = {"condition": condition, "fold": fold, "runs": len(group), **result.__dict__}
        if reference:
            entry["groups"] = metrics.group_homogenization(failures, groups(reference, fold))
        per_condition.append(entry)
    return {"per_condition": per_condition}


def _paired(runs: list[Run], a: str, b: str) -> list[tuple[Run, Run]]:
    """Runs of learners a and b that share a sweep point and a condition."""

    def key(run):
        return (run["condition"], tuple(sorted(run["point"].items())))

    of_b = {key(run): run for run in runs if run["learner"] == b}
    return [(run, of_b[key(run)]) for run in runs if run["learner"] == a and key(run) in of_b]


def _test(metric, runs, arrays, seed):
    p = metric["params"]
    a, b = p["a"], p["b"]
    pairs = _paired(runs, a, b)
    tests = []
    if metric["name"] == "mcnemar":
        varying = _varying(runs)
        combined: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for run_a, run_b in pairs:
            fa, fb = arrays[run_a["node"]], arrays[run_b["node"]]
            result = metrics.mcnemar(fa["labels"] == fa["truth"], fb["labels"] == fb["truth"])
            tests.append(
                {
                    "condition": run_a["condition"],
                    "point": run_label(run_a, varying).split(" ", 1)[-1],
                    **result.__dict__,
                }
            )
            combined[run_a["condition"]][0] += result.b
            combined[run_a["condition"]][1] += result.c
        for condition, (b_count, c_count) in combined.items():
            tests.append(
                {
                    "condition": condition,
                    "point": "combined over seeds",
                    **metrics.mcnemar_counts(b_count, c_count).__dict__,
                }
            )
        raw = [t["exact_p"] for t in tests]
    else:
        name = p.get("metric") or "accuracy"
        for condition, group in _group(
            [{"condition": ra["condition"], "pair": (ra, rb)} for ra, rb in pairs], "condition"
        ).items():
            scores_a = [_score(name, {"average": "macro"}, row["pair"][0], arrays) for row in group]
            scores_b = [_score(name, {"average": "macro"}, row["pair"][1], arrays) for row in group]
            if metric["name"] == "ttest":
                outcome = metrics.ttest(scores_a, scores_b, paired=p.get("paired", True))
            else:
                outcome = metrics.wilcoxon(scores_a, scores_b)
            tests.append(
                {"condition": condition, "of": name, "a_scores": scores_a, "b_scores": scores_b, **outcome}
            )
        raw = [t["p"] for t in tests]
    for test, adjusted in zip(tests, metrics.holm(raw) if raw else [], strict=True):
        test["p_holm"] = adjusted
    return {"a": a, "b": b, "tests": tests}


def _cluster(metric, runs, arrays, seed):
    p = metric["params"]
    by = p.get("by") or "error_consistency"
    clean = [run for run in runs if run["condition"] == "clean"] or runs
    varying = _varying(clean)
    params = {"layer": "penultimate", "kernel": "linear", "threshold": 0.5, "k": 10}
    clean = [run for run in clean if run["point"].get("fold", 0) == 0]  # runs on the same test examples
    found = _matrix(by, params, clean, arrays)
    matrix = found.matrix
    labels = [run_label(run, varying) for run in clean]
    notes = list(found.undefined)
    if p.get("level") == "learners":  # one item per learner: the mean similarity of their runs
        blocks = _block_means(matrix, [run["learner"] for run in clean])
        labels = sorted({run["learner"] for run in clean})
        means = {(b["a"], b["b"]): b["mean"] for b in blocks}
        matrix = np.array([[means.get((a, b), means.get((b, a))) or 0.0 for b in labels] for a in labels])
        np.fill_diagonal(matrix, 1.0)
    if np.isnan(matrix).any():
        notes.append("undefined entries are taken as similarity 0 for clustering")
        matrix = np.nan_to_num(matrix, nan=0.0)
    if p["method"] == "kmeans":
        result = metrics.kmeans(matrix, p["k"], seed=seed)
    else:
        result = metrics.hierarchical(matrix, labels, p["method"])
    return {"by": by, "items": labels, "matrix": matrix, "notes": notes, **result}


METRICS = frozenset(
    set(metrics.task.SCALAR)
    | {
        "confusion",
        "spread",
        "agreement",
        "cohen_kappa",
        "error_consistency",
        "agreement_when_wrong",
        "cka",
        "procrustes",
        "mutual_knn",
        "systemic_failure",
        "mcnemar",
        "ttest",
        "wilcoxon",
        "cluster",
    }
)
