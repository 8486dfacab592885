"""Metrics built on other metrics: `cluster(by = cka)` clusters by the spec's own CKA matrix, and
`spread(accuracy)` by the spec's accuracies. The dependency is an edge of the graph (an input named
after the parameter), and the result says what it was built on."""

from __future__ import annotations

import json

import pytest

from homog.compiler import compile_text

from .conftest import run_cli

SPEC = """
experiment "metric-dependencies" {
  seed = 0
}

dataset iris {
  source = sklearn.iris
  split  = holdout(test = 0.3)
}

modality features {
  from      = iris.features
  type      = vector
  transform = [standardize]
}

model mlp {
  input = features
  arch  = mlp(hidden = [8])
}

model linear {
  input = features
  arch  = sklearn.logistic_regression(c = 1.0)
}

train {
  epochs     = 2
  batch_size = 64
}

sweep {
  seed = 0..1
}

metrics {
  accuracy
  spread(accuracy)
  cka(layer = logits)
  cluster(by = cka)
}
"""


def _metric_nodes(text: str) -> dict:
    compilation = compile_text(text, "spec.homog")
    assert compilation.ok, [str(d) for d in compilation.diagnostics]
    return {node.name: node for node in compilation.graph.nodes.values() if node.op == "metric"}


def test_cluster_and_spread_read_the_metrics_they_name():
    metrics = _metric_nodes(SPEC)
    assert {"accuracy", "spread(accuracy)", "cka(layer=logits)", "cluster(by=cka)"} <= set(metrics)

    cluster, cka = metrics["cluster(by=cka)"], metrics["cka(layer=logits)"]
    assert cluster.inputs["metric.by"] == cka.id
    assert cluster.params["metric"]["uses"] == {"by": "cka(layer=logits)"}

    spread, accuracy = metrics["spread(accuracy)"], metrics["accuracy"]
    assert spread.inputs["metric.metric"] == accuracy.id
    assert spread.params["metric"]["uses"] == {"metric": "accuracy"}

    # metrics that name none read none
    for name in ("accuracy", "cka(layer=logits)"):
        assert not [key for key in metrics[name].inputs if key.startswith("metric.")], name


def test_cluster_follows_the_cka_it_names():
    """Another CKA gives the cluster another input, so a change of the CKA recomputes the cluster."""
    other = SPEC.replace("cka(layer = logits)", "cka(layer = logits, kernel = rbf)")
    before, after = _metric_nodes(SPEC), _metric_nodes(other)
    assert after["cluster(by=cka)"].inputs["metric.by"] == after["cka(layer=logits, kernel=rbf)"].id
    assert before["cluster(by=cka)"].id != after["cluster(by=cka)"].id
    assert before["spread(accuracy)"].id == after["spread(accuracy)"].id


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "spec.homog"
    path.write_text(SPEC, encoding="utf-8")
    return path


def test_cluster_by_cka_checks_runs_and_says_what_it_is_built_on(spec, tmp_path):
    checked = run_cli("check", spec.name, cwd=tmp_path)
    assert checked.status == 0, checked.stderr

    ran = run_cli("run", "--smoke", "--quiet", "--cache", "cache", "--runs", "runs", spec.name, cwd=tmp_path)
    assert ran.status == 0, ran.stderr
    directory = tmp_path / ran.stdout.strip().splitlines()[-1]
    results = json.loads((directory / "results.json").read_text(encoding="utf-8"))["metrics"]

    cluster = results["cluster(by=cka)"]
    assert cluster["by"] == "cka(layer=logits)"
    # linear ignores the seed: its two seeds are one fit, clustered once
    runs = ["linear", "mlp seed=0", "mlp seed=1"]
    assert sorted(cluster["items"]) == runs
    assert sorted(cluster["leaves"]) == runs

    # the matrix clustered is the CKA's own, on the clean condition, in the cluster's order of runs
    (clean,) = [
        entry for entry in results["cka(layer=logits)"]["per_condition"] if entry["condition"] == "clean"
    ]
    cka_order = [run["run"] for run in clean["runs"]]
    assert sorted(cka_order) == runs
    clustered = cluster["matrix"]
    assert len(clustered) == len(runs) and all(len(row) == len(runs) for row in clustered)
    for i, a in enumerate(cluster["items"]):
        for j, b in enumerate(cluster["items"]):
            expected = clean["matrix"][cka_order.index(a)][cka_order.index(b)]
            assert clustered[i][j] == pytest.approx(expected, nan_ok=True), (a, b)

    spread = results["spread(accuracy)"]
    assert spread["metric"] == "spread"
    assert spread["of"] == "accuracy"
    accuracies = [run["value"] for run in results["accuracy"]["per_run"]]
    (overall,) = [entry for entry in spread["all_runs"] if entry["condition"] == "clean"]
    assert overall["min"] == pytest.approx(min(accuracies)) and overall["max"] == pytest.approx(
        max(accuracies)
    )
    assert "cluster(by=cka)" in (directory / "report.html").read_text(encoding="utf-8")
