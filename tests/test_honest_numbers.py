"""Numbers a researcher can cite: the right populations, real replicas, inference at the unit of
replication, undefined values named, and a verdict that answers the spec (issue 13).

Each test runs a small spec end to end and reads `results.json` and the report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from .conftest import run_cli

HEAD = """
experiment "honest" {
  seed = 0
}

dataset iris {
  source = sklearn.iris
}

modality x {
  from      = iris.features
  type      = vector
  transform = [standardize]
}
"""


def _run(tmp_path: Path, text: str, *options: str) -> tuple[dict, str]:
    spec = tmp_path / "spec.homog"
    spec.write_text(text, encoding="utf-8")
    cache, runs = str(tmp_path / ".homog"), str(tmp_path / "runs")
    result = run_cli("run", "--quiet", "--cache", cache, "--runs", runs, *options, str(spec), cwd=tmp_path)
    assert result.status == 0, result.stderr
    directory = Path(result.stdout.strip().splitlines()[-1])
    directory = directory if directory.is_absolute() else tmp_path / directory
    results = json.loads((directory / "results.json").read_text())
    return results, (directory / "report.html").read_text()


def _verdict(report: str) -> list[str]:
    start = report.index('id="summary"')
    body = report[start : report.index("</section>", start)]
    return [line.strip() for line in body.split("<li>")[1:]]


# --------------------------------------------------------------------------- 1. populations


def test_runs_on_different_examples_are_never_compared(tmp_path):
    """Two datasets: a model of each is tested on different examples, so no agreement between them."""
    text = (
        HEAD
        + """
dataset wine {
  source = sklearn.wine
}

modality w {
  from      = wine.features
  type      = vector
  transform = [standardize]
}

model on_iris { input = x, arch = sklearn.random_forest(trees = 10) }
model on_wine { input = w, arch = sklearn.random_forest(trees = 10) }

sweep {
  seed = 0..1
}

metrics {
  agreement
  error_consistency
}
"""
    )
    results, _ = _run(tmp_path, text)
    for label in ("agreement", "error_consistency"):
        entries = results["metrics"][label]["per_condition"]
        assert {e["dataset"] for e in entries} == {"iris", "wine"}
        for entry in entries:
            assert {run["dataset"] for run in entry["runs"]} == {entry["dataset"]}
            assert entry["between_learners"] == []  # one learner per dataset: nothing between
            (within,) = entry["within_learners"]
            assert within["learner"] == f"on_{entry['dataset']}" and within["runs"] == 2


# --------------------------------------------------------------------------- 2. distinct fits


DETERMINISTIC = (
    HEAD
    + """
model linear { input = x, arch = sklearn.logistic_regression }
model forest { input = x, arch = sklearn.random_forest(trees = 10) }

sweep {
  seed = 0..4
}

metrics {
  accuracy
  agreement
  systemic_failure
}
"""
)


def test_a_learner_that_ignores_the_seed_is_one_run_not_five_that_agree(tmp_path):
    results, report = _run(tmp_path, DETERMINISTIC)
    agreement = results["metrics"]["agreement"]
    assert agreement["deterministic"] == ["linear"]
    (entry,) = agreement["per_condition"]
    linear = [run for run in entry["runs"] if run["learner"] == "linear"]
    assert len(linear) == 1 and linear[0]["copies"] == 5  # one fit stands for five seeds
    within = {w["learner"]: w for w in entry["within_learners"]}
    assert within["linear"]["pairs"] == 0 and within["linear"]["mean"] is None
    assert within["linear"]["note"].startswith("deterministic")
    summary = {row["learner"]: row for row in results["metrics"]["accuracy"]["summary"]}
    assert summary["linear"]["n"] == 1 and summary["forest"]["n"] == 5
    verdict = " ".join(_verdict(report))
    assert "linear is deterministic: the seed has no effect" in verdict
    assert "runs of linear agree on 100.0%" not in verdict
    # The five copies do not enter H: the seed-to-seed population of linear does not exist.
    population = results["metrics"]["systemic_failure"]["per_condition"][0]
    assert [w["learner"] for w in population["within_learners"]] == ["forest"]
    assert all(point["runs"] == 2 for point in population["across_learners"])


def test_a_learner_that_ignores_the_width_is_one_run_per_seed(tmp_path):
    text = (
        HEAD
        + """
model mlp    { input = x, arch = mlp(hidden = [8]) }
model forest { input = x, arch = sklearn.random_forest(trees = 10) }

train {
  epochs = 2
}

sweep {
  seed  = 0..1
  width = [0.5, 1, 2]
}

metrics {
  accuracy
}
"""
    )
    results, _ = _run(tmp_path, text)
    summary = {row["learner"]: row for row in results["metrics"]["accuracy"]["summary"]}
    assert summary["forest"]["n"] == 2  # two seeds, not six "replicas"
    assert summary["mlp"]["n"] == 6


# --------------------------------------------------------------------------- 3. pseudo-replication


def test_repeated_runs_on_the_same_examples_are_not_independent_evidence(tmp_path):
    """Two deterministic learners over five seeds: the combined test is the one-run McNemar test."""
    text = (
        HEAD
        + """
model weak   { input = x, arch = sklearn.logistic_regression(c = 0.01) }
model strong { input = x, arch = sklearn.logistic_regression(c = 10) }

sweep {
  seed = 0..4
}

