"""`evaluate` on small synthetic arrays, one test per scope, and the identities through `Results`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from homog.runtime import metrics
from homog.runtime.evaluation import evaluate
from homog.runtime.registry import implementation
from homog.runtime.results import METRIC_RESULT, Fit, Results

CLASSES, N = 3, 40


def _point(seed: int, width: float = 1.0) -> dict[str, Any]:
    return {
        "seed": seed,
        "width": width,
        "data_fraction": 1.0,
        "fold": 0,
        "lr": None,
        "epochs": None,
        "depth": None,
    }


def _runs(learners=("mlp", "linear"), seeds=3, conditions=("clean", "noisy")) -> list[dict[str, Any]]:
    return [
        {
            "node": f"{learner}-{seed}-{condition}",
            "learner": learner,
            "kind": "model",
            "dataset": "digits",
            "condition": condition,
            "seed": seed,
            "fold": 0,
            "point": _point(seed),
        }
        for learner in learners
        for seed in range(seeds)
        for condition in conditions
    ]


def _outputs(runs: list[dict[str, Any]], layers: bool = True) -> dict[str, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, CLASSES, N)
    out = {}
    for run in runs:
        logits = rng.normal(size=(N, CLASSES)) + 2.0 * np.eye(CLASSES)[truth] * (run["learner"] == "mlp")
        probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        found = {"probabilities": probabilities, "labels": probabilities.argmax(axis=1), "truth": truth}
        if layers:
            found["layer.logits"] = logits
        out[run["node"]] = found
    return out


def _metric(name: str, scope: str, params: dict | None = None, label: str | None = None, uses=None):
    return {
        "label": label or name,
        "name": name,
        "scope": scope,
        "params": params or {},
        "learners": ["linear", "mlp"],
        "uses": uses or {},
    }


@pytest.fixture(scope="module")
def runs():
    return _runs()


@pytest.fixture(scope="module")
def outputs(runs):
    return _outputs(runs)


def test_run_scores_carry_identities_and_summaries(runs, outputs):
    result = evaluate(_metric("accuracy", "run"), runs, outputs, {}, 0, None)
    assert len(result["per_run"]) == len(runs)
    row = result["per_run"][0]
    assert {k: row[k] for k in ("node", "learner", "kind", "dataset", "condition", "seed", "fold")} == {
        k: runs[0][k] for k in ("node", "learner", "kind", "dataset", "condition", "seed", "fold")
    }
    assert row["run"] == "mlp seed=0" and row["point"] == runs[0]["point"]
    found = outputs[runs[0]["node"]]
    assert row["value"] == pytest.approx(float((found["labels"] == found["truth"]).mean()))
    summary = {(s["learner"], s["condition"]): s for s in result["summary"]}
    assert summary[("mlp", "clean")]["n"] == 3 and result["by_axis"] == []
    METRIC_RESULT.validate_python(result)
    confusion = evaluate(_metric("confusion", "run"), runs, outputs, {}, 0, None)
    assert "summary" not in confusion and np.array(confusion["per_run"][0]["value"]).sum() == N


def test_spread_uses_the_named_scores_and_never_recomputes(runs, outputs):
    accuracy = evaluate(_metric("accuracy", "run"), runs, outputs, {}, 0, None)
    doctored = {
        **accuracy,
        "per_run": [{**row, "value": 0.5 + 0.1 * row["seed"]} for row in accuracy["per_run"]],
    }
    metric = _metric("spread", "across", {"metric": "accuracy"}, "spread(accuracy)", {"metric": "accuracy"})
    result = evaluate(metric, runs, {}, {"metric": doctored}, 0, None)  # no outputs: nothing to recompute
    assert result["of"] == "accuracy"
    per_learner = {(s["learner"], s["condition"]): s for s in result["per_learner"]}
    assert per_learner[("mlp", "clean")]["spread"] == pytest.approx((0.7 - 0.5) / 0.5)
    assert [row["n"] for row in result["all_runs"]] == [6, 6]


def test_pairwise_matrix_blocks_and_within_learners(runs, outputs):
    result = evaluate(_metric("agreement", "pairwise"), runs, outputs, {}, 4, None)
    assert [(e["condition"], e["fold"]) for e in result["per_condition"]] == [("clean", 0), ("noisy", 0)]
    entry = result["per_condition"][0]
    clean = [run for run in runs if run["condition"] == "clean"]
    labels = np.stack([outputs[run["node"]]["labels"] for run in clean])
    expected = metrics.agreement(labels).matrix
    assert np.allclose(entry["matrix"], expected)
    assert [row["node"] for row in entry["runs"]] == [run["node"] for run in clean]
    within = {w["learner"]: w for w in entry["within_learners"]}
    mlp = expected[:3, :3][np.triu_indices(3, 1)]  # each pair of distinct runs once
    assert within["mlp"]["runs"] == 3 and within["mlp"]["pairs"] == 3
    assert within["mlp"]["mean"] == pytest.approx(mlp.mean())
    assert within["mlp"]["independent_pairs"] == 1  # 3 runs share one test set: a bootstrap over examples
    assert within["mlp"]["method"].startswith("percentile bootstrap over 40 test examples")
    assert within["mlp"]["ci95"][0] <= within["mlp"]["mean"] <= within["mlp"]["ci95"][1]
    (between,) = entry["between_learners"]  # learners only against other learners
    assert (between["a"], between["b"]) == ("linear", "mlp") and between["n"] == 3  # one value per seed
    assert between["mean"] == pytest.approx(np.mean([expected[3 + k, k] for k in range(3)]))
    assert between["low"] <= between["mean"] <= between["high"]
    assert between["method"].startswith("percentile bootstrap over 40 test examples")
    assert "{value" in implementation("metric", "agreement").phrase


def test_undefined_pairs_are_none_not_nan(outputs, runs):
    constant = {node: {**found, "labels": np.zeros(N, dtype=int)} for node, found in outputs.items()}
    result = evaluate(_metric("cohen_kappa", "pairwise"), runs, constant, {}, 0, None)
    entry = result["per_condition"][0]
    assert entry["matrix"][0][1] is None and entry["undefined"]
    assert all(w["mean"] is None and w["ci95"] is None for w in entry["within_learners"])


def test_systemic_failure_with_groups(runs, outputs):
    groups = lambda reference, fold: np.arange(N) % 2  # noqa: E731
    metric = _metric("systemic_failure", "population", {"groups": "digits.parity"})
    result = evaluate(metric, runs, outputs, {}, 0, groups)
    entry = result["per_condition"][0]
    assert len(entry["across_learners"]) == 3  # one population per seed: mlp's run and linear's
    for point in entry["across_learners"]:
        assert point["runs"] == 2 and len(point["failure_counts"]) == 3
        assert set(point["groups"]["per_group"]) <= {"0", "1"}
    assert [w["runs"] for w in entry["within_learners"]] == [3, 3]


def test_mcnemar_pairs_runs_by_point_and_names_the_point(runs, outputs):
    result = evaluate(_metric("mcnemar", "test", {"a": "mlp", "b": "linear"}), runs, outputs, {}, 0, None)
    tests, combined = result["tests"], result["combined"]
    assert len(tests) == 3 * 2  # per seed and condition
    assert tests[0]["point"]["seed"] == 0 and tests[0]["shown"] == "seed=0"
    assert [c["condition"] for c in combined] == ["clean", "noisy"]  # one combined test per condition
    assert all(c["seeds_a"] == 3 and c["examples"] == N for c in combined)
    assert all(t["p_holm"] >= t["exact_p"] for t in tests)


def test_ttest_and_wilcoxon_use_the_named_scores(runs, outputs):
    accuracy = evaluate(_metric("accuracy", "run"), runs, outputs, {}, 0, None)
    doctored = {
        **accuracy,
        "per_run": [
            {**r, "value": 0.9 if r["learner"] == "mlp" else 0.1 * (1 + r["seed"])}
            for r in accuracy["per_run"]
        ],
    }
    for name in ("ttest", "wilcoxon"):
        metric = _metric(
            name,
            "test",
            {"a": "mlp", "b": "linear", "metric": "accuracy", "paired": True},
            None,
            {"metric": "accuracy"},
        )
        result = evaluate(metric, runs, {}, {"metric": doctored}, 0, None)
        clean = next(t for t in result["tests"] if t["condition"] == "clean")
        assert clean["of"] == "accuracy"
        assert clean["a_scores"] == [0.9, 0.9, 0.9] and clean["b_scores"] == pytest.approx([0.1, 0.2, 0.3])


def test_cluster_uses_the_named_matrix_and_never_recomputes(runs):
    outputs = _outputs(runs, layers=True)
    cka = _metric(
        "cka", "pairwise", {"layer": "logits", "kernel": "linear", "threshold": 0.5}, "cka(layer=logits)"
    )
    named = evaluate(cka, runs, outputs, {}, 0, None)
    bare = {
        node: {k: v for k, v in found.items() if not k.startswith("layer.")}
        for node, found in outputs.items()
    }
    metric = _metric(
        "cluster",
        "cluster",
        {"by": "cka", "method": "average", "k": "auto"},
        "cluster(by=cka)",
        {"by": "cka(layer=logits)"},
    )
    result = evaluate(metric, runs, bare, {"by": named}, 0, None)  # no layers: it cannot recompute
    assert result["by"] == "cka(layer=logits)"
    assert np.allclose(result["matrix"], named["per_condition"][0]["matrix"])
    assert result["items"] == [
        "mlp seed=0",
        "mlp seed=1",
        "mlp seed=2",
        "linear seed=0",
        "linear seed=1",
        "linear seed=2",
    ]
    assert sorted(result["leaves"]) == sorted(result["items"])
    doctored = {
        **named,
        "per_condition": [{**e, "matrix": np.eye(6).tolist()} for e in named["per_condition"]],
    }
    assert np.allclose(evaluate(metric, runs, bare, {"by": doctored}, 0, None)["matrix"], np.eye(6))
    learners = evaluate(
        {**metric, "params": {**metric["params"], "level": "learners"}}, runs, bare, {"by": named}, 0, None
    )
    assert learners["items"] == ["linear", "mlp"] and np.allclose(np.diag(learners["matrix"]), 1.0)


def test_cluster_by_a_subset_of_the_named_runs(runs, outputs):
    named = evaluate(_metric("error_consistency", "pairwise"), runs, outputs, {}, 0, None)
    only_mlp = [run for run in runs if run["learner"] == "mlp"]
    metric = _metric(
        "cluster", "cluster", {"method": "kmeans", "k": 2}, "cluster", {"by": "error_consistency"}
    )
    result = evaluate(metric, only_mlp, outputs, {"by": named}, 0, None)
    assert np.allclose(result["matrix"], np.array(named["per_condition"][0]["matrix"])[:3, :3])
    assert result["k"] == 2 and len(result["assignment"]) == 3


def test_a_run_identity_round_trips_through_results(runs, outputs):
    accuracy = evaluate(_metric("accuracy", "run"), runs, outputs, {}, 0, None)
    fit = {
        "node": "ab12cd34",
        "name": "mlp seed=0",
        "learner": "mlp",
        "kind": "model",
        "dataset": "digits",
        "seed": 0,
        "fold": 0,
        "point": _point(0),
        "curves": {"loss": [1.0, float("nan")]},
        "parameters": 100,
        "epochs": 2,
        "seconds": 0.5,
    }
    results = Results.model_validate(
        {
            "experiment": {"name": "e", "description": "", "seed": 0, "device": "cpu", "tags": []},
            "report": {"path": "report.html", "title": "t"},
            "conditions": ["clean", "noisy"],
            "learners": [],
            "fits": [fit],
            "metrics": {"accuracy": accuracy},
        }
    )
    assert results.fits[0].curves["loss"] == [1.0, None]  # NaN is never kept
    again = Results.model_validate_json(results.model_dump_json())
    assert again == results
    row = again.metrics["accuracy"].per_run[0]
    assert (row.node, row.learner, row.kind, row.dataset, row.condition, row.seed, row.fold) == tuple(
        runs[0][k] for k in ("node", "learner", "kind", "dataset", "condition", "seed", "fold")
    )
    assert row.point.seed == 0 and isinstance(again.fits[0], Fit)
