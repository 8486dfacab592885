"""A property of every number homogc reports: adding a copy of a run (the same outputs, under another
seed) changes no p-value, interval, H or verdict sentence. Copies are one run, not replicas."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from homog.runtime.evaluation import evaluate
from homog.runtime.report.verdict import verdict
from homog.runtime.results import Results

POINT = {"width": 1.0, "data_fraction": 1.0, "fold": 0, "lr": None, "epochs": None, "depth": None}
METRICS = [
    ("accuracy", "run", {"average": "macro"}, {}),
    ("agreement", "pairwise", {}, {}),
    ("error_consistency", "pairwise", {}, {}),
    ("systemic_failure", "population", {"groups": None}, {}),
    ("mcnemar", "test", {"a": "a", "b": "b", "exact": True}, {}),
    ("ttest", "test", {"a": "a", "b": "b", "metric": None, "paired": True}, {"metric": "accuracy"}),
]


def _outputs(rng: np.random.Generator, n: int, accuracy: float, truth: np.ndarray) -> dict[str, np.ndarray]:
    right = rng.random(n) < accuracy
    labels = np.where(right, truth, (truth + 1) % 3)
    probabilities = np.full((n, 3), 0.1)
    probabilities[np.arange(n), labels] = 0.8
    return {"labels": labels, "truth": truth, "probabilities": probabilities}


def _study(seed: int, seeds: int, n: int) -> tuple[list[dict], dict[str, dict]]:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n)
    runs, outputs = [], {}
    for learner, accuracy in (("a", 0.7), ("b", 0.8)):
        for s in range(seeds):
            node = f"{learner}{s}"
            outputs[node] = _outputs(rng, n, accuracy, truth)
            runs.append(_run(node, learner, s))
    return runs, outputs


def _run(node: str, learner: str, seed: int) -> dict[str, Any]:
    identity = {"learner": learner, "kind": "model", "dataset": "d", "condition": "clean", "seed": seed}
    return {"node": node, **identity, "fold": 0, "point": {"seed": seed, **POINT}}


def _evaluate_all(runs: list[dict], outputs: dict) -> dict[str, dict]:
    results: dict[str, dict] = {}
    for name, scope, params, uses in METRICS:
        metric = {"label": name, "name": name, "scope": scope, "params": params, "learners": ["a", "b"]}
        named = {param: results[label] for param, label in uses.items()}
        results[name] = evaluate({**metric, "uses": uses}, runs, outputs, named, seed=0)
    return results


def _numbers(results: dict[str, dict]) -> dict[str, Any]:
    """Every p-value, interval and H; never the rows that list the runs."""
    seed_count = "seeds"  # how many seeds the learner was run with: a copy adds one, by definition
    pairwise = {
        name: [
            (
                e["between_learners"],
                [{k: v for k, v in w.items() if k != seed_count} for w in e["within_learners"]],
            )
            for e in results[name]["per_condition"]
        ]
        for name in ("agreement", "error_consistency")
    }
    population = [
        (e["across_learners_summary"], [(p["homogenization"], p["ci95"]) for p in e["across_learners"]],
         [(w["homogenization"], w["ci95"]) for w in e["within_learners"]])
        for e in results["systemic_failure"]["per_condition"]
    ]  # fmt: skip
    tests = {
        "mcnemar": [(t["exact_p"], t["p_holm"]) for t in results["mcnemar"]["tests"]]
        + [(c["p"], c["p_holm"]) for c in results["mcnemar"]["combined"]],
        "ttest": [(t["p"], t["p_holm"], t["statistic"]) for t in results["ttest"]["tests"]],
    }
    return {
        "summary": results["accuracy"]["summary"],
        "pairwise": pairwise,
        "population": population,
        **tests,
    }


def _verdict(results: dict[str, dict]) -> list[str]:
    typed = Results.model_validate(
        {
            "experiment": {"name": "e", "description": "", "seed": 0, "device": "cpu", "tags": []},
            "report": {"path": "r.html", "title": "t"},
            "conditions": ["clean"],
            "learners": [],
            "fits": [],
            "metrics": results,
        }
    )
    return verdict(typed)


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    seeds=st.integers(2, 5),
    learner=st.sampled_from(["a", "b"]),
    copied=st.integers(0, 4),
    at_seed=st.integers(0, 9),
)
def test_a_copy_of_a_run_changes_no_number(seed, seeds, learner, copied, at_seed):
    runs, outputs = _study(seed, seeds, n=60)
    before = _evaluate_all(runs, outputs)
    source = f"{learner}{copied % seeds}"
    outputs[f"{learner}-copy"] = {k: v.copy() for k, v in outputs[source].items()}
    copy_seed = seeds + at_seed  # a seed no other run has: a copy, not a new replica
    runs_with_copy = [*runs, _run(f"{learner}-copy", learner, copy_seed)]
    after = _evaluate_all(runs_with_copy, outputs)
    assert _numbers(after) == _numbers(before)
    assert _verdict(after) == _verdict(before)


def test_copies_of_a_deterministic_learner_pair_once_with_each_seed_of_the_other():
    """A learner whose five seeds are one fit: between-learner values are one per seed of the other."""
    runs, outputs = _study(1, 5, n=80)
    for s in range(1, 5):
        outputs[f"a{s}"] = {k: v.copy() for k, v in outputs["a0"].items()}
    results = _evaluate_all(runs, outputs)
    (entry,) = results["agreement"]["per_condition"]
    (between,) = entry["between_learners"]
    assert between["n"] == 5  # a's one run against each of b's five
    within = {w["learner"]: w for w in entry["within_learners"]}
    assert within["a"]["runs"] == 1 and within["a"]["note"].startswith("deterministic")
    assert results["agreement"]["deterministic"] == ["a"]