metrics {
  mcnemar(weak, strong)
}
"""
    )
    results, _ = _run(tmp_path, text)
    test = results["metrics"]["mcnemar(weak, strong)"]
    (single,) = test["tests"]  # five identical pairs of runs are one pair
    (combined,) = test["combined"]
    assert combined["p"] == pytest.approx(single["exact_p"], rel=1e-9)
    assert combined["discordant"] == single["b"] + single["c"]


def test_tests_across_folds_use_fold_level_scores(tmp_path):
    text = (
        HEAD.replace("source = sklearn.iris", "source = sklearn.iris\n  split  = kfold(k = 3)")
        + """
model linear { input = x, arch = sklearn.logistic_regression(c = 0.05) }
model forest { input = x, arch = sklearn.random_forest(trees = 10) }

sweep {
  seed = 0..2
}

metrics {
  accuracy
  ttest(linear, forest)
}
"""
    )
    results, _ = _run(tmp_path, text)
    (test,) = results["metrics"]["ttest(linear, forest)"]["tests"]
    assert test["unit"].startswith("folds")
    assert len(test["a_scores"]) == len(test["b_scores"]) == 3  # three folds, not 9 seed × fold runs
    summary = {row["learner"]: row for row in results["metrics"]["accuracy"]["summary"]}
    assert summary["forest"]["unit"] == "folds" and summary["forest"]["n"] == 3


# --------------------------------------------------------------------------- 4. intervals


def test_intervals_over_seeds_are_t_intervals_wider_than_the_range_at_three_seeds(tmp_path):
    text = (
        HEAD
        + """
model forest { input = x, arch = sklearn.random_forest(trees = 5) }

sweep {
  seed = 0..2
}

metrics {
  accuracy
}
"""
    )
    results, _ = _run(tmp_path, text)
    (row,) = results["metrics"]["accuracy"]["summary"]
    assert row["ci_method"] == "t" and row["n"] == 3
    if row["max"] > row["min"]:  # a percentile bootstrap over three seeds is exactly [min, max]
        assert row["ci95"][0] < row["min"] and row["ci95"][1] > row["max"]


# --------------------------------------------------------------------------- 5. homogenization


def test_h_is_computed_per_population_with_an_interval_never_pooled(tmp_path):
    results, report = _run(tmp_path, DETERMINISTIC)
    (entry,) = results["metrics"]["systemic_failure"]["per_condition"]
    assert len(entry["across_learners"]) == 5  # one population per seed: one run of each learner
    for point in entry["across_learners"]:
        assert point["learners"] == ["forest", "linear"]
        assert point["homogenization"] is None or point["ci95"] is not None or point["reason"]
    summary = entry["across_learners_summary"]
    assert summary["n"] + len(summary["undefined_at"]) == 5
    assert "fail together about as often as independent" not in report


# --------------------------------------------------------------------------- 6. conditions


def test_a_condition_that_shifts_nothing_a_learner_reads_is_a_warning_and_marked(tmp_path):
    text = (
        HEAD
        + """
modality y {
  from      = iris.features
  type      = vector
  transform = [minmax]
}

model reads_x { input = x, arch = sklearn.logistic_regression }
model reads_y { input = y, arch = sklearn.logistic_regression }

evaluate {
  condition noisy {
    x = gaussian_noise(std = 1.0)
  }
}

metrics {
  accuracy
}
"""
    )
    spec = tmp_path / "spec.homog"
    spec.write_text(text, encoding="utf-8")
    checked = run_cli("check", "--strict", str(spec), cwd=tmp_path)
    assert checked.status == 1, checked.stderr
    assert "reads_y" in checked.stderr and "noisy" in checked.stderr
    results, report = _run(tmp_path, text)
    rows = [r for r in results["metrics"]["accuracy"]["per_run"] if r["condition"] == "noisy"]
    assert {r["learner"]: r.get("shifted") for r in rows} == {"reads_x": True, "reads_y": False}
    assert "not shifted" in report


# --------------------------------------------------------------------------- 7. undefined


def test_a_constant_representation_is_undefined_not_perfectly_similar(tmp_path):
    text = (
        HEAD
        + """
model mlp { input = x, arch = mlp(hidden = [8]) }

train {
  epochs = 2
}

evaluate {
  condition dropped {
    x = drop
  }
}

sweep {
  seed = 0..2
}

metrics {
  cka
  cluster(by = cka)
}
"""
    )
    results, _ = _run(tmp_path, text)
    dropped = next(e for e in results["metrics"]["cka"]["per_condition"] if e["condition"] == "dropped")
    matrix = np.array([[np.nan if v is None else v for v in row] for row in dropped["matrix"]], dtype=float)
    off_diagonal = matrix[~np.eye(len(matrix), dtype=bool)]
    assert np.isnan(off_diagonal).all(), matrix
    assert any("constant" in note for note in dropped["undefined"]), dropped["undefined"]


# --------------------------------------------------------------------------- 8. the verdict


def test_the_verdict_leads_with_the_comparison_the_spec_declares(tmp_path):
    _, report = _run(tmp_path, DETERMINISTIC)
    verdict = _verdict(report)
    assert 1 <= len(verdict) <= 10
    assert verdict[0].startswith("forest and linear")  # between learners first
    assert "n = 5" in verdict[0] and "95% CI" in verdict[0]
